import { createCipheriv, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const MiB = 1024 * 1024;

/** Writes `bytes` of random data fast: an AES-CTR keystream with a random key. */
export async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(MiB);
  async function* chunks() {
    for (let left = bytes; left > 0; left -= MiB)
      yield cipher.update(zeros.subarray(0, Math.min(MiB, left)));
  }
  await pipeline(chunks(), createWriteStream(file, { highWaterMark: MiB }));
}

/** Writes `count` random files of `size` bytes, 100 to a folder. */
export async function writeSmallFiles(dir: string, count: number, size: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const folder = path.join(dir, `d${String(Math.floor(i / 100)).padStart(3, '0')}`);
    if (i % 100 === 0) await fs.mkdir(folder, { recursive: true });
    await fs.writeFile(path.join(folder, `f${String(i).padStart(5, '0')}.bin`), randomBytes(size));
  }
}

let keptCopies = 0;

/**
 * A new, empty folder in `parent` for one copy of many files, never emptied for the next copy:
 * the benchmark's folder, deleted at its end, takes them all (a few hundred MB).
 *
 * A file created just after thousands were deleted is slow to create, whoever creates it. To
 * pick an inode for a new file, ext4 passes over those freed in the last minute (five, while
 * their table is not yet written back: `recently_deleted` in its allocator), reading each one.
 * Measured here: 2,000 files of 4 KiB created, written, linked and unlinked as Ferry's
 * receiver does took 10 µs a file to create when nothing had been deleted, and 70 to 175 µs
 * right after the previous 2,000 were (`perf`: most of the time in `recently_deleted`). Each
 * round deleted the previous round's copy, so each round measured that, and by how much
 * depended on where the freed inodes lay: `tar | nc` took 0.3 s for 10,000 files into a new
 * folder and 2 s or more after a deletion.
 */
export async function keptCopyDir(parent: string, name: string): Promise<string> {
  keptCopies++;
  const dir = path.join(parent, `${name}-${keptCopies}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Writes and deletes a scratch file of `bytes` in `dir`: the VM hands idle memory back to its
 * host, and the first big write after that is slow; this takes that cost out of the timing.
 * Memory freed here is handed back too, about two seconds after (virtio-balloon free page
 * reporting), so call this right before the timed transfer, never seconds ahead of it.
 */
export async function warmPageCache(dir: string, bytes: number): Promise<void> {
  const scratch = path.join(dir, '.scratch');
  const block = Buffer.alloc(MiB, 1);
  const handle = await fs.open(scratch, 'w');
  try {
    for (let left = bytes; left > 0; left -= MiB) await handle.write(block, 0, Math.min(MiB, left));
  } finally {
    await handle.close();
    await fs.rm(scratch, { force: true });
  }
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `q` quantile (0 < q <= 1) of a non-empty list, by the nearest-rank method. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}
