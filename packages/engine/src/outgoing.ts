import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, FerryError, IntegrityError, ProtocolError } from '@ferry/protocol';
import { BufferPool } from './buffer-pool.ts';
import { type FileSource, type OfferSource, openSource } from './scan.ts';
import { describeChange, type FileStamp, stampOf } from './stamp.ts';

/** A requested file: which one, where it starts, and where it is read from. */
export interface PlannedFile {
  readonly id: number;
  readonly offset: number;
  readonly source: FileSource;
}

/**
 * How one transfer's files go out: the frames of the caller's protocol. Each returns a promise
 * that resolves once more may be sent (backpressure, or flow-control credit).
 */
export interface FileFrames {
  /** A file begins (FILE_START). */
  start(file: { id: number; offset: number; size: number }): Promise<void>;
  /**
   * File bytes in a buffer with `headerRoom` bytes free at the front for the caller's frame
   * header, then the bytes: the frame goes out as one buffer, without a copy. `release` runs
   * once the caller no longer needs `frame`.
   */
  data(frame: Buffer, release: () => void): Promise<void>;
  /** File bytes with no room in front (a small file read whole, the tail of a resumed chunk). */
  dataCopy(bytes: Uint8Array, release?: () => void): Promise<void>;
  /** The file was sent whole, with its SHA-256 (FILE_END). */
  end(file: { id: number; sha256: string }): Promise<void>;
  /** The file's source failed or changed: the file ends without being saved (FILE_ABORT). */
  abort(file: { id: number; code: string; message: string }): Promise<void>;
}

/** What {@link sendPlannedFiles} reports as it goes. */
export interface OutgoingHooks {
  /** File bytes handed to the frames. */
  onBytes(bytes: number): void;
  /** A file ends: with its digest when sent whole, without when aborted; before its last frame. */
  onSent(id: number, sha256?: string): void;
}

/** Options of {@link sendPlannedFiles}. */
export interface OutgoingOptions {
  /** Bytes kept free at the front of each read buffer for the caller's frame header. */
  readonly headerRoom: number;
  /** File bytes per data frame at most. */
  readonly chunkBytes: number;
  /** Read buffers: enough to keep the link busy while the next chunk is read; 8 by default. */
  readonly readBuffers?: number;
}

/** Read buffers per transfer by default. */
const READ_BUFFERS = 8;

/**
 * Checks a request (REQUEST's or ACCEPT's `files`) against the offer: every id a file of it,
 * none twice, no offset past the end. Throws a ProtocolError otherwise.
 */
export function planRequest(
  offer: OfferSource,
  files: readonly { readonly id: number; readonly offset: number }[],
): PlannedFile[] {
  const seen = new Set<number>();
  return files.map(({ id, offset }) => {
    const source = offer.sources.get(id);
    if (!source)
      throw new ProtocolError(
        ErrorCode.UNKNOWN_FILE,
        `requested id ${id} is not a file of the offer`,
      );
    if (seen.has(id)) throw new ProtocolError(ErrorCode.BAD_MESSAGE, `file ${id} requested twice`);
    if (offset > source.size)
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, `offset past the end of file ${id}`);
    seen.add(id);
    return { id, offset, source };
  });
}

/** The bytes a plan carries: each file's size past its offset. */
export function plannedBytes(plan: readonly PlannedFile[]): number {
  return plan.reduce((sum, file) => sum + file.source.size - file.offset, 0);
}

/**
 * Sends every planned file in order, back to back: small files read ahead whole several at
 * once, large ones in chunks through a pool of reused buffers with one read ahead. A file whose
 * source fails or changes is aborted and the next one goes on; any other error (the frames
 * failing) rejects.
 */
export async function sendPlannedFiles(
  frames: FileFrames,
  plan: readonly PlannedFile[],
  hooks: OutgoingHooks,
  options: OutgoingOptions,
): Promise<void> {
  // Each buffer starts with room for a frame header, so a chunk goes out as one data frame.
  const pool = new BufferPool(
    options.readBuffers ?? READ_BUFFERS,
    options.headerRoom + options.chunkBytes,
  );
  // A small file goes out as one data frame: never more than a chunk.
  const readAhead = new ReadAhead(plan, Math.min(SMALL_FILE_BYTES, options.chunkBytes));
  for (const [index, file] of plan.entries()) {
    const prefetched = readAhead.take(index);
    if (prefetched) await sendSmallFile(frames, file, prefetched, hooks);
    else await sendFile(frames, file, hooks, pool, options.headerRoom);
  }
}

