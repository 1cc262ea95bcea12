import fsSync, { type BigIntStats, constants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describeSystemError, UsageError } from '@ferry/protocol';
import {
  checkRelativePath,
  collisionKey,
  ErrorCode,
  escapeForDisplay,
  IntegrityError,
  type FerryError,
  LIMITS,
  type OfferEntry,
  validateOffer,
} from '@ferry/protocol';
import { describeChange, type FileStamp, isOtherFile, stampOf } from './stamp.ts';
import { gatedLstat, SyncGate } from './sync-gate.ts';

/** Where an offered file's bytes come from, and which file it was when offered. */
export interface FileSource {
  /** A path with no symlink as its last component (links are resolved when scanning). */
  readonly absolute: string;
  readonly size: number;
  /** The file as it was offered: any difference when it is sent means it changed (K12). */
  readonly stamp: FileStamp;
}

/** Something under an offered folder that is not offered, and why. */
export interface Skipped {
  readonly path: string;
  readonly reason: string;
}

/** What a sender offers: the wire entries, each file's source, and what was left out. */
export interface OfferSource {
  readonly entries: readonly OfferEntry[];
  readonly sources: ReadonlyMap<number, FileSource>;
  readonly skipped: readonly Skipped[];
  readonly fileCount: number;
  readonly totalBytes: number;
}

/**
 * Walks the offered files and folders. Folders are taken recursively with empty folders kept;
 * a symlink is offered only when it resolves to a regular file inside the same offered folder;
 * names that would not be valid on every platform are skipped with a reason, so the receiver
 * never has to refuse the offer for them.
 */
export async function scanOffer(paths: readonly string[]): Promise<OfferSource> {
  const scan = new Scan(new SyncGate());
  const roots = new Set<string>();
  for (const given of paths) {
    const absolute = path.resolve(given);
    const name = path.basename(absolute);
    if (name === '') throw new UsageError(`cannot offer a file system root: ${escapeForDisplay(given)}`);
    const key = collisionKey(name);
    if (roots.has(key)) throw new UsageError(`two offered items are both named "${escapeForDisplay(name)}"; rename one or offer their folder`);
    roots.add(key);
    let stats: Stats;
    try {
      stats = await fs.stat(absolute);
    } catch (cause) {
      throw new UsageError(`cannot read ${escapeForDisplay(given)}: ${describeSystemError(cause)}`);
    }
    try {
      checkRelativePath(name);
    } catch {
      // Only names no receiver may take (a control character or a backslash) stop the sender.
      throw new UsageError(`"${escapeForDisplay(name)}" cannot be sent: its name has a control character or a backslash; rename it first`);
    }
    // A link named on the command line is the user's choice: follow it, once, here.
    const real = await fs.realpath(absolute);
    if (stats.isFile()) {
      const source = await probeFile(real, scan.gate);
      if ('problem' in source) {
        const why = source.cause === undefined ? source.problem : describeSystemError(source.cause);
        throw new UsageError(`cannot read ${escapeForDisplay(given)}: ${why}`);
      }
      scan.addFile(name, source);
    } else if (stats.isDirectory()) {
      scan.addDir(name);
      await scan.walk(real, real, name, 1);
    } else {
      throw new UsageError(`${escapeForDisplay(given)} is neither a file nor a folder`);
    }
  }
  return scan.finish();
}

class Scan {
  entries: OfferEntry[] = [];
  sources = new Map<number, FileSource>();
  skipped: Skipped[] = [];
  #keys = new Set<string>();
  #total = 0;
  /** How the calls made per file run (see SyncGate). */
  readonly gate: SyncGate;

  constructor(gate: SyncGate) {
    this.gate = gate;
  }

  addFile(relative: string, source: FileSource): void {
    this.sources.set(this.entries.length, source);
    this.entries.push({ kind: 'file', path: relative, size: source.size });
    this.#keys.add(pathKey(relative.split('/')));
    this.#total += source.size;
  }

  addDir(relative: string): void {
    this.entries.push({ kind: 'dir', path: relative });
    this.#keys.add(pathKey(relative.split('/')));
  }

  async walk(dir: string, rootReal: string, relative: string, depth: number): Promise<void> {
    let names: string[];
    try {
      names = (await fs.readdir(dir)).sort();
    } catch (cause) {
      this.skipped.push({ path: relative, reason: `folder not readable: ${describeSystemError(cause)}` });
      return;
    }
    for (const name of names) {
      const childRelative = `${relative}/${name}`;
      const absolute = path.join(dir, name);
      const problem = this.#nameProblem(childRelative, depth + 1);
      if (problem) {
        this.skipped.push({ path: childRelative, reason: problem });
        continue;
      }
      if (this.entries.length >= LIMITS.maxEntries) {
        this.skipped.push({ path: childRelative, reason: `more than ${LIMITS.maxEntries} entries` });
        continue;
      }
      const stats = await gatedLstat(this.gate, absolute).catch(() => undefined);
      if (!stats) {
        this.skipped.push({ path: childRelative, reason: 'vanished while scanning' });
      } else if (stats.isDirectory()) {
        this.addDir(childRelative);
        await this.walk(absolute, rootReal, childRelative, depth + 1);
      } else if (stats.isFile()) {
        this.#addProbed(childRelative, await probeFile(absolute, this.gate));
      } else if (stats.isSymbolicLink()) {
        await this.#addLink(absolute, rootReal, childRelative);
      } else {
        this.skipped.push({ path: childRelative, reason: 'not a regular file' });
      }
    }
  }

