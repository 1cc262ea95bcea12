import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { formatBytes } from '@ferry/protocol';
import { ErrorCode, FerryError, type ValidatedEntry } from '@ferry/protocol';
import { resolveInside } from '@ferry/protocol/node';
import { DestinationError, UnsavablePathError } from './errors.ts';
import type { PartialStore } from './partials.ts';
import type { TopClaim } from './resume-state.ts';
import {
  GatedFile,
  gatedLink,
  gatedLstat,
  gatedLstatBig,
  gatedUnlink,
  SyncGate,
} from './sync-gate.ts';

const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
/**
 * `dir` joined with one name that has passed §6.1 (no separator, no `.` or `..`, not empty), to
 * a normalized folder path: what `path.join` gives, without normalizing again. Made once or
 * twice per file received.
 */
export function childPath(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

/** Alternative names tried for one taken name: `name (1)` to `name (999)`. */
export const MAX_RENAME_ATTEMPTS = 1000;
const WRITE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** Resolves the chosen folder once (a symlinked folder is fine), and checks it can be written. */
export async function openDestination(dir: string): Promise<string> {
  let real: string;
  try {
    real = await fs.realpath(dir);
  } catch (cause) {
    throw new DestinationError(ErrorCode.WRITE_FAILED, `the folder ${dir} does not exist`, {
      cause,
    });
  }
  const stats = await fs.stat(real);
  if (!stats.isDirectory())
    throw new DestinationError(ErrorCode.WRITE_FAILED, `${dir} is not a folder`);
  try {
    await fs.access(real, constants.W_OK);
  } catch (cause) {
    throw new DestinationError(ErrorCode.WRITE_FAILED, `the folder ${dir} is not writable`, {
      cause,
    });
  }
  return real;
}

/** Why a folder cannot be saved into, checked when it is chosen (U3); undefined when it can. */
export async function folderProblem(
  dir: string,
): Promise<'missing' | 'not-a-folder' | 'not-writable' | undefined> {
  const stats = await fs.stat(dir).catch((error: NodeJS.ErrnoException) => error);
  if (stats instanceof Error) return stats.code === 'ENOENT' ? 'missing' : 'not-writable';
  if (!stats.isDirectory()) return 'not-a-folder';
  const writable = await fs.access(dir, constants.W_OK | constants.X_OK).then(
    () => true,
    () => false,
  );
  return writable ? undefined : 'not-writable';
}

/** Refuses an offer that cannot fit: the free space must exceed what is about to be written. */
export async function checkFreeSpace(dir: string, bytes: number): Promise<void> {
  const stats = await fs.statfs(dir).catch(() => undefined);
  if (!stats) return; // Not knowable here; writing will still fail cleanly on ENOSPC.
  const free = Number(stats.bavail) * Number(stats.bsize);
  if (bytes > free) {
    throw new DestinationError(
      ErrorCode.NO_SPACE,
      `not enough free space: the files need ${formatBytes(bytes)}, the folder has ${formatBytes(free)}`,
    );
  }
}

/** `name (1).ext`, `name (2).ext`, ...: the n-th alternative for a name that is taken. */
export function alternativeName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf('.');
  const hasExtension = dot > 0 && dot < name.length - 1;
  return hasExtension ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}

/** Options of {@link Destination}. */
export interface DestinationOptions {
  /** Replaces the random temporary names, for tests. */
  readonly tempName?: () => string;
  /**
   * The partial folder files are written in (one-way transfers, PROTOCOL.md §13); without it,
   * each file is written under a temporary name beside its final one (chat).
   */
  readonly partials?: PartialStore | undefined;
  /**
   * Top-level folders that exist and are entered instead of getting `name (n)`: offered name →
   * the local name. Only for a folder a state record claims, or one holding every file offered
   * under it already (see inspectDestination).
   */
  readonly adopt?: ReadonlyMap<string, string> | undefined;
  /**
   * The adopted folders a state record claims (an earlier run of this transfer created them), by
   * offered name: entered only while they keep the recorded identity, and claimed again in the
   * new record. The other adopted folders are never claimed: each new offer is judged again.
   */
  readonly claims?: ReadonlyMap<string, TopClaim> | undefined;
  /**
   * How the calls made per file run: synchronously while the disk answers fast (the default),
   * else through libuv's thread pool (see SyncGate).
   */
  readonly gate?: SyncGate | undefined;
}

/** A temporary file opened for writing: a new one, or a partial file resumed. */
export type TempFile = GatedFile | fs.FileHandle;

