import fs, { type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, IntegrityError } from '@ferry/protocol';
import type { ReadBuffers } from './buffer-pool.ts';
import { changeSinceOffer, type FileSource, OPEN_FLAGS, openSource } from './scan.ts';
import { describeChange, type FileStamp, stampOf } from './stamp.ts';
import type { SyncGate } from './sync-gate.ts';

/**
 * Files up to this size are read whole synchronously while the gate is open (see SyncGate):
 * five calls through the thread pool cost more than the reads themselves.
 */
export const SYNC_READ_FILE_BYTES = 64 * 1024;

/** One chunk read into a pool buffer: its bytes start `headerRoom` bytes into `buffer`. */
export interface Chunk {
  readonly buffer: Buffer;
  /** The file bytes read, a view into `buffer`. */
  readonly bytes: Buffer;
}

/**
 * Reads bytes `from … to−1` of an open source file in pool buffers, with one read ahead: the
 * next chunk comes off the disk (in libuv's pool, unless a gate says otherwise, below) while
 * this one is hashed and handed on. A file
 * that ends early has shrunk: SOURCE_CHANGED. `close()` waits for a read still in flight.
 *
 * Given the stamp the file was opened with, the reader checks the file unchanged
 * ({@link checkUnchanged}) before it hands out the chunk that reaches `to`, or, for an empty
 * range, before it says there is none: whoever takes every chunk has bytes of one unchanged file.
 *
 * Given a {@link SyncGate} (made with `BULK_READ_GATE`), each read runs synchronously
 * while the gate says so: a read that the page cache answers takes well under a millisecond,
 * and going through libuv's pool would add two thread wake-ups to it. A read that misses the
 * cache closes the gate: reads then go through the pool again, one ahead, for REOPEN_AFTER_MS.
 * So a disk that is slow costs one read on the event loop every few seconds, not every read.
 */
export class ChunkReader {
  readonly #handle: FileHandle;
  readonly #pool: ReadBuffers;
  readonly #headerRoom: number;
  readonly #to: number;
  readonly #unchanged: FileStamp | undefined;
  readonly #gate: SyncGate | undefined;
  #position: number;
  #next: Promise<Chunk> | undefined;
  #checked = false;

  constructor(
    handle: FileHandle,
    pool: ReadBuffers,
    headerRoom: number,
    from: number,
    to: number,
    unchanged?: FileStamp,
    gate?: SyncGate,
  ) {
    this.#handle = handle;
    this.#pool = pool;
    this.#headerRoom = headerRoom;
    this.#position = from;
    this.#to = to;
    this.#unchanged = unchanged;
    this.#gate = gate;
    this.#next = from < to ? this.#read(from) : undefined;
  }

  /** The next chunk, or undefined once `to` is reached. The caller releases its buffer. */
  async next(): Promise<Chunk | undefined> {
    const pending = this.#next;
    if (!pending) {
      await this.#check();
      return undefined;
    }
    this.#next = undefined;
    const chunk = await pending;
    if (chunk.bytes.byteLength === 0) {
      this.#pool.release(chunk.buffer);
      throw new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file shrank while it was sent');
    }
    this.#position += chunk.bytes.byteLength;
    if (this.#position < this.#to) {
      this.#next = this.#read(this.#position);
      this.#next.catch(() => {}); // Awaited by the next call, or by close().
    } else {
      try {
        await this.#check();
      } catch (error) {
        this.#pool.release(chunk.buffer);
        throw error;
      }
    }
    return chunk;
  }

  /** Waits for a read still in flight and gives its buffer back: then the file may close. */
  async close(): Promise<void> {
    const pending = await this.#next?.catch(() => undefined);
    this.#next = undefined;
    if (pending) this.#pool.release(pending.buffer);
  }

  async #check(): Promise<void> {
    if (!this.#unchanged || this.#checked) return;
    this.#checked = true;
    await checkUnchanged(this.#handle, this.#unchanged);
  }

  async #read(position: number): Promise<Chunk> {
    const buffer = await this.#pool.acquire();
    try {
      const room = this.#pool.size - this.#headerRoom;
      const length = Math.min(room, this.#to - position);
      const read = async () =>
        (await this.#handle.read(buffer, this.#headerRoom, length, position)).bytesRead;
      const bytesRead = this.#gate
        ? await this.#gate.run(
            () => fs.readSync(this.#handle.fd, buffer, this.#headerRoom, length, position),
            read,
          )
        : await read();
      return { buffer, bytes: buffer.subarray(this.#headerRoom, this.#headerRoom + bytesRead) };
    } catch (error) {
      this.#pool.release(buffer);
      throw error;
    }
  }
}

/**
 * Reads a whole (small) source file, checking it is unchanged since the offer and while read:
 * synchronously while `gate` is open and the file is at most SYNC_READ_FILE_BYTES.
 */
export function readWhole(source: FileSource, gate?: SyncGate): Promise<Buffer> {
  if (gate && source.size <= SYNC_READ_FILE_BYTES)
    return gate.run(
      () => readWholeNow(source),
      () => readWholeInPool(source),
    );
  return readWholeInPool(source);
}

/** {@link readWhole} with synchronous calls, on the event loop. */
function readWholeNow(source: FileSource): Buffer {
  const fd = fs.openSync(source.absolute, OPEN_FLAGS);
  try {
    const stamp = stampOf(fs.fstatSync(fd, { bigint: true }));
    const change = changeSinceOffer(source, stamp);
    if (change) throw change;
    const buffer = Buffer.allocUnsafe(source.size);
    let position = 0;
    while (position < source.size) {
      const bytesRead = fs.readSync(fd, buffer, position, source.size - position, position);
      if (bytesRead === 0)
        throw new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file shrank while it was sent');
      position += bytesRead;
    }
    const problem = unchangedProblem(fs.fstatSync(fd, { bigint: true }), stamp);
    if (problem) throw problem;
    return buffer;
  } finally {
    fs.closeSync(fd);
  }
}

async function readWholeInPool(source: FileSource): Promise<Buffer> {
  const { handle, stamp } = await openSource(source);
  try {
    const buffer = Buffer.allocUnsafe(source.size);
    let position = 0;
    while (position < source.size) {
      const { bytesRead } = await handle.read(buffer, position, source.size - position, position);
      if (bytesRead === 0)
        throw new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file shrank while it was sent');
      position += bytesRead;
    }
    await checkUnchanged(handle, stamp);
    return buffer;
  } finally {
    await handle.close();
  }
}

/**
 * After the last read, before the end of the file: the open file must still exist (C7) and be
 * exactly as it was opened. A rewrite in place keeps the size and mixes old and new bytes, and
 * its mtime can be put back; its change time cannot (K12).
 */
export async function checkUnchanged(handle: FileHandle, opened: FileStamp): Promise<void> {
  const problem = unchangedProblem(await handle.stat({ bigint: true }), opened);
  if (problem) throw problem;
}

/** Why the open file, stat'ed `now`, is not the one opened with stamp `opened`; undefined if it is. */
function unchangedProblem(now: BigIntStats, opened: FileStamp): IntegrityError | undefined {
  if (now.nlink === 0n)
    return new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file was deleted while it was sent');
  const change = describeChange(opened, stampOf(now));
  if (change)
    return new IntegrityError(
      ErrorCode.SOURCE_CHANGED,
      `the file changed while it was sent: ${change}`,
    );
  return undefined;
}
