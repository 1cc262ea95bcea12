import type { Dirent } from 'node:fs';
import { mkdir, readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { checkRelativePath, localComponent } from '@ferry/protocol';
import type { FsEntry, FsListing } from '../state/common.ts';
import { WindowActionError } from './errors.ts';

/** The most entries one listing holds; a larger folder is listed in part (`truncated`). */
export const MAX_LISTED_ENTRIES = 10_000;
/** Entries stat'ed at once. */
const STAT_BATCH = 64;

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** A folder that the file browser was asked about, made absolute; a relative one is refused. */
export function absoluteFolder(given: string): string {
  if (!path.isAbsolute(given)) {
    throw new WindowActionError(
      'ERR_BAD_REQUEST',
      'Ferry needs a full path here. Pick the folder again.',
      400,
    );
  }
  return path.resolve(given);
}

/**
 * Lists folder `dir` as the process sees it: folders first, then files, names in the user's
 * order. Dot-names are left out unless `hidden`. Links are shown as what they point to.
 */
export async function listFolder(
  dir: string,
  hidden: boolean,
): Promise<Omit<FsListing, 'home' | 'recent' | 'roots' | 'sep'>> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw folderError(error, dir);
  }
  const shown = dirents.filter((d) => hidden || !d.name.startsWith('.'));
  const truncated = shown.length > MAX_LISTED_ENTRIES;
  const kept = shown.slice(0, MAX_LISTED_ENTRIES);
  const entries: FsEntry[] = [];
  for (let i = 0; i < kept.length; i += STAT_BATCH) {
    const batch = kept.slice(i, i + STAT_BATCH);
    entries.push(...(await Promise.all(batch.map((d) => describe(dir, d)))));
  }
  entries.sort((a, b) => {
    if ((a.kind === 'dir') !== (b.kind === 'dir')) return a.kind === 'dir' ? -1 : 1;
    return collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });
  const parent = path.dirname(dir);
  return { path: dir, parent: parent === dir ? null : parent, entries, truncated };
}

async function describe(dir: string, dirent: Dirent): Promise<FsEntry> {
  try {
    const info = await stat(path.join(dir, dirent.name));
    const kind = info.isDirectory() ? 'dir' : info.isFile() ? 'file' : 'other';
    return kind === 'file'
      ? { name: dirent.name, kind, size: info.size, modified: info.mtimeMs }
      : { name: dirent.name, kind, modified: info.mtimeMs };
  } catch {
    // A link to nothing, or an entry that went away since the folder was read.
    return { name: dirent.name, kind: 'other' };
  }
}

/** The roots to start from: the drives that exist on Windows, `/` elsewhere. */
export async function listRoots(platform: NodeJS.Platform = process.platform): Promise<string[]> {
  if (platform !== 'win32') return ['/'];
  const letters = 'CDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
  const present = await Promise.all(
    letters.map((letter) =>
      stat(`${letter}:\\`).then(
        () => `${letter}:\\`,
        () => undefined,
      ),
    ),
  );
  return present.filter((root): root is string => root !== undefined);
}

/**
 * Creates the folder `name` inside `parent` and returns its path. The name is one component
 * that every system can store (protocol's naming rules, and no Windows device name or
 * character); an existing file or folder of that name is never touched.
 */
export async function makeFolder(
  parent: string,
  name: string,
  platform: NodeJS.Platform = process.platform,
): Promise<string> {
  const problem = folderNameProblem(name, platform);
  if (problem) throw new WindowActionError('ERR_BAD_NAME', `${problem} Type another name.`, 400);
  const target = path.join(parent, name);
  try {
    await mkdir(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new WindowActionError(
        'ERR_EXISTS',
        `There is already something called "${name}" here. Type another name.`,
        409,
      );
    }
    throw folderError(error, parent);
  }
  return target;
}

/** What is wrong with a new folder's name, in words, or undefined. */
export function folderNameProblem(
  name: string,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (name.trim() === '') return 'A folder needs a name.';
  if (name.includes('/') || name.includes('\\')) return 'A folder name cannot hold / or \\.';
  try {
    checkRelativePath(name);
  } catch {
    return 'This name cannot be used for a folder (".", "..", or an invisible or control character).';
  }
  if (platform === 'win32' && localComponent(name, platform) !== name) {
    return 'Windows cannot store this name (a reserved word such as CON, a trailing dot or space, or one of <>:"|?*).';
  }
  return undefined;
}

/** The bytes free for this user where `target` is, or null when the system cannot say. */
export async function freeSpace(target: string): Promise<number | null> {
  try {
    const info = await statfs(target);
    const free = Number(info.bavail) * Number(info.bsize);
    return Number.isSafeInteger(free) ? free : null;
  } catch {
    return null;
  }
}

/** Whether `target` is a folder the process can see. */
export async function isFolder(target: string): Promise<boolean> {
  try {
    return (await stat(target)).isDirectory();
  } catch {
    return false;
  }
}

function folderError(error: unknown, dir: string): WindowActionError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new WindowActionError(
      'ERR_FOLDER_UNREADABLE',
      `You cannot read this folder: ${dir}. Pick another one.`,
      403,
      { cause: error },
    );
  }
  if (code === 'ENOENT') {
    return new WindowActionError(
      'ERR_NOT_FOUND',
      `This folder is not there (any more): ${dir}. Pick another one.`,
      404,
      { cause: error },
    );
  }
  if (code === 'ENOTDIR') {
    return new WindowActionError(
      'ERR_NOT_FOLDER',
      `This is not a folder: ${dir}. Pick a folder.`,
      400,
      { cause: error },
    );
  }
  return new WindowActionError(
    'ERR_FS',
    `Ferry could not use this folder: ${dir} (${code ?? 'unknown error'}). Pick another one.`,
    500,
    { cause: error },
  );
}
