import type { BigIntStats } from 'node:fs';

/**
 * Which file an offered file was, and its state, to the nanosecond: the same file (device and
 * inode) with the same size, modification time and change time. A rewrite in place keeps the
 * size and may put the modification time back (`touch -d`, `utimes`), but the change time is
 * set by the system on every write or `utimes` and cannot be set back (K12).
 */
export interface FileStamp {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** The stamp of stats read with `{ bigint: true }`. */
export function stampOf(stats: BigIntStats): FileStamp {
  return {
    dev: stats.dev,
    ino: stats.ino,
    size: stats.size,
    mtimeNs: stats.mtimeNs,
    ctimeNs: stats.ctimeNs,
  };
}

/** Whether `stamp` is another file than `before` (replaced, not changed). */
export function isOtherFile(before: FileStamp, stamp: FileStamp): boolean {
  return stamp.dev !== before.dev || stamp.ino !== before.ino;
}

/** How the file changed between two stamps of the same file, or undefined if it did not. */
export function describeChange(before: FileStamp, now: FileStamp): string | undefined {
  if (now.size !== before.size) return 'its size changed';
  if (now.mtimeNs !== before.mtimeNs) return 'it was modified';
  // Written to with its modification time put back, or its links or permissions changed.
  if (now.ctimeNs !== before.ctimeNs) return 'it was changed';
  return undefined;
}
