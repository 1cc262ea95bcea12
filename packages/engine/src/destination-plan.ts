import fs from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ValidatedEntry } from '@ferry/protocol';
import { alternativeName, MAX_RENAME_ATTEMPTS, randomTempName } from './destination.ts';

/** Disk one folder is counted for in the free-space check: one 4 KiB block, as on ext4, APFS, NTFS. */
export const FOLDER_DISK_BYTES = 4096;
/** Files are counted rounded up to whole blocks of this size. */
const BLOCK_BYTES = 4096;
/** Entries looked at between two turns of the event loop, so PINGs and timers keep running (K5). */
const YIELD_EVERY = 2_000;
/** Bytes of every temporary name (see randomTempName). */
const TEMP_NAME_BYTES = Buffer.byteLength(randomTempName());

/** What the destination's file system allows; measured in `units`. */
export interface PathLimits {
  /** The longest absolute path the system calls take (PATH_MAX less its NUL). */
  readonly maxPath: number;
  /** The longest name of one file or folder (NAME_MAX). */
  readonly maxName: number;
  /** The largest file the file system can hold, when it has a limit below Ferry's own. */
  readonly maxFileBytes: number | undefined;
  /** How lengths are counted: UTF-8 bytes, or UTF-16 code units (Windows, FAT). */
  readonly units: 'utf8' | 'utf16';
  /** The file system, when known and worth naming (`vfat`, `ecryptfs`). */
  readonly fsName: string | undefined;
}

/** Linux `statfs` magic numbers of file systems whose limits differ from the usual 255/4096. */
const LINUX_FILE_SYSTEMS = new Map<number, Partial<PathLimits>>([
  [0x4d44, { fsName: 'vfat', maxFileBytes: 2 ** 32 - 1, units: 'utf16' }],
  [0x2011bab0, { fsName: 'exfat', units: 'utf16' }],
  [0xf15f, { fsName: 'ecryptfs', maxName: 143 }],
]);

/** The limits of the file system holding `dir`, from the platform and, on Linux, its type. */
export async function pathLimits(
  dir: string,
  platform: NodeJS.Platform = process.platform,
): Promise<PathLimits> {
  if (platform === 'win32') {
    // Node gives the system \\?\ paths, so the 260-character MAX_PATH does not apply.
    return {
      maxPath: 32_000,
      maxName: 255,
      maxFileBytes: undefined,
      units: 'utf16',
      fsName: undefined,
    };
  }
  const base: PathLimits = {
    maxPath: platform === 'darwin' ? 1023 : 4095,
    maxName: 255,
    maxFileBytes: undefined,
    units: 'utf8',
    fsName: undefined,
  };
  if (platform !== 'linux') return base;
  const stats = await fs.statfs(dir).catch(() => undefined);
  return { ...base, ...(stats ? LINUX_FILE_SYSTEMS.get(Number(stats.type)) : undefined) };
}

/** The length of `text` as the file system counts it. */
function measure(text: string, limits: PathLimits): number {
  return limits.units === 'utf8' ? Buffer.byteLength(text) : text.length;
}

/**
 * Counts the folders saving `entries` creates: `dir` entries and every folder a path implies,
 * each once. Linear in the total length of the paths; stops counting past `max`, so memory
 * stays bounded by `max` short keys.
 */