/** Sends one file; a source that changes or fails to read is aborted. */
async function sendFile(
  frames: FileFrames,
  file: PlannedFile,
  hooks: OutgoingHooks,
  pool: BufferPool,
  headerRoom: number,
): Promise<void> {
  const { id, offset, source } = file;
  let handle: FileHandle | undefined;
  let started = false;
  let next: Promise<{ buffer: Buffer; bytesRead: number }> | undefined;
  try {
    const opened = await openSource(source);
    handle = opened.handle;
    const { stamp } = opened;
    started = true;
    await frames.start({ id, offset, size: source.size });
    const hash = createHash('sha256');
    const file = handle;
    // One read ahead: the next chunk comes off the disk (in libuv's pool) while this one is
    // hashed and handed to the link.
    const readAt = async (position: number): Promise<{ buffer: Buffer; bytesRead: number }> => {
      const buffer = await pool.acquire();
      try {
        const room = pool.size - headerRoom;
        const { bytesRead } = await file.read(
          buffer,
          headerRoom,
          Math.min(room, source.size - position),
          position,
        );
        return { buffer, bytesRead };
      } catch (error) {
        pool.release(buffer);
        throw error;
      }
    };
    let position = 0;
    next = source.size > 0 ? readAt(0) : undefined;
    while (next) {
      const { buffer, bytesRead } = await next;
      next = undefined;
      if (bytesRead === 0) {
        pool.release(buffer);
        throw new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file shrank while it was sent');
      }
      const end = position + bytesRead;
      if (end < source.size) {
        next = readAt(end);
        next.catch(() => {}); // Awaited on the next turn, or in `finally`.
      }
      const chunk = buffer.subarray(headerRoom, headerRoom + bytesRead);
      hash.update(chunk);
      if (position >= offset) {
        await frames.data(buffer.subarray(0, headerRoom + bytesRead), () => pool.release(buffer));
        hooks.onBytes(bytesRead);
      } else if (end > offset) {
        // Resuming inside this chunk: only its tail goes out.
        const fresh = chunk.subarray(offset - position);
        await frames.dataCopy(fresh, () => pool.release(buffer));
        hooks.onBytes(fresh.byteLength);
      } else {
        pool.release(buffer);
      }
      position = end;
    }
    await checkUnchanged(handle, stamp);
    const sha256 = hash.digest('hex');
    hooks.onSent(id, sha256);
    await frames.end({ id, sha256 });
  } catch (error) {
    await abortFile(frames, file, error, started, hooks);
  } finally {
    // A read still in flight must finish before the file closes; its buffer goes back.
    const pending = await next?.catch(() => undefined);
    if (pending) pool.release(pending.buffer);
    await handle?.close();
  }
}

/** Ends a file whose source failed with an abort; any other error ends the transfer. */
async function abortFile(
  frames: FileFrames,
  file: PlannedFile,
  error: unknown,
  started: boolean,
  hooks: OutgoingHooks,
): Promise<void> {
  if (!isSourceProblem(error)) throw error;
  const { id, offset, source } = file;
  const code = error instanceof FerryError ? error.code : ErrorCode.SOURCE_UNREADABLE;
  hooks.onSent(id);
  // An abort ends a file that has started: a file that failed before it began starts first.
  if (!started) await frames.start({ id, offset, size: source.size });
  await frames.abort({ id, code, message: describeSourceProblem(error) });
}

/** Files up to this size are read ahead whole, several at once, to hide the disk's latency. */
const SMALL_FILE_BYTES = 256 * 1024;
/** Small files read ahead at most (so at most 4 MiB held). */
const READ_AHEAD_FILES = 16;

/** Reads the next small files of a plan concurrently, ahead of sending them. */
class ReadAhead {
  #plan: readonly PlannedFile[];
  #smallBytes: number;
  #reads = new Map<number, Promise<Buffer>>();
  #next = 0;

  constructor(plan: readonly PlannedFile[], smallBytes: number) {
    this.#plan = plan;
    this.#smallBytes = smallBytes;
  }

  /** The contents of file `index` if it is small (being read, or read), else undefined. */
  take(index: number): Promise<Buffer> | undefined {
    this.#next = Math.max(this.#next, index);
    while (this.#next < this.#plan.length && this.#next < index + READ_AHEAD_FILES) {
      const file = this.#plan[this.#next]!;
      if (file.offset === 0 && file.source.size <= this.#smallBytes) {
        const read = readWhole(file.source);
        read.catch(() => {}); // Observed when the file's turn comes.
        this.#reads.set(this.#next, read);
      }
      this.#next++;
    }
    const read = this.#reads.get(index);
    this.#reads.delete(index);
    return read;
  }
}

/** Reads a whole (small) source file, checking it still has the size it was offered with. */
async function readWhole(source: FileSource): Promise<Buffer> {
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
async function checkUnchanged(handle: FileHandle, opened: FileStamp): Promise<void> {
  const now = await handle.stat({ bigint: true });
  if (now.nlink === 0n)
    throw new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file was deleted while it was sent');
  const change = describeChange(opened, stampOf(now));
  if (change)
    throw new IntegrityError(
      ErrorCode.SOURCE_CHANGED,
      `the file changed while it was sent: ${change}`,
    );
}

/** Sends a file read ahead whole: its start, one data frame, its end. */
async function sendSmallFile(
  frames: FileFrames,
  file: PlannedFile,
  contents: Promise<Buffer>,
  hooks: OutgoingHooks,
): Promise<void> {
  let data: Buffer;
  try {
    data = await contents;
  } catch (error) {
    await abortFile(frames, file, error, false, hooks);
    return;
  }
  const { id, source } = file;
  await frames.start({ id, offset: 0, size: source.size });
  if (data.byteLength > 0) {
    await frames.dataCopy(data);
    hooks.onBytes(data.byteLength);
  }
  const sha256 = createHash('sha256').update(data).digest('hex');
  hooks.onSent(id, sha256);
  await frames.end({ id, sha256 });
}

function isSourceProblem(error: unknown): boolean {
  if (error instanceof IntegrityError) return true;
  return error instanceof Error && 'syscall' in error && !(error instanceof FerryError);
}

function describeSourceProblem(error: unknown): string {
  if (error instanceof FerryError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? 'the file no longer exists'
    : `the file could not be read (${code ?? 'error'})`;
}