/** A file's device and inode. */
interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
}

/** What is left after a failure in the middle of a transfer, to resume from. */
export interface KeptPartials {
  readonly dir: string;
  /** Partial files that hold bytes, and how many. */
  readonly files: number;
  readonly heldBytes: number;
}

/**
 * Writes one accepted offer below a destination folder. Every top-level item gets a name that
 * is free when claimed (`name (1).ext` otherwise) unless it is adopted; folders are created one
 * component at a time and only below folders this transfer created or adopted; files are
 * written under hidden names with O_EXCL|O_NOFOLLOW (in the transfer's partial folder, or
 * beside their final name) and reach their final name only through {@link finalize}.
 */
export class Destination {
  readonly root: string;
  /** The partial folder of this transfer, if files are written there. */
  readonly partials: PartialStore | undefined;
  /** Final path of each top-level name, once claimed. */
  #topLevel = new Map<string, string>();
  /** Folders this transfer created, with their identity, in creation order. */
  #createdDirs = new Map<string, Stats>();
  /** Folders that existed and were entered (adopted), with their identity. */
  #adoptedDirs = new Map<string, Stats>();
  #adopt: ReadonlyMap<string, string>;
  #claims: ReadonlyMap<string, TopClaim>;
  #temps = new Set<string>();
  /** A failed file's partial was kept to resume from (its source could not be read). */
  #retained = false;
  /** The identity (device, inode) of each temporary file, from the handle its bytes are written through. */
  #identities = new Map<string, FileIdentity>();
  #tempName: () => string;
  /** Whether someone else could replace a folder the files go through (see #guarded). */
  #shared: boolean | undefined;
  /** How the calls made per file run: synchronously while the disk answers fast. */
  readonly gate: SyncGate;

  constructor(root: string, options: DestinationOptions = {}) {
    this.root = root;
    this.gate = options.gate ?? new SyncGate();
    this.#tempName = options.tempName ?? randomTempName;
    this.partials = options.partials;
    this.#adopt = options.adopt ?? new Map();
    this.#claims = options.claims ?? new Map();
  }

