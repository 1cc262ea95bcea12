import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import type fs from 'node:fs/promises';
import { finished } from 'node:stream/promises';

const WRITE_BUFFER_BYTES = 2 * 1024 * 1024;

/**
 * One file being received: bytes are hashed as they arrive and written through a buffered
 * stream (writes are batched with writev). `write` returns a promise only when the caller must
 * wait for the disk, so a fast link never queues more than the buffer in memory.
 */
export class FileSink {
  readonly expected: number;
  received = 0;
  #handle: fs.FileHandle;
  #stream: WriteStream;
  #hash: Hash = createHash('sha256');
  #error: Error | undefined;

  constructor(handle: fs.FileHandle, expected: number) {
    this.#handle = handle;
    this.expected = expected;
    // The numeric fd, not the FileHandle: a stream given a FileHandle holds a reference that
    // makes a later `handle.close()` wait forever when autoClose is off.
    this.#stream = createWriteStream('', { fd: handle.fd, highWaterMark: WRITE_BUFFER_BYTES, autoClose: false });
    this.#stream.on('error', (error) => {
      this.#error ??= error;
    });
  }

  /** Takes the next bytes; returns a promise only when the caller must wait for the disk. */
  write(bytes: Uint8Array, release?: () => void): Promise<void> | undefined {
    if (this.#error) throw this.#error;
    this.received += bytes.byteLength;
    this.#hash.update(bytes);
    // `release` runs once the bytes are in the file (or failed to get there): their memory is reused.
    if (this.#stream.write(bytes, release)) return undefined;
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.#stream.off('error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        this.#stream.off('drain', onDrain);
        reject(error);
      };
      this.#stream.once('drain', onDrain);
      this.#stream.once('error', onError);
    });
  }

  /** The SHA-256 of every byte written so far, in lowercase hex; call once, at the end. */
  digest(): string {
    return this.#hash.digest('hex');
  }

  /**
   * Flushes the file and closes it. With `sync`, the data is on the disk (fdatasync) before
   * this resolves, not only in the operating system's cache.
   */
  async finish(sync: boolean): Promise<void> {
    this.#stream.end();
    await finished(this.#stream);
    if (this.#error) throw this.#error;
    if (sync) await this.#handle.datasync();
    await this.#handle.close();
  }

  /** Closes the file after a failure, ignoring further errors. */
  async abort(): Promise<void> {
    // Never destroy() the stream: that closes the fd too, possibly after the FileHandle below
    // has closed it and the number went to the next file. The handle alone owns the fd.
    if (!this.#stream.writableEnded) this.#stream.end();
    await finished(this.#stream).catch(() => {});
    await this.#handle.close().catch(() => {});
  }
}
