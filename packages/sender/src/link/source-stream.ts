import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ChunkReader, type FileSource, FreshBuffers, openSource } from '@ferry/engine';

/** Largest read from an offered file at once. */
const READ_BYTES = 256 * 1024;

/**
 * An offered file's bytes as a stream, read by the engine's {@link ChunkReader} into a new buffer
 * per chunk (the stream's reader keeps them). The file is opened when the stream is created,
 * with the engine's checks (no symlink swapped in, no other file in its place, no change since
 * the offer); a file that ends early, or that changed by the time its last byte is read, ends
 * the stream with SOURCE_CHANGED instead of its end, so a reader never takes mixed or short
 * content for the file (L5). Destroying the stream closes the file.
 */
export function sourceStream(source: FileSource): Readable {
  let handle: FileHandle | undefined;
  let reader: ChunkReader | undefined;
  return new Readable({
    highWaterMark: READ_BYTES,
    construct(callback) {
      openSource(source).then(
        (opened) => {
          handle = opened.handle;
          reader = new ChunkReader(
            opened.handle,
            new FreshBuffers(READ_BYTES),
            0,
            0,
            source.size,
            opened.stamp,
          );
          callback();
        },
        (error: Error) => callback(error),
      );
    },
    read() {
      reader?.next().then(
        (chunk) => {
          if (!this.destroyed) this.push(chunk ? chunk.bytes : null);
        },
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      const closing = (async () => {
        // A read still in flight must finish before the file closes.
        await reader?.close();
        await handle?.close();
      })();
      handle = undefined;
      reader = undefined;
      closing.then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}