  /**
   * Creates the folders of the accepted entries (empty ones included) and the folders that will
   * hold their files. An entry whose folder this file system refuses (a name or path too long,
   * a name it cannot store) is returned with the reason, and only it fails (K9); any other
   * error fails the whole transfer. Yields to the event loop as it goes (K5).
   */
  async createDirs(
    entries: readonly ValidatedEntry[],
  ): Promise<{ entry: ValidatedEntry; message: string }[]> {
    const failed: { entry: ValidatedEntry; message: string }[] = [];
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      try {
        await this.#ensureDir(
          entry.kind === 'dir' ? entry.components : entry.components.slice(0, -1),
        );
      } catch (error) {
        if (!(error instanceof UnsavablePathError)) throw error;
        failed.push({ entry, message: error.message });
      }
      if (index % 2_000 === 1_999) await yieldToLoop();
    }
    return failed;
  }

  /** Opens a new, empty temporary file for the entry: in the partial folder, or beside where it will be saved. */
  async openTemp(entry: ValidatedEntry): Promise<{ handle: GatedFile; tempPath: string }> {
    if (this.partials) {
      const { handle, path: tempPath } = await this.partials.openFresh(entry.path, this.gate);
      await this.#remember(tempPath, handle).catch(closing(handle));
      return { handle, tempPath };
    }
    const parent = await this.#ensureDir(entry.components.slice(0, -1));
    // Nobody can guess the next name (K10); a name that exists anyway (planted, or a link) is
    // never opened through: O_EXCL refuses it, and another random name is tried.
    for (let attempt = 1; ; attempt++) {
      const tempPath = path.join(parent, this.#tempName());
      try {
        const handle = await GatedFile.open(tempPath, WRITE_FLAGS, FILE_MODE, this.gate);
        this.#temps.add(tempPath);
        await this.#remember(tempPath, handle).catch(closing(handle));
        return { handle, tempPath };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= MAX_TEMP_ATTEMPTS)
          throw error;
      }
    }
  }

  /**
   * Opens the partial file the entry's first `offset` bytes are held in, to go on writing after
   * them; what follows `offset` is cut off. Rejects (WRITE_FAILED) when it is no longer there
   * whole, or cannot be trusted.
   */
  async openHeld(
    entry: ValidatedEntry,
    offset: number,
  ): Promise<{ handle: fs.FileHandle; tempPath: string }> {
    const opened = await this.partials?.openHeld(entry.path);
    if (!opened) throw new FerryError(ErrorCode.WRITE_FAILED, 'the partly received file is gone');
    try {
      const stats = await opened.handle.stat();
      if (stats.size < offset)
        throw new FerryError(ErrorCode.WRITE_FAILED, 'the partly received file shrank');
      if (stats.size > offset) await opened.handle.truncate(offset);
      this.#temps.add(opened.path);
      await this.#remember(opened.path, opened.handle);
    } catch (error) {
      // The caller never gets the file: it is closed here, not left to the garbage collector.
      await opened.handle.close().catch(() => {});
      throw error;
    }
    return { handle: opened.handle, tempPath: opened.path };
  }

  /**
   * Moves a verified temporary file to its final name without ever replacing an existing file:
   * a hard link claims the name atomically (EEXIST means taken: try the next alternative).
   * From the partial folder, where the final folder is another mount (EXDEV), the file is
   * first copied to a temporary name beside its final one.
   */
  async finalize(entry: ValidatedEntry, tempPath: string): Promise<string> {
    const parentComponents = entry.components.slice(0, -1);
    // Entered first: a folder entered now counts in the judgement of this very file.
    let parent = await this.#ensureDir(parentComponents);
    const guarded = await this.#guarded();
    if (guarded) parent = await this.#checkedParent(parentComponents);
    const name = entry.components.at(-1)!;
    // The bytes at `tempPath` must still be the ones written through our handle: in a folder
    // others can write, the partial folder could have been swapped for one holding their file.
    if (guarded && !(await this.#isOurs(tempPath))) {
      throw new DestinationError(
        ErrorCode.WRITE_FAILED,
        `the partly received file of ${name} was replaced by something else during the transfer`,
      );
    }
    let source = tempPath;
    for (let n = 0; n < MAX_RENAME_ATTEMPTS; n++) {
      // `parent` is where the folders really are: a taken top-level name became `name (1)`.
      const finalPath = childPath(parent, alternativeName(name, n));
      const claimed = await claim(
        this.gate,
        source,
        finalPath,
        source !== tempPath || !this.partials,
      );
      if (claimed === 'cross-device') {
        source = await this.#copyBeside(tempPath, parent);
        n--;
        continue;
      }
      if (claimed) {
        if (source !== tempPath) await fs.rm(tempPath, { force: true });
        this.#temps.delete(tempPath);
        this.#temps.delete(source);
        this.#identities.delete(tempPath);
        return finalPath;
      }
    }
    throw new FerryError(ErrorCode.WRITE_FAILED, `no free name for ${name}`);
  }

  /** Copies a partial file to a new temporary name in `parent` (O_EXCL: nothing there is written through). */
  async #copyBeside(tempPath: string, parent: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const beside = path.join(parent, this.#tempName());
      try {
        await fs.copyFile(tempPath, beside, constants.COPYFILE_EXCL);
        this.#temps.add(beside);
        return beside;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= MAX_TEMP_ATTEMPTS)
          throw error;
      }
    }
  }

  /**
   * The top-level folders this transfer created (in this run, or in an earlier one whose record
   * claims them), as the state record lists them. A folder that existed and was entered because
   * it held every offered file is not one: a rerun judges it again against its own offer.
   */
  async topClaims(): Promise<TopClaim[]> {
    const claims: TopClaim[] = [];
    for (const [offered, dir] of this.#topLevel) {
      if (!this.#createdDirs.has(dir) && !this.#claims.has(offered)) continue;
      const stats = await fs.lstat(dir, { bigint: true });
      claims.push({
        offered,
        local: path.basename(dir),
        dev: stats.dev.toString(),
        ino: stats.ino.toString(),
      });
    }
    return claims;
  }

  /** Deletes one temporary file of this transfer. */
  async discard(tempPath: string): Promise<void> {
    this.#temps.delete(tempPath);
    // A file put in its place by something else is not ours to delete.
    const ours = await this.#isOurs(tempPath);
    this.#identities.delete(tempPath);
    if (ours) await fs.rm(tempPath, { force: true });
  }

  /** Keeps the identity of the file open as `handle` at `tempPath`. */
  async #remember(tempPath: string, handle: TempFile): Promise<void> {
    const stats = await handle.stat({ bigint: true });
    this.#identities.set(tempPath, { dev: stats.dev, ino: stats.ino });
  }

  /**
   * True when `tempPath` is, by lstat, a regular file with one link and the identity of the
   * handle it was opened as (or is gone: nothing to mistake); false when something else is there.
   */
  async #isOurs(tempPath: string): Promise<boolean> {
    const identity = this.#identities.get(tempPath);
    if (!identity) return true;
    const now = await gatedLstatBig(this.gate, tempPath).catch(() => undefined);
    if (!now) return true;
    return now.isFile() && now.nlink === 1n && now.dev === identity.dev && now.ino === identity.ino;
  }

  /**
   * After a failure with nothing worth resuming: deletes every temporary file, every created
   * folder left empty, and the partial folder if this run made it.
   */
  async cleanup(): Promise<void> {
    await Promise.all([...this.#temps].map((temp) => fs.rm(temp, { force: true }).catch(() => {})));
    this.#temps.clear();
    if (this.partials?.created) await this.partials.remove().catch(() => {});
    else await this.partials?.release().catch(() => {});
    for (const dir of [...this.#createdDirs.keys()].reverse()) {
      await fs.rmdir(dir).catch(() => {});
    }
  }

  /**
   * After a failure in the middle of a transfer: the partial folder stays, with its record and
   * the partial files that hold bytes (empty ones go), and so do the folders made for it, so
   * that running the same command again resumes; its lock is given up. Undefined without a
   * partial folder, or when no partial file holds a byte: then the partial folder and its record
   * are removed here, and {@link cleanup} does the rest.
   */
  async keep(): Promise<KeptPartials | undefined> {
    if (!this.partials) return undefined;
    await this.partials.dropEmpty();
    const held = await this.partials.holding();
    if (held.files === 0) {
      // Nothing to resume from: the folder and its record go (a record left behind would claim
      // folders for a rerun); the caller cleans up the rest as after a failure before REQUEST.
      await this.partials.remove();
      return undefined;
    }
    // A rerun may take the folder now.
    await this.partials.release();
    return { dir: this.partials.dir, ...held };
  }

  /**
   * After a transfer that concluded every file: the partial folder goes, unless a file failed
   * with what arrived of it kept to resume from (its source could not be read): then it stays
   * as {@link keep} leaves it, and what it holds is returned.
   */
  async complete(): Promise<KeptPartials | undefined> {
    // The temporary files all got their final names.
    this.#temps.clear();
    if (this.#retained) return this.keep();
    await this.partials?.remove();
    return undefined;
  }

  /** Keeps the partial folder at {@link complete}: a failed file's partial stays in it to resume from. */
  retainPartials(): void {
    this.#retained = true;
  }

  /** Top-level folders are claimed with an exclusive mkdir; the ones below are all new. */
  async #ensureDir(components: readonly string[]): Promise<string> {
    if (components.length === 0) return this.root;
    const [top, ...rest] = components as [string, ...string[]];
    let current = this.#topLevel.get(top) ?? (await this.#claimTopDir(top));
    for (const component of rest) {
      const parent = current;
      current = childPath(current, component);
      if (this.#createdDirs.has(current) || this.#adoptedDirs.has(current)) continue;
      const made = await fs.mkdir(current, DIR_MODE).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          // Inside an adopted folder, a folder that exists is entered if it is a real one.
          if (error.code === 'EEXIST' && this.#adoptedDirs.has(parent)) return false;
          throw folderError(current, error);
        },
      );
      if (made) this.#note(this.#createdDirs, current, await fs.lstat(current));
      else this.#note(this.#adoptedDirs, current, await realDir(current));
    }
    return current;
  }

  async #claimTopDir(name: string): Promise<string> {
    const adopted = this.#adopt.get(name);
    if (adopted !== undefined) {
      const dir = resolveInside(this.root, [adopted]);
      const stats = await realDir(dir);
      const claim = this.#claims.get(name);
      // A claimed folder is entered only while it is still the one recorded, checked now.
      if (claim) {
        const now = await fs.lstat(dir, { bigint: true }).catch(() => undefined);
        if (
          !now?.isDirectory() ||
          now.dev.toString() !== claim.dev ||
          now.ino.toString() !== claim.ino
        )
          throw new DestinationError(
            ErrorCode.WRITE_FAILED,
            `the folder ${dir} was changed by something else since the interrupted transfer`,
          );
      }
      this.#note(this.#adoptedDirs, dir, stats);
      this.#topLevel.set(name, dir);
      return dir;
    }
    for (let n = 0; n < MAX_RENAME_ATTEMPTS; n++) {
      const candidate = resolveInside(this.root, [alternativeName(name, n)]);
      try {
        await fs.mkdir(candidate, DIR_MODE);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw folderError(candidate, error as NodeJS.ErrnoException);
      }
      this.#note(this.#createdDirs, candidate, await fs.lstat(candidate));
      this.#topLevel.set(name, candidate);
      return candidate;
    }
    throw new DestinationError(ErrorCode.WRITE_FAILED, `no free name for the folder ${name}`);
  }

  /** Records a folder made or entered, noting whether others can replace what is in it. */
  #note(dirs: Map<string, Stats>, dir: string, stats: Stats): void {
    dirs.set(dir, stats);
    // What this transfer puts in it is this user's; a folder entered may be another's.
    const me = process.geteuid?.();
    if (othersCanReplaceIn(stats, me ?? -1, me)) this.#shared = true;
  }

  /**
   * Whether each file's folders and temporary file are checked again before it is named (H4):
   * only when someone other than this user could have replaced one of them meanwhile, that is
   * when a folder they go through lets others rename or replace its entries: the chosen folder
   * or one above it, the partial folder, or a folder this transfer made or entered (see
   * {@link othersCanReplaceIn}). Known after the first call; a folder noted later that others
   * can write turns the checks on for every file after it. Always, unless the owners and modes
   * tell all who can write (see {@link modesTellWhoWrites}).
   */
  async #guarded(): Promise<boolean> {
    if (this.#shared === undefined) {
      const shared = await sharedPath(this.root, this.partials?.dir);
      // A folder noted meanwhile that lets others in keeps the checks on.
      this.#shared = this.#shared === true || shared;
    }
    return this.#shared;
  }

  /**
   * The folder a file is about to be named in, after proving that it and every folder above it
   * that this transfer created is still the very folder we made (same device and inode, not a
   * symlink): a folder swapped by someone else since then is refused, never written through.
   */
  async #checkedParent(components: readonly string[]): Promise<string> {
    const parent = await this.#ensureDir(components);
    for (let depth = 1; depth <= components.length; depth++) {
      const dir = await this.#ensureDir(components.slice(0, depth));
      const recorded = this.#createdDirs.get(dir) ?? this.#adoptedDirs.get(dir);
      const now = await gatedLstat(this.gate, dir).catch(() => undefined);
      const same =
        recorded && now?.isDirectory() && now.ino === recorded.ino && now.dev === recorded.dev;
      if (!same) {
        throw new DestinationError(
          ErrorCode.WRITE_FAILED,
          `the folder ${dir} was changed by something else during the transfer`,
        );
      }
    }
    return parent;
  }
}

