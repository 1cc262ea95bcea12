import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm, unlink } from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  checkRelativePath,
  collisionKey,
  escapeForDisplay,
  localComponent,
  numberedName,
  UnsafeOfferError,
} from '@ferry/protocol';
import { resolveInside } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import type { StagedFile } from '../state/upload.ts';
import { WindowActionError } from './errors.ts';
import { freeSpace } from './fs-api.ts';

/** A drop's id as the page makes it: a few random characters. */
const DROP_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Top-level names tried for one dropped item before giving up (`a.txt`, `a (2).txt`, ...). */
const MAX_NUMBERED = 10_000;

/** Options of {@link DropStaging}. */
export interface DropStagingOptions {
  readonly logger: Logger;
  /** The folder the staging folder is made in; the system's temporary folder otherwise. */
  readonly root?: string | undefined;
  /** The free bytes in a folder (tests only); the file system's answer otherwise. */
  readonly space?: ((folder: string) => Promise<number | null>) | undefined;
  readonly platform?: NodeJS.Platform;
}

/**
 * The files dropped on the window: the page sends each one's bytes, since a browser never tells
 * a page where a dropped file is, and they are written into a folder of Ferry's own (made on the
 * first drop, removed by {@link DropStaging.remove}). Each dropped item gets a top-level name of
 * its own there (`a.txt`, then `a (2).txt`), so two drops never meet; a file is written under a
 * temporary name and renamed once its declared length has arrived whole.
 */
export class DropStaging {
  readonly #log: Logger;
  readonly #root: string;
  readonly #space: (folder: string) => Promise<number | null>;
  readonly #platform: NodeJS.Platform;
  #folder: Promise<string> | undefined;
  /** Top-level names taken, by collision key (a case-insensitive disk must not merge two). */
  readonly #tops = new Set<string>();
  /** `drop id / dropped top-level name` → the staged top-level name. */
  readonly #items = new Map<string, string>();
  /** Staged relative paths written or being written, by collision key. */
  readonly #claimed = new Set<string>();
  /** Bytes promised to uploads in flight: the free space is shared between them. */
  #reserved = 0;
  #removed = false;

  constructor(options: DropStagingOptions) {
    this.#log = options.logger;
    this.#root = options.root ?? os.tmpdir();
    this.#space = options.space ?? freeSpace;
    this.#platform = options.platform ?? process.platform;
  }

