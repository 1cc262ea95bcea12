import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import type { SyncGate } from './sync-gate.ts';

/** Bytes queued for the disk at which `write` asks the caller to wait. */
const HIGH_WATER_BYTES = 2 * 1024 * 1024;

/**
 * The most one write call takes. Larger writes cost more kernel time per byte, not less, where
 * the page cache is made of large folios: in a VM that hands free memory back to its host,
 * measured per GiB, 1 MiB writes took 1.3-1.9 s of system time and 256 KiB writes 0.3 s.
 * Below 256 KiB the calls themselves start to cost (64 KiB: 0.4 s).
 */
export const MAX_WRITE_BYTES = 256 * 1024;

/** The most pieces one writev takes (far below any system's IOV_MAX). */
const MAX_PIECES = 64;

/**
 * Files up to this size are written synchronously while the gate is open (see SyncGate): a
 * write handed to the thread pool costs more than the copy into the page cache.
 */
export const SYNC_WRITE_FILE_BYTES = 64 * 1024;

/** What a sink needs of an open file: its descriptor, and these calls. */
export interface SinkFile {
  readonly fd: number;
  truncate(length?: number): Promise<void>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

interface Piece {
  bytes: Uint8Array;
  readonly release: (() => void) | undefined;
}

/** Options of {@link FileSink}. */
export interface FileSinkOptions {
  /** Hears how many bytes left memory: written to the file, or dropped after a failure. */
  readonly onWritten?: (bytes: number) => void;
  /** Turns a failed write's system error into the error `write`, its waits and `finish` report. */
  readonly typed?: (error: Error) => Error;
  /** Where writing starts: the bytes before it are already in the file (resuming), counted as received. */
  readonly position?: number;
  /** The hash of the bytes before `position`, to go on with; a new one by default. */
  readonly hash?: Hash;
  /** Writes a file of at most SYNC_WRITE_FILE_BYTES synchronously while this gate is open. */
  readonly gate?: SyncGate | undefined;
}

/**
 * One file being received: bytes are hashed as they arrive and written in order, at most
 * MAX_WRITE_BYTES per call, gathering small pieces into one writev. `write` returns a promise
 * only when the caller must wait for the disk, so a fast link never queues more than about
 * HIGH_WATER_BYTES in memory. Each piece's `release` runs once its bytes are in the file, or
 * once they never will be; `onWritten` hears how many bytes left memory either way.
 */
export class FileSink {
  readonly expected: number;
  received = 0;
  #handle: SinkFile;
  #fd: number;
  #gate: SyncGate | undefined;
  #hash: Hash;
  #queue: Piece[] = [];
  #queuedBytes = 0;
  #position = 0;
  #writing = false;
  /** Set once `finish` or `abort` starts: nothing more may be written. */
  #closed = false;
  #closing: Promise<void> | undefined;
  #error: Error | undefined;
  #writeFailed = false;
  /** Waiting for the queue to fall below the high-water mark. */
  #drainWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Waiting for the queue to empty. */
  #idleWaiters: (() => void)[] = [];
  #onWritten: ((bytes: number) => void) | undefined;
  #typed: (error: Error) => Error;

  constructor(handle: SinkFile, expected: number, options: FileSinkOptions = {}) {
    this.#handle = handle;
    this.#gate = expected <= SYNC_WRITE_FILE_BYTES ? options.gate : undefined;
    this.#onWritten = options.onWritten;
    this.#typed = options.typed ?? ((error) => error);
    // Written through the numeric fd (callbacks, no promise per call); the handle owns and closes it.
    this.#fd = handle.fd;
    this.expected = expected;
    this.#position = options.position ?? 0;
    this.received = this.#position;
    this.#hash = options.hash ?? createHash('sha256');
  }

  /** True once a write failed: what the file holds is not to be trusted. */
  get failed(): boolean {
    return this.#writeFailed;
  }