/** Errors that concern one path only: the others can still be saved (K9). */
const PATH_ERRORS = new Set(['ENAMETOOLONG', 'EILSEQ', 'EINVAL']);

/** True when `error` is about the path itself, not the folder or the disk. */
export function isPathError(error: unknown): boolean {
  return (
    error instanceof UnsavablePathError ||
    PATH_ERRORS.has((error as NodeJS.ErrnoException)?.code ?? '')
  );
}

function folderError(folder: string, error: NodeJS.ErrnoException): Error {
  if (PATH_ERRORS.has(error.code ?? '')) {
    const why =
      error.code === 'ENAMETOOLONG'
        ? 'its name or path is too long for this file system'
        : 'this file system cannot store its name';
    return new UnsavablePathError(
      ErrorCode.WRITE_FAILED,
      `cannot create a folder: ${why} (${error.code})`,
      { cause: error },
    );
  }
  return new DestinationError(
    ErrorCode.WRITE_FAILED,
    `cannot create the folder ${folder} (${error.code})`,
    { cause: error },
  );
}

/** Random names tried for one temporary file before giving up: a collision is already 2^-128. */
const MAX_TEMP_ATTEMPTS = 8;

/**
 * A temporary name: hidden, 128 random bits from the system's CSPRNG in lowercase hex (so a
 * case-insensitive file system keeps them all), and always 44 bytes long.
 */