  async #addLink(absolute: string, rootReal: string, relative: string): Promise<void> {
    const target = await fs.realpath(absolute).catch(() => undefined);
    const inside = target !== undefined && isInside(rootReal, target);
    const stats = inside ? await fs.stat(target).catch(() => undefined) : undefined;
    if (!target) this.skipped.push({ path: relative, reason: 'broken symlink' });
    else if (!inside) this.skipped.push({ path: relative, reason: 'symlink leads outside the offered folder' });
    else if (!stats?.isFile()) this.skipped.push({ path: relative, reason: 'symlink to a folder is not followed' });
    else this.#addProbed(relative, await probeFile(target, this.gate));
  }

  #addProbed(relative: string, probed: FileSource | Unreadable): void {
    if ('problem' in probed) this.skipped.push({ path: relative, reason: probed.problem });
    else this.addFile(relative, probed);
  }

  #nameProblem(relative: string, depth: number): string | undefined {
    if (depth > LIMITS.maxDepth) return `deeper than ${LIMITS.maxDepth} levels`;
    let components: string[];
    try {
      components = checkRelativePath(relative);
    } catch (error) {
      return `name cannot be sent: ${(error as Error).message}`;
    }
    if (this.#keys.has(pathKey(components))) {
      return 'another name differs only in case or Unicode form; a receiver could not keep both';
    }
    return undefined;
  }

  finish(): OfferSource {
    try {
      // The same check a receiver runs, so a sender never offers what a receiver must refuse.
      validateOffer(this.entries);
    } catch (error) {
      throw new UsageError(`cannot offer these files: ${(error as FerryError).message}`);
    }
    const fileCount = this.sources.size;
    return { entries: this.entries, sources: this.sources, skipped: this.skipped, fileCount, totalBytes: this.#total };
  }
}

/** A path's collision key as a receiver checks it: its components' keys joined by `/` (PROTOCOL.md §6.2). */
function pathKey(components: readonly string[]): string {
  return components.map(collisionKey).join('/');
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative);
}

/** Why a file found while scanning is not offered: the reason listed, and the system error. */
interface Unreadable {
  readonly problem: string;
  readonly cause?: unknown;
}

/** Flags for opening an offered file: never through a symlink, never waiting on a FIFO. */
export const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Opens a file found while scanning for reading, takes its stamp, and closes it: a file that
 * cannot be read is skipped now, with its reason, instead of being offered and failing at the
 * end (U10). The calls go through `gate`.
 */
function probeFile(absolute: string, gate: SyncGate): Promise<FileSource | Unreadable> {
  return gate.run(
    () => probeFileNow(absolute),
    () => probeFileInPool(absolute),
  );
}

async function probeFileInPool(absolute: string): Promise<FileSource | Unreadable> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(absolute, OPEN_FLAGS);
  } catch (cause) {
    return { problem: unreadable(cause), cause };
  }
  try {
    return probed(absolute, await handle.stat({ bigint: true }));
  } catch (cause) {
    return { problem: unreadable(cause), cause };
  } finally {
    await handle.close();
  }
}

function probeFileNow(absolute: string): FileSource | Unreadable {
  let fd: number;
  try {
    fd = fsSync.openSync(absolute, OPEN_FLAGS);
  } catch (cause) {
    return { problem: unreadable(cause), cause };
  }
  try {
    return probed(absolute, fsSync.fstatSync(fd, { bigint: true }));
  } catch (cause) {
    return { problem: unreadable(cause), cause };
  } finally {
    fsSync.closeSync(fd);
  }
}

function probed(absolute: string, stats: BigIntStats): FileSource | Unreadable {
  // Swapped for something else since it was listed.
  if (!stats.isFile()) return { problem: 'not a regular file' };
  return { absolute, size: Number(stats.size), stamp: stampOf(stats) };
}

function unreadable(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'vanished while scanning';
  if (code === 'ELOOP') return 'became a symlink while scanning';
  return `file not readable: ${describeSystemError(cause)}`;
}

/**
 * Opens an offered file for reading, refusing a symlink swapped in since the scan (O_NOFOLLOW)
 * and any other file put in its place, even through a swapped parent folder (dev/inode), and
 * any change since the offer (size, mtime, ctime). Returns the open file and its stamp.
 */
export async function openSource(source: FileSource): Promise<{ handle: fs.FileHandle; stamp: FileStamp }> {
  const handle = await fs.open(source.absolute, OPEN_FLAGS);
  let stamp: FileStamp;
  try {
    stamp = stampOf(await handle.stat({ bigint: true }));
  } catch (error) {
    await handle.close();
    throw error;
  }
  const change = changeSinceOffer(source, stamp);
  if (change) {
    await handle.close();
    throw change;
  }
  return { handle, stamp };
}

/** Any change of an opened source since the offer, even at the same size with its mtime put back (§5.2, K12). */
export function changeSinceOffer(source: FileSource, stamp: FileStamp): IntegrityError | undefined {
  const change = isOtherFile(source.stamp, stamp) ? 'it was replaced' : describeChange(source.stamp, stamp);
  return change ? new IntegrityError(ErrorCode.SOURCE_CHANGED, `the file changed since it was offered: ${change}`) : undefined;
}