  /** Drops every byte of the file (truncated to 0) and starts over with a new hash; only before anything new was written. */
  async restart(): Promise<void> {
    await this.#idle();
    if (this.#error || this.#closed)
      throw this.#error ?? new Error('the file is already being closed');
    await this.#handle.truncate(0);
    this.#position = 0;
    this.received = 0;
    this.#hash = createHash('sha256');
  }

  /** Bytes taken and not yet written to the file. */
  get queued(): number {
    return this.#queuedBytes;
  }

  /** Takes the next bytes; returns a promise only when the caller must wait for the disk. */
  write(bytes: Uint8Array, release?: () => void): Promise<void> | undefined {
    if (this.#error || this.#closed) {
      // These bytes will never reach the file: their memory goes back at once.
      release?.();
      throw this.#error ?? new Error('the file is already being closed');
    }
    if (bytes.byteLength === 0) {
      release?.();
      return undefined;
    }
    this.received += bytes.byteLength;
    this.#hash.update(bytes);
    this.#queue.push({ bytes, release });
    this.#queuedBytes += bytes.byteLength;
    this.#pump();
    if (this.#queuedBytes < HIGH_WATER_BYTES) return undefined;
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** The SHA-256 of every byte written so far, in lowercase hex; call once, at the end. */
  digest(): string {
    return this.#hash.digest('hex');
  }

  /**
   * Writes out what is queued and closes the file. With `sync`, the data is on the disk
   * (fdatasync) before this resolves, not only in the operating system's cache.
   */
  async finish(sync: boolean): Promise<void> {
    // From here on nothing more may be written: a write racing the close could land on a
    // descriptor number that the system has already given to another file.
    this.#closed = true;
    await this.#idle();
    try {
      if (this.#error) throw this.#error;
      if (sync) await this.#handle.datasync();
    } finally {
      // Closed whatever happened: a failed sync (EIO, or a full disk reported only then) too.
      await this.#closeHandle();
    }
  }

  /** Drops what is queued, lets a write under way end, and closes the file, ignoring errors. */
  async abort(): Promise<void> {
    this.#error ??= new Error('the file was abandoned');
    this.#closed = true;
    // A write under way still reads its pieces: they are given back only after it ends.
    await this.#idle();
    this.#dropQueue();
    await this.#closeHandle().catch(() => {});
  }

  /** Closes the file once, however many times it is asked to. */
  #closeHandle(): Promise<void> {
    this.#closing ??= this.#handle.close();
    return this.#closing;
  }

  #pump(): void {
    if (this.#writing || this.#error || this.#queue.length === 0) return;
    // Gather from the front of the queue up to MAX_WRITE_BYTES, splitting a large piece.
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const piece of this.#queue) {
      if (parts.length === MAX_PIECES || length === MAX_WRITE_BYTES) break;
      const take = Math.min(piece.bytes.byteLength, MAX_WRITE_BYTES - length);
      parts.push(take === piece.bytes.byteLength ? piece.bytes : piece.bytes.subarray(0, take));
      length += take;
    }
    this.#writing = true;
    if (this.#gate?.synchronous) {
      this.#writeNow(parts, length);
      return;
    }
    const done = (error: NodeJS.ErrnoException | null, written: number) =>
      this.#written(error, written);
    if (parts.length === 1) fs.write(this.#fd, parts[0]!, 0, length, this.#position, done);
    else fs.writev(this.#fd, parts, this.#position, done);
  }

  /** Writes `parts` at once, on the event loop, then goes on as after a write in the pool. */
  #writeNow(parts: Uint8Array[], length: number): void {
    let written = 0;
    let failure: NodeJS.ErrnoException | null = null;
    try {
      written = this.#gate!.timed(() =>
        parts.length === 1
          ? fs.writeSync(this.#fd, parts[0]!, 0, length, this.#position)
          : fs.writevSync(this.#fd, parts, this.#position),
      );
    } catch (error) {
      failure = error as NodeJS.ErrnoException;
    }
    this.#written(failure, written);
  }

  #written(error: NodeJS.ErrnoException | null, written: number): void {
    this.#writing = false;
    // A write that took nothing would be retried forever (seen on some network file systems).
    if (!error && written === 0)
      error = Object.assign(new Error('the file system took no bytes'), { code: 'EIO' });
    if (error) {
      this.#writeFailed = true;
      this.#error ??= this.#typed(error);
      this.#dropQueue();
    } else {
      this.#position += written;
      this.#consume(written);
    }
    if (this.#queuedBytes < HIGH_WATER_BYTES || this.#error) {
      for (const waiter of this.#drainWaiters.splice(0)) {
        if (this.#error) waiter.reject(this.#error);
        else waiter.resolve();
      }
    }
    if (this.#queue.length > 0 && !this.#error) {
      this.#pump();
      return;
    }
    for (const waiter of this.#idleWaiters.splice(0)) waiter();
  }

  /** Takes `written` bytes off the front of the queue; a short write leaves the rest queued. */
  #consume(written: number): void {
    let left = written;
    this.#queuedBytes -= written;
    this.#onWritten?.(written);
    while (left > 0) {
      const piece = this.#queue[0]!;
      if (piece.bytes.byteLength > left) {
        piece.bytes = piece.bytes.subarray(left);
        return;
      }
      left -= piece.bytes.byteLength;
      this.#queue.shift();
      piece.release?.();
    }
  }

  #dropQueue(): void {
    for (const piece of this.#queue.splice(0)) piece.release?.();
    const dropped = this.#queuedBytes;
    this.#queuedBytes = 0;
    if (dropped > 0) this.#onWritten?.(dropped);
    const error = this.#error;
    if (error) for (const waiter of this.#drainWaiters.splice(0)) waiter.reject(error);
  }

  /** Resolves once no write is under way and, unless failed, nothing is queued. */
  #idle(): Promise<void> {
    if (!this.#writing && (this.#queue.length === 0 || this.#error)) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
