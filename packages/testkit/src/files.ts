import { createHash, randomFill } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.ts';

const fillRandom = promisify(randomFill);
const MiB = 1024 * 1024;

/** A new empty folder under the OS temp folder, deleted after the test (or file). */
export async function makeTempDir(label = 'tmp'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ferry-e2e-${label}-`));
  onCleanup(`temp folder ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `<label>.bin` of `bytes` random bytes, alone in a new temporary folder `dir`. */
export async function randomFileAlone(
  label: string,
  bytes: number,
): Promise<{ dir: string; file: string }> {
  const dir = await makeTempDir(label);
  const file = path.join(dir, `${label}.bin`);
  await writeRandomFile(file, bytes);
  return { dir, file };
}

/** Writes `size` random bytes to `file` (parents created) in 1 MiB blocks; returns the SHA-256. */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'wx');
  try {
    const block = Buffer.allocUnsafe(Math.min(MiB, Math.max(size, 1)));
    for (let written = 0; written < size; ) {
      const length = Math.min(block.byteLength, size - written);
      const chunk = block.subarray(0, length);
      await fillRandom(chunk);
      hash.update(chunk);
      await handle.write(chunk, 0, length);
      written += length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Writes `content` to `root/relative`, creating the folders on the way. */
export async function writeFileAt(
  root: string,
  relative: string,
  content: string | Uint8Array,
): Promise<string> {
  const file = path.join(root, ...relative.split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content, { flag: 'wx' });
  return file;
}

/** What a tree holds at one relative path. */
export type TreeEntry =
  | { readonly kind: 'dir' }
  | { readonly kind: 'file'; readonly size: number; readonly sha256: string }
  | { readonly kind: 'other' };

/**
 * Every file and folder below `root`, by `/`-separated relative path, with each file's size and
 * SHA-256 computed here (streamed with node:crypto), never taken from Ferry's output. Folders are
 * listed too, so an empty folder that is missing makes two trees differ.
 */
export async function hashTree(root: string): Promise<Record<string, TreeEntry>> {
  const tree: Record<string, TreeEntry> = {};
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const children = await fs.readdir(dir, { withFileTypes: true });
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      const relative = prefix ? `${prefix}/${child.name}` : child.name;
      const absolute = path.join(dir, child.name);
      if (child.isDirectory()) {
        tree[relative] = { kind: 'dir' };
        await walk(absolute, relative);
      } else if (child.isFile()) {
        tree[relative] = await hashFile(absolute);
      } else {
        tree[relative] = { kind: 'other' };
      }
    }
  };
  await walk(root, '');
  return tree;
}

/** Size and SHA-256 of one file, streamed. */
export async function hashFile(
  file: string,
): Promise<{ kind: 'file'; size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    createReadStream(file, { highWaterMark: MiB }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        size += chunk.byteLength;
        hash.update(chunk);
      }
    },
  );
  return { kind: 'file', size, sha256: hash.digest('hex') };
}

/** Every path below `root` (files, folders, hidden `.part` files included), sorted. */
export async function listTree(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true });
  return entries.map((entry) => entry.split(path.sep).join('/')).sort();
}

/**
 * Writes `count` files of random bytes under `root`, 100 to a folder (`d0/f000.bin`, ...), their
 * sizes from 0 to `maxSize` bytes picked by `random` (a seeded PRNG: the same sizes every run).
 * Returns their total size.
 */
export async function writeSmallFiles(
  root: string,
  count: number,
  maxSize: number,
  random: () => number,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < count; i++) {
    const folder = path.join(root, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) await fs.mkdir(folder, { recursive: true });
    const size = Math.floor(random() * (maxSize + 1));
    const content = Buffer.allocUnsafe(size);
    await fillRandom(content);
    await fs.writeFile(path.join(folder, `f${String(i).padStart(3, '0')}.bin`), content, {
      flag: 'wx',
    });
    total += size;
  }
  return total;
}

/** What Ferry's partial folders (`.ferry-partial-*`) at the top of `dir` hold, as found on disk. */
export interface PartialData {
  /** The partial folders' names. */
  readonly dirs: readonly string[];
  /** Partial files (`*.part`) in them, over all folders. */
  readonly files: number;
  /** Their lengths added up. */
  readonly bytes: number;
}

/** Lists the partial folders at the top of `dir` and adds up the partial files they hold. */
export async function partialData(dir: string): Promise<PartialData> {
  const dirs = (await fs.readdir(dir)).filter((name) => name.startsWith('.ferry-partial-')).sort();
  let files = 0;
  let bytes = 0;
  for (const name of dirs) {
    for (const entry of await fs.readdir(path.join(dir, name))) {
      if (!entry.endsWith('.part')) continue;
      files++;
      bytes += (await fs.lstat(path.join(dir, name, entry))).size;
    }
  }
  return { dirs, files, bytes };
}

/**
 * What a transfer cut after its REQUEST may leave in `dir` (PROTOCOL.md §13.8) is its partial
 * folders, holding only `state.json` and `*.part` regular files, and the folders it created.
 * A receiver that was killed (`killed`) could not give up its `lock`, which may stay too.
 * Returns everything else found: a file under a final name, or anything in a partial folder
 * that Ferry does not write. Empty when the cut left only what it may.
 */
export async function strayAfterCut(
  dir: string,
  { killed = false }: { killed?: boolean } = {},
): Promise<string[]> {
  const stray: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const relative = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep);
    const inPartial = relative[0]!.startsWith('.ferry-partial-');
    if (inPartial && relative.length === 1 && entry.isDirectory()) continue;
    if (inPartial) {
      const ours =
        relative.length === 2 &&
        entry.isFile() &&
        (entry.name === 'state.json' ||
          /^[0-9a-f]{32}\.part$/.test(entry.name) ||
          (killed && entry.name === 'lock'));
      if (!ours) stray.push(relative.join('/'));
    } else if (!entry.isDirectory()) stray.push(relative.join('/'));
  }
  return stray.sort();
}