export function randomTempName(): string {
  return `.ferry-${randomBytes(16).toString('hex')}.part`;
}

/**
 * Whether someone other than this user (`me`, the effective user), or the administrator (who
 * can do anything anyway), can rename or replace an entry owned by `entryOwner` in the folder
 * `dir`: a folder owned by someone else (its owner can), or one its group or everyone can write
 * (on Linux an ACL granting write shows in the group bits), unless the sticky bit keeps them from
 * renaming entries owned by this user or the administrator. Always true where the system has
 * no owners (Windows: `me` undefined). A folder this transfer makes is 0755 minus the umask,
 * owned by this user: only someone else's folder, or one opened up, lets others in.
 */
export function othersCanReplaceIn(
  dir: { readonly uid: number; readonly mode: number },
  entryOwner: number,
  me: number | undefined,
): boolean {
  if (me === undefined) return true;
  if (dir.uid !== me && dir.uid !== 0) return true;
  if ((dir.mode & 0o022) === 0) return false;
  const sticky = (dir.mode & 0o1000) !== 0;
  return !(sticky && (entryOwner === me || entryOwner === 0));
}

/**
 * Whether someone other than this user could replace the chosen folder `root` (a real path),
 * a folder above it, the partial folder, or a folder made in `root` (owned by this user): true
 * when any folder from `/` down to `root` lets others replace the next one, or `root` lets
 * them replace this user's entries, or the partial folder lets them replace its files. True
 * when one of them cannot be read.
 */
