import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, FerryError } from '@ferry/protocol';

/** Bytes read at once while hashing a held prefix. */
export const PREFIX_READ_BYTES = 1024 * 1024;

/** Wraps slow work so that a caller can keep its link alive meanwhile (Connection.whileBusy). */
export type Busy = <T>(work: Promise<T>) => Promise<T>;

/**
 * The SHA-256 of the first `length` bytes of an open file, read 1 MiB at a time. `hash` is left
 * open so it goes on with the bytes that follow (FILE_END's digest covers the whole file);
 * `digest` is the prefix's, in lowercase hex. A file shorter than `length` rejects (WRITE_FAILED).
 */
export function hashPrefix(
  handle: FileHandle,
  length: number,
  busy?: Busy,
): Promise<{ hash: Hash; digest: string }> {
  const work = (async () => {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(Math.min(PREFIX_READ_BYTES, Math.max(length, 1)));
    let position = 0;
    while (position < length) {
      const want = Math.min(buffer.length, length - position);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0)
        throw new FerryError(
          ErrorCode.WRITE_FAILED,
          `the file held ${position} bytes, not ${length}`,
        );
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    return { hash, digest: hash.copy().digest('hex') };
  })();
  return busy ? busy(work) : work;
}
