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
