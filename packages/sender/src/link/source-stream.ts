import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { checkUnchanged, type FileSource, type FileStamp, openSource } from '@ferry/engine';
import { ErrorCode, IntegrityError } from '@ferry/protocol';

/** Largest read from an offered file at once. */
const READ_BYTES = 256 * 1024;

/**
 * Bytes `start … end−1` of an offered file as a stream. The file is opened when the stream is
 * created, with the engine's checks (no symlink swapped in, no other file in its place, no
 * change since the offer); a file that ends early, or that changed by the time its last byte is
 * read, ends the stream with SOURCE_CHANGED instead of its end, so a reader never takes mixed or
 * short content for the file (L5). Destroying the stream closes the file.
 */
export function sourceStream(source: FileSource, start = 0, end = source.size): Readable {
  if (
    !(
      Number.isSafeInteger(start) &&
      Number.isSafeInteger(end) &&
      0 <= start &&
      start <= end &&
      end <= source.size
    )
  ) {
    throw new RangeError(`bytes ${start}…${end} are not within a file of ${source.size} bytes`);
  }
  let handle: FileHandle | undefined;
  let stamp: FileStamp | undefined;
  let position = start;
  return new Readable({
    highWaterMark: READ_BYTES,
    construct(callback) {
      openSource(source).then(
        (opened) => {
          handle = opened.handle;
          stamp = opened.stamp;
          callback();
        },
        (error: Error) => callback(error),
      );
    },
    read() {
      void readNext(this);
    },
    destroy(error, callback) {
      const closing = handle?.close();
      handle = undefined;
      if (!closing) return callback(error);
      closing.then(
        () => callback(error),
        () => callback(error),
      );
    },
  });

  async function readNext(stream: Readable): Promise<void> {
    try {
      if (!handle || !stamp) return;
      if (position >= end) {
        // Nothing to read (an empty range): the file must still be as offered.
        await checkUnchanged(handle, stamp);
        stream.push(null);
        return;
      }
      const length = Math.min(READ_BYTES, end - position);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (stream.destroyed) return;
      if (bytesRead === 0)
        throw new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file shrank while it was read');
      position += bytesRead;
      const chunk = bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
      if (position < end) {
        stream.push(chunk);
        return;
      }
      // The last bytes go out only once the file is known unchanged: a reader that has every
      // byte takes the file as whole, so a change must cut it short (L5).
      await checkUnchanged(handle, stamp);
      if (stream.destroyed) return;
      stream.push(chunk);
      stream.push(null);
    } catch (error) {
      stream.destroy(error as Error);
    }
  }
}
