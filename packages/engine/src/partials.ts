import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, FerryError } from '@ferry/protocol';
import { childPath } from './destination.ts';
import { LOCK_FILE, lockedBy, releaseLock, takeLock } from './partial-lock.ts';
import {
  currentUid,
  type FoundState,
  isPartialDirName,
  isPartialFileName,
  type OwnerOptions,
  PARTIAL_DIR_PREFIX,
  partialDirProblem,
  partialName,
  randomPartialDirName,
  STATE_FILE,
} from './resume-state.ts';
import { GatedFile, SyncGate } from './sync-gate.ts';

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const CREATE_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;
/**
 * A partial file becomes the saved file itself (by link), so it is created with the mode saved
 * files get, less the umask (H8); nobody else reaches it meanwhile: its folder is 0700.
 */
const PARTIAL_MODE = 0o644;
const DIR_MODE = 0o700;
/** Names tried for a new partial folder or a spare partial file: a collision is already 2^-128. */
const MAX_ATTEMPTS = 8;

/** A partial file opened for writing. */
export interface OpenedPartial {
  readonly handle: FileHandle;
  readonly path: string;
}

/** A new partial file, opened for writing through a {@link SyncGate}. */
export interface OpenedFresh {
  readonly handle: GatedFile;
  readonly path: string;
}