export async function countFolders(
  entries: readonly ValidatedEntry[],
  max = Number.POSITIVE_INFINITY,
): Promise<number> {
  // A folder is its parent's number and its own name: keys never grow with the depth.
  const ids = new Map<string, number>();
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const folders = entry.kind === 'dir' ? entry.components.length : entry.components.length - 1;
    let parent = 0;
    for (let depth = 0; depth < folders; depth++) {
      const key = `${parent}/${entry.components[depth]}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = ids.size + 1;
        ids.set(key, id);
        if (ids.size > max) return ids.size;
      }
      parent = id;
    }
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  return ids.size;
}

/** A name that gets another name where it is saved. */
export interface RenamedItem {
  readonly offered: string;
  readonly savedAs: string;
}

/** An entry that cannot be saved in this folder, and why (Ferry's words, no local path). */
export interface UnsavableEntry {
  readonly offered: string;
  readonly kind: 'file' | 'dir';
  readonly reason: 'path-too-long' | 'name-too-long' | 'too-large' | 'no-free-name';
  readonly message: string;
}

/** What saving the chosen entries into a folder would do, found before anything is accepted. */
export interface DestinationPlan {
  /** The folder's real path. */
  readonly root: string;
  readonly limits: PathLimits;
  /** Top-level names that exist already, and the `name (n)` each will get. */
  readonly renamed: readonly RenamedItem[];
  /** Entries that cannot be saved here; only they fail, the others are saved. */
  readonly unsavable: readonly UnsavableEntry[];
  /** Folders that will be created. */
  readonly folders: number;
  /** Disk the saved files and folders take, estimated (files in whole 4 KiB blocks, folders 4 KiB each). */
  readonly neededBytes: number;
  /** Free space for this user, when the system says. */
  readonly freeBytes: number | undefined;
  /** Files and folders the file system can still create, when it says. */
  readonly freeInodes: number | undefined;
}

/** Options of {@link planDestination}. */
export interface PlanOptions {
  /** The file system's limits; found from `root` by default. */
  readonly limits?: PathLimits | undefined;
  /** Top-level names entered as they are (adopted), and the local name of each: never renamed. */
  readonly adopted?: ReadonlyMap<string, string> | undefined;
}

/**
 * Looks at where each of `entries` would be saved under `root` (a real, existing folder):
 * the `name (n)` of each top-level name that is taken, the paths and names the file system
 * cannot hold, files too large for it, the folders to create and the disk all of it takes.
 * Nothing is created. Yields to the event loop as it goes.
 */
export async function planDestination(
  root: string,
  entries: readonly ValidatedEntry[],
  options: PlanOptions = {},
): Promise<DestinationPlan> {
  const limits = options.limits ?? (await pathLimits(root));
  const tops = new Map<string, string | undefined>();
  const renamed: RenamedItem[] = [];
  const unsavable: UnsavableEntry[] = [];
  let neededBytes = 0;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const [top, ...rest] = entry.components as [string, ...string[]];
    if (!tops.has(top)) {
      const free = options.adopted?.get(top) ?? (await freeName(root, top));
      tops.set(top, free);
      const isFolder = rest.length > 0 || entry.kind === 'dir';
      if (free !== undefined && free !== top)
        renamed.push({
          offered: isFolder ? `${top}/` : top,
          savedAs: isFolder ? `${free}/` : free,
        });
    }
    const problem = checkEntry(root, entry, tops.get(top), rest, limits);
    if (problem) unsavable.push(problem);
    else if (entry.kind === 'file')
      neededBytes += Math.ceil(entry.size / BLOCK_BYTES) * BLOCK_BYTES;
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  // Folders already there in a top-level folder that is entered are not created again.
  const folders =
    (await countFolders(entries)) - (await existingFolders(root, entries, options.adopted));
  neededBytes += folders * FOLDER_DISK_BYTES;
  const stats = await fs.statfs(root).catch(() => undefined);
  return {
    root,
    limits,
    renamed,
    unsavable,
    folders,
    neededBytes,
    freeBytes: stats ? Number(stats.bavail) * Number(stats.bsize) : undefined,
    // Some file systems (btrfs) report no inode counts at all: then there is no such limit to see.
    freeInodes: stats && Number(stats.files) > 0 ? Number(stats.ffree) : undefined,
  };
}

/**
 * How many of the folders of `entries` under an `adopted` top-level name (entered as it is)
 * exist already, as real folders below `root`.
 */
async function existingFolders(
  root: string,
  entries: readonly ValidatedEntry[],
  adopted: ReadonlyMap<string, string> | undefined,
): Promise<number> {
  if (!adopted || adopted.size === 0) return 0;
  const seen = new Set<string>();
  let existing = 0;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const [top, ...rest] = entry.components as [string, ...string[]];
    const local = adopted.get(top);
    if (local === undefined) continue;
    const depth = entry.kind === 'dir' ? rest.length : rest.length - 1;
    let folder = path.join(root, local);
    for (let level = 0; level <= depth; level++) {
      if (level > 0) folder = path.join(folder, rest[level - 1]!);
      if (seen.has(folder)) continue;
      seen.add(folder);
      const stats = await fs.lstat(folder).catch(() => undefined);
      if (stats?.isDirectory()) existing++;
    }
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  return existing;
}

/** Why `entry`, saved with its top-level name as `top`, cannot be saved; undefined when it can. */
function checkEntry(
  root: string,
  entry: ValidatedEntry,
  top: string | undefined,
  rest: readonly string[],
  limits: PathLimits,
): UnsavableEntry | undefined {
  const offered = entry.path;
  const kind = entry.kind;
  if (top === undefined)
    return {
      offered,
      kind,
      reason: 'no-free-name',
      message: `every name from "${entry.components[0]}" to "(${MAX_RENAME_ATTEMPTS - 1})" is taken`,
    };
  for (const name of [top, ...rest]) {
    const length = measure(name, limits);
    if (length > limits.maxName) {
      return {
        offered,
        kind,
        reason: 'name-too-long',
        message: `a name of ${length} ${unit(limits)} is longer than this file system allows (${limits.maxName})`,
      };
    }
  }
  const full = path.join(root, top, ...rest);
  // A file is first written under a temporary name in the same folder.
  const longest =
    kind === 'file'
      ? Math.max(measure(full, limits), measure(path.dirname(full), limits) + 1 + TEMP_NAME_BYTES)
      : measure(full, limits);
  if (longest > limits.maxPath) {
    return {
      offered,
      kind,
      reason: 'path-too-long',
      message: `the path would be ${longest} ${unit(limits)} long in this folder; the system allows ${limits.maxPath}`,
    };
  }
  if (kind === 'file' && limits.maxFileBytes !== undefined && entry.size > limits.maxFileBytes) {
    return {
      offered,
      kind,
      reason: 'too-large',
      message: `the file is larger than ${limits.fsName ?? 'this file system'} can hold`,
    };
  }
  return undefined;
}

function unit(limits: PathLimits): string {
  return limits.units === 'utf8' ? 'bytes' : 'characters';
}

/** The first of `name`, `name (1)`, ... that nothing in `root` has (as claiming will try them). */
async function freeName(root: string, name: string): Promise<string | undefined> {
  for (let n = 0; n < MAX_RENAME_ATTEMPTS; n++) {
    const candidate = alternativeName(name, n);
    // A name too long to look up is free as far as taking it goes: checkEntry says why it fails.
    const taken = await fs.lstat(path.join(root, candidate)).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code !== 'ENOENT' && error.code !== 'ENAMETOOLONG',
    );
    if (!taken) return candidate;
  }
  return undefined;
}