async function sharedPath(root: string, partialDir: string | undefined): Promise<boolean> {
  const me = process.geteuid?.();
  if (me === undefined) return true;
  try {
    if (!modesTellWhoWrites(process.platform, (await fs.statfs(root)).type)) return true;
    if (partialDir !== undefined && othersCanReplaceIn(await fs.lstat(partialDir), me, me))
      return true;
    let dir = root;
    let stats = await fs.lstat(dir);
    if (othersCanReplaceIn(stats, me, me)) return true;
    for (let parent = path.dirname(dir); parent !== dir; parent = path.dirname(dir)) {
      const parentStats = await fs.lstat(parent);
      if (othersCanReplaceIn(parentStats, stats.uid, me)) return true;
      dir = parent;
      stats = parentStats;
    }
    return false;
  } catch {
    return true;
  }
}

/**
 * Local Linux file systems whose owners and modes say who can write a folder: ext2/3/4, XFS,
 * Btrfs, tmpfs, F2FS and ZFS (their `statfs` magic numbers). A POSIX ACL granting write there
 * shows in the group bits (as its mask).
 */
const MODE_TRUSTED_FILE_SYSTEMS = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0xf2f52010, 0x2fc12fc1,
]);

/**
 * Whether owners and modes tell who else can write a folder of a file system of `type` (its
 * `statfs` magic number) on `platform`. Only Linux, on the local file systems above: macOS and
 * the BSDs keep ACLs that the modes do not show, and network shares, FUSE and other mounts
 * may let others in whatever the modes say. Windows has no owners or modes to judge by.
 */
export function modesTellWhoWrites(platform: NodeJS.Platform, type: number): boolean {
  return platform === 'linux' && MODE_TRUSTED_FILE_SYSTEMS.has(type);
}

/** The identity of a folder that must be a real one (not a symlink); DestinationError otherwise. */
async function realDir(dir: string): Promise<Stats> {
  const stats = await fs.lstat(dir).catch(() => undefined);
  if (!stats?.isDirectory())
    throw new DestinationError(ErrorCode.WRITE_FAILED, `${dir} is not a real folder`);
  return stats;
}

/**
 * Claims `finalPath` for the file at `tempPath`; false when the name is taken. A file in the
 * partial folder (`sameFolder` false) that cannot be linked across mounts says `cross-device`.
 */
async function claim(
  gate: SyncGate,
  tempPath: string,
  finalPath: string,
  sameFolder = true,
): Promise<boolean | 'cross-device'> {
  try {
    await gatedLink(gate, tempPath, finalPath);
    await gatedUnlink(gate, tempPath);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EXDEV' && !sameFolder) return 'cross-device';
    if (
      code !== 'EPERM' &&
      code !== 'ENOTSUP' &&
      code !== 'EOPNOTSUPP' &&
      code !== 'ENOSYS' &&
      code !== 'EXDEV'
    )
      throw error;
  }
  // File systems without hard links (FAT, some network shares): check, then rename.
  const existing = await fs.lstat(finalPath).catch(() => undefined);
  if (existing) return false;
  await fs.rename(tempPath, finalPath);
  return true;
}

/** Closes a file opened for a caller that will never get it, then rethrows why. */
function closing(handle: GatedFile): (error: unknown) => Promise<never> {
  return async (error) => {
    await handle.close().catch(() => {});
    throw error;
  };
}