/** Creates `file` exclusively (never through a link); undefined when the name is taken. */
async function createExclusive(file: string, gate: SyncGate): Promise<GatedFile | undefined> {
  try {
    return await GatedFile.open(file, CREATE_FLAGS, PARTIAL_MODE, gate);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
}

/**
 * The partial folder of one transfer, `<dest>/.ferry-partial-<32 hex>/` (0700): its record,
 * and one partial file per file entry, named by {@link partialName} so that a rerun finds it.
 */
export class PartialStore {
  readonly dir: string;
  /** True when this run made the folder (a failure before REQUEST removes it). */
  readonly created: boolean;
  readonly #owner: OwnerOptions;

  private constructor(dir: string, created: boolean, owner: OwnerOptions) {
    this.dir = dir;
    this.created = created;
    this.#owner = owner;
  }

  /**
   * Creates a new partial folder in `root`, exclusively (a name that exists is never entered),
   * locked by this process.
   */
  static async create(root: string, owner: OwnerOptions = {}): Promise<PartialStore> {
    for (let attempt = 1; ; attempt++) {
      const dir = path.join(root, randomPartialDirName());
      try {
        await fs.mkdir(dir, DIR_MODE);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= MAX_ATTEMPTS)
          throw error;
        continue;
      }
      try {
        // The mode asked for is masked by the umask; the folder must be ours alone whatever it is.
        await fs.chmod(dir, DIR_MODE);
        if (!(await takeLock(dir)))
          throw new Error('a new partial folder was locked by another process');
        return new PartialStore(dir, true, owner);
      } catch (error) {
        await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
        throw error;
      }
    }
  }

  /**
   * The partial folder of a record found by readResumeStates, without its lock: for reading
   * what it holds. A receiver that writes there takes it with {@link PartialStore.claim}.
   */
  static adopt(found: FoundState, owner: OwnerOptions = {}): PartialStore {
    return new PartialStore(found.dir, false, owner);
  }

  /**
   * Takes the partial folder of a record found by readResumeStates for this process: locks it,
   * taking over a stale lock. Undefined when a running receiver holds it (it is left to that one).
   */
  static async claim(
    found: FoundState,
    owner: OwnerOptions = {},
  ): Promise<PartialStore | undefined> {
    return (await takeLock(found.dir)) ? new PartialStore(found.dir, false, owner) : undefined;
  }

  /** Gives up this process's lock of the folder, leaving what it holds for a rerun. */
  async release(): Promise<void> {
    await releaseLock(this.dir);
  }

  /** Where the partial file of the entry saved at `localPath` is. */
  pathOf(localPath: string): string {
    return childPath(this.dir, partialName(localPath));
  }

  /**
   * How many bytes the partial of `localPath` holds, when it can be trusted: a regular file of
   * ours with one link, opened without following a link. Undefined when there is none or it
   * cannot be trusted (a symlink, a hard link, another user's).
   */
  async held(localPath: string): Promise<number | undefined> {
    const handle = await this.#openExisting(localPath, constants.O_RDONLY);
    if (!handle) return undefined;
    try {
      return (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  }

  /** Opens the trusted partial of `localPath` for reading and writing; undefined when there is none to trust. */
  async openHeld(localPath: string): Promise<OpenedPartial | undefined> {
    const handle = await this.#openExisting(localPath, constants.O_RDWR);
    return handle ? { handle, path: this.pathOf(localPath) } : undefined;
  }

  /**
   * Opens a new, empty partial for `localPath`. A trusted partial there is replaced; anything
   * else at that name (a symlink, a hard link, another user's file) is left alone and the file
   * is written under a spare random name in this folder instead. The calls go through `gate`.
   */
  async openFresh(localPath: string, gate: SyncGate = new SyncGate()): Promise<OpenedFresh> {
    const own = this.pathOf(localPath);
    // Most often nothing is there yet: the name is taken at once, with one call.
    const created = await createExclusive(own, gate);
    if (created) return { handle: created, path: own };
    const existing = await this.#openExisting(localPath, constants.O_RDONLY).catch(() => undefined);
    if (existing) {
      await existing.close();
      await fs.rm(own, { force: true });
      const replaced = await createExclusive(own, gate);
      if (replaced) return { handle: replaced, path: own };
    }
    for (let attempt = 1; ; attempt++) {
      const spare = path.join(this.dir, `${randomBytes(16).toString('hex')}.part`);
      const opened = await createExclusive(spare, gate);
      if (opened) return { handle: opened, path: spare };
      if (attempt >= MAX_ATTEMPTS)
        throw Object.assign(new Error(`no free name for a partial file in ${this.dir}`), {
          code: 'EEXIST',
        });
    }
  }

  /** Deletes the trusted partial of `localPath` if it cannot be resumed from: empty, or longer than the file's `size` (D1). */
  async dropUnusable(localPath: string, size: number): Promise<void> {
    const length = await this.held(localPath);
    if (length !== undefined && (length === 0 || length > size))
      await fs.rm(this.pathOf(localPath), { force: true });
  }

  /** The partial files held now (non-empty), and their bytes. */
  async holding(): Promise<{ files: number; heldBytes: number }> {
    let files = 0;
    let heldBytes = 0;
    for (const name of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!isPartialFileName(name)) continue;
      const stats = await fs.lstat(path.join(this.dir, name)).catch(() => undefined);
      if (!stats?.isFile() || stats.size === 0) continue;
      files++;
      heldBytes += stats.size;
    }
    return { files, heldBytes };
  }

  /** Deletes the empty partial files, which hold nothing worth resuming. */
  async dropEmpty(): Promise<void> {
    for (const name of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!isPartialFileName(name)) continue;
      const file = path.join(this.dir, name);
      const stats = await fs.lstat(file).catch(() => undefined);
      if (stats?.isFile() && stats.size === 0) await fs.rm(file, { force: true });
    }
  }

  /** Deletes the partial folder and everything in it. */
  async remove(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  /** Opens the partial of `localPath` if it can be trusted: regular, one link, ours. */
  async #openExisting(localPath: string, flags: number): Promise<FileHandle | undefined> {
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a symlink at this name is refused (ELOOP), never followed.
      handle = await fs.open(this.pathOf(localPath), flags | NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (
        code === 'ENOENT' ||
        code === 'ELOOP' ||
        code === 'EMLINK' ||
        code === 'EISDIR' ||
        code === 'EACCES' ||
        code === 'EPERM'
      )
        return undefined;
      throw new FerryError(ErrorCode.WRITE_FAILED, `cannot open a partial file (${code})`, {
        cause: error,
      });
    }
    const stats = await handle.stat();
    const uid = currentUid(this.#owner);
    if (!stats.isFile() || stats.nlink !== 1 || (uid !== undefined && stats.uid !== uid)) {
      await handle.close();
      return undefined;
    }
    return handle;
  }
}

/** Why a partial folder is left by `--clean`. */
export interface KeptPartialDir {
  readonly path: string;
  readonly reason: string;
  /** The id of the running process receiving into it, when that is why it is left (-1: a lock Ferry did not write). */
  readonly inUseBy?: number | undefined;
}

/**
 * `ferry-receive --clean`: removes every `.ferry-partial-*` folder at the top of `folder` that is
 * ours (owner, 0700, holding only `state.json`, `*.part`, its lock and temporary files of Ferry's,
 * all regular files) and not in use by a running receiver; the others are left, each with the
 * reason.
 */
export async function cleanPartials(
  folder: string,
  owner: OwnerOptions = {},
): Promise<{ removed: string[]; kept: KeptPartialDir[] }> {
  const removed: string[] = [];
  const kept: KeptPartialDir[] = [];
  const names = (await fs.readdir(folder))
    .filter((name) => name.startsWith(PARTIAL_DIR_PREFIX))
    .sort();
  for (const name of names) {
    const dir = path.join(folder, name);
    const reason = !isPartialDirName(name)
      ? 'its name is not one Ferry gives'
      : ((await partialDirProblem(dir, owner)) ?? (await contentProblem(dir)));
    if (reason) {
      kept.push({ path: dir, reason });
      continue;
    }
    const pid = await lockedBy(dir);
    if (pid !== undefined) {
      kept.push({
        path: dir,
        reason:
          pid > 0
            ? `a running ferry-receive (process ${pid}) is receiving into it`
            : 'its lock is not one Ferry writes',
        inUseBy: pid,
      });
      continue;
    }
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return { removed, kept };
}

/** The temporary files Ferry writes in a partial folder before renaming or linking them (record, lock). */
const TEMP_NAME = /^[0-9a-f]{32}\.tmp$/;

/** Why a partial folder holds something Ferry did not put there, or undefined. */
async function contentProblem(dir: string): Promise<string | undefined> {
  for (const name of await fs.readdir(dir)) {
    const stats = await fs.lstat(path.join(dir, name));
    if (!stats.isFile()) return `it holds ${name}, which is not a regular file`;
    if (
      name !== STATE_FILE &&
      name !== LOCK_FILE &&
      !isPartialFileName(name) &&
      !TEMP_NAME.test(name)
    )
      return `it holds ${name}, which Ferry does not write`;
  }
  return undefined;
}