  /**
   * Writes the body of `request` (exactly `length` bytes) as `relative` of drop `drop`. Throws
   * WindowActionError for a bad name (400), a path given twice (409), too little space (507)
   * or a body cut short (400); nothing is left under a final name then.
   */
  async receive(
    request: http.IncomingMessage,
    drop: string,
    relative: string,
    length: number,
  ): Promise<StagedFile> {
    if (this.#removed) throw new WindowActionError('ERR_STOPPED', 'Ferry is stopping.', 503);
    if (!DROP_ID.test(drop)) throw badRequest();
    const problem = uploadPathProblem(relative, this.#platform);
    if (problem) {
      throw new WindowActionError(
        'ERR_BAD_NAME',
        `This name cannot be offered: ${problem}. Rename it, then drop it again or pick it with Add files.`,
        400,
      );
    }
    const folder = await this.#stagingFolder();
    const [top, ...rest] = relative.split('/');
    const stagedTop = this.#stagedTop(drop, top!);
    const components = [stagedTop, ...rest];
    const key = components.map(collisionKey).join('/');
    if (this.#claimed.has(key)) {
      throw new WindowActionError(
        'ERR_EXISTS',
        `"${escapeForDisplay(relative)}" came twice in one drop. Drop it again on its own.`,
        409,
      );
    }
    const free = await this.#space(folder);
    if (free !== null && length > free - this.#reserved) throw noSpace();
    const final = resolveInside(folder, components);
    this.#claimed.add(key);
    this.#reserved += length;
    let written = false;
    try {
      await this.#write(request, final, length);
      written = true;
    } finally {
      this.#reserved -= length;
      if (!written) this.#claimed.delete(key);
    }
    return { item: path.join(folder, stagedTop), path: final, bytes: length };
  }

  /** Removes the staging folder and everything dropped (the app is stopping). */
  async remove(): Promise<void> {
    this.#removed = true;
    const folder = await this.#folder?.catch(() => undefined);
    if (folder === undefined) return;
    await rm(folder, { recursive: true, force: true, maxRetries: 3 }).catch((error: unknown) =>
      this.#log.warn({ err: error }, 'dropped files not removed'),
    );
  }

  #stagingFolder(): Promise<string> {
    // mkdtemp makes an owner-only folder (0700) with a name nobody could have guessed.
    this.#folder ??= mkdtemp(path.join(this.#root, 'ferry-drop-'));
    return this.#folder;
  }

  #stagedTop(drop: string, top: string): string {
    const slot = `${drop}/${top}`;
    const known = this.#items.get(slot);
    if (known !== undefined) return known;
    for (let n = 1; n <= MAX_NUMBERED; n++) {
      const candidate = n === 1 ? top : numberedName(top, n);
      const key = collisionKey(candidate);
      if (this.#tops.has(key)) continue;
      this.#tops.add(key);
      this.#items.set(slot, candidate);
      return candidate;
    }
    throw new WindowActionError(
      'ERR_EXISTS',
      'Too many items of this name were dropped. Rename it, or pick it with Add files.',
      409,
    );
  }

  /** Streams the body to a temporary name beside `final`, then renames it: all or nothing. */
  async #write(request: http.IncomingMessage, final: string, length: number): Promise<void> {
    const dir = path.dirname(final);
    // Stopping removes the folder: nothing may make it again.
    if (this.#removed) throw new WindowActionError('ERR_STOPPED', 'Ferry is stopping.', 503);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      // A dropped file where this drop has a folder, or the other way round.
      if (['EEXIST', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) {
        throw new WindowActionError(
          'ERR_EXISTS',
          'A file and a folder of one name came in one drop. Drop them apart.',
          409,
        );
      }
      throw error;
    }
    const temp = path.join(dir, `.ferry-drop-${randomBytes(8).toString('hex')}.part`);
    const handle = await open(temp, 'wx', 0o600);
    let received = 0;
    let failure: unknown;
    try {
      for await (const chunk of request as AsyncIterable<Buffer>) {
        received += chunk.length;
        // A write that failed (the disk is full) stops writing; the rest is read and dropped
        // so that the page gets the answer instead of a cut connection.
        if (failure !== undefined) continue;
        try {
          await handle.write(chunk);
        } catch (error) {
          failure = error;
        }
      }
    } catch (error) {
      failure ??= error;
    } finally {
      await handle.close().catch((error: unknown) => {
        failure ??= error;
      });
    }
    if (failure === undefined && received !== length) failure = cutShort();
    if (failure !== undefined) {
      await unlink(temp).catch(() => {});
      const code = (failure as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw noSpace();
      if (request.destroyed || code === 'ECONNRESET') throw cutShort();
      throw failure;
    }
    try {
      await rename(temp, final);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    this.#log.debug({ bytes: length }, 'dropped file staged');
  }
}

/**
 * What is wrong with a dropped file's relative path, or undefined: the rules for a name from a
 * peer (PROTOCOL.md §6.1: relative, `/`-separated, no `.`, `..`, empty, control or reordering
 * component, within the length and depth limits), and on Windows a name Windows cannot store
 * (a device name such as CON, a trailing dot or space, `<>:"|?*`), which would not be this file.
 */
export function uploadPathProblem(
  relative: string,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  let components: string[];
  try {
    components = checkRelativePath(relative);
  } catch (error) {
    if (error instanceof UnsafeOfferError) return error.message;
    throw error;
  }
  if (components.some((component) => localComponent(component, platform) !== component)) {
    return 'Windows cannot store it (a device name such as CON, a trailing dot or space, or one of <>:"|?*)';
  }
  return undefined;
}

function badRequest(): WindowActionError {
  return new WindowActionError(
    'ERR_BAD_REQUEST',
    'The request did not fit. Reload the page and try again.',
    400,
  );
}

function noSpace(): WindowActionError {
  return new WindowActionError(
    'ERR_NO_SPACE',
    'There is not enough free space to take this file. Free some space, or pick it with Add files: picked files are sent from where they are, with no copy.',
    507,
  );
}

function cutShort(): WindowActionError {
  return new WindowActionError(
    'ERR_CUT_SHORT',
    'The file did not arrive whole, and nothing of it was kept. Drop it again.',
    400,
  );
}
