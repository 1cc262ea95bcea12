import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  ErrorCode,
  FerryError,
  IntegrityError,
  ProtocolError,
  type RequestItem,
} from '@ferry/protocol';
import { BufferPool } from './buffer-pool.ts';
import { type FileSource, type OfferSource, openSource } from './scan.ts';
import { ChunkReader, checkUnchanged, readWhole } from './source-reader.ts';
import { BULK_READ_GATE, SyncGate } from './sync-gate.ts';

/**
 * A requested file: which one, where it starts, and where it is read from. With `prefix` (a
 * resumed file, PROTOCOL.md §13) the receiver holds bytes `0 … offset−1` whose SHA-256 that is:
 * the file goes out from `offset` only if the sender's own bytes have that digest.
 */
export interface PlannedFile {
  readonly id: number;
  readonly offset: number;
  readonly source: FileSource;
  readonly prefix?: string;
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
  /** A resumed file's prefix matched: `bytes` (its offset) are not sent again. Before FILE_START. */
  onResumed?(id: number, bytes: number): void;
  /** A resumed file's prefix did not match: it goes out whole from byte 0. Before FILE_START. */
  onRestarted?(id: number): void;
}

/** Options of {@link sendPlannedFiles}. */
export interface OutgoingOptions {
  /** Bytes kept free at the front of each read buffer for the caller's frame header. */
  readonly headerRoom: number;
  /** File bytes per data frame at most. */
  readonly chunkBytes: number;
  /** Read buffers: enough to keep the link busy while the next chunk is read; 8 by default. */
  readonly readBuffers?: number;
  /**
   * Wraps local work during which nothing is sent (hashing a resumed file's prefix), so the
   * caller keeps its link alive meanwhile (PING) and can end the wait if the link fails.
   */
  readonly busy?: <T>(work: Promise<T>) => Promise<T>;
}

/** Read buffers per transfer by default. */
const READ_BUFFERS = 8;

/** Options of {@link planRequest}. */
export interface PlanOptions {
  /** The offer carried `resume` (§13): items with a prefix are allowed. */
  readonly resume?: boolean;
}

/**
 * Checks a request (REQUEST's or ACCEPT's `files`) against the offer: every id a file of it
 * (ERR_UNKNOWN_FILE), none twice, no offset past the end, an offset past 0 only with the digest
 * of the prefix held, and a prefix only when resume was offered (ERR_BAD_MESSAGE otherwise).
 */
export function planRequest(
  offer: OfferSource,
  files: readonly RequestItem[],
  options: PlanOptions = {},
): PlannedFile[] {
  const seen = new Set<number>();
  return files.map((item) => {
    const { id, offset } = item;
    const prefix = 'prefix' in item ? item.prefix : undefined;
    const source = offer.sources.get(id);
    if (!source)
      throw new ProtocolError(
        ErrorCode.UNKNOWN_FILE,
        `requested id ${id} is not a file of the offer`,
      );
    if (seen.has(id)) throw new ProtocolError(ErrorCode.BAD_MESSAGE, `file ${id} requested twice`);
    seen.add(id);
    if (prefix !== undefined && !options.resume)
      throw new ProtocolError(
        ErrorCode.BAD_MESSAGE,
        `file ${id} requested with a prefix, but resuming was not offered`,
      );
    if (prefix === undefined && offset > 0)
      throw new ProtocolError(
        ErrorCode.BAD_MESSAGE,
        `file ${id} requested from an offset without the digest of the bytes held`,
      );
    if (prefix !== undefined && offset === 0)
      throw new ProtocolError(
        ErrorCode.BAD_MESSAGE,
        `file ${id} requested with a prefix of no bytes`,
      );
    if (offset > source.size)
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, `offset past the end of file ${id}`);
    return prefix === undefined ? { id, offset, source } : { id, offset, source, prefix };
  });
}

/** The bytes a plan carries: each file's size past its offset (every prefix matching). */
export function plannedBytes(plan: readonly PlannedFile[]): number {
  return plan.reduce((sum, file) => sum + file.source.size - file.offset, 0);
}

/**
 * Sends every planned file in order, back to back: small files read ahead whole several at
 * once, large ones in chunks through a pool of reused buffers with one read ahead. A resumed
 * file's prefix is read and hashed first (nothing goes out before the comparison): it then
 * goes out from its offset, or whole from 0 when the prefix differs. A file whose source fails
 * or changes is aborted and the next one goes on; any other error (the frames failing) rejects.
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
  // Reads run synchronously while the disk answers fast (see SyncGate): small files whole,
  // large ones by chunks, each kind with its own thresholds.
  const chunks = new SyncGate(BULK_READ_GATE);
  // A small file goes out as one data frame: never more than a chunk.
  const readAhead = new ReadAhead(plan, Math.min(SMALL_FILE_BYTES, options.chunkBytes));
  for (const [index, file] of plan.entries()) {
    const prefetched = readAhead.take(index);
    if (prefetched) await sendSmallFile(frames, file, prefetched, hooks);
    else await sendFile(frames, file, hooks, pool, options, chunks);
  }
}

/** Sends one file; a source that changes or fails to read is aborted. */
async function sendFile(
  frames: FileFrames,
  file: PlannedFile,
  hooks: OutgoingHooks,
  pool: BufferPool,
  options: OutgoingOptions,
  gate: SyncGate,
): Promise<void> {
  const { id, source } = file;
  const { headerRoom } = options;
  let handle: FileHandle | undefined;
  let started = false;
  let reader: ChunkReader | undefined;
  try {
    const opened = await openSource(source);
    handle = opened.handle;
    const { stamp } = opened;
    let hash = createHash('sha256');
    let from = file.offset;
    if (file.prefix !== undefined) {
      hash = await readPrefix(handle, file.offset, pool, options);
      if (hash.copy().digest('hex') === file.prefix) {
        hooks.onResumed?.(id, file.offset);
      } else {
        // The source changed, or the receiver's bytes are not what it thinks: start over.
        hooks.onRestarted?.(id);
        hash = createHash('sha256');
        from = 0;
      }
    }
    started = true;
    await frames.start({ id, offset: from, size: source.size });
    reader = new ChunkReader(handle, pool, headerRoom, from, source.size, undefined, gate);
    for (;;) {
      const chunk = await reader.next();
      if (!chunk) break;
      const { buffer, bytes } = chunk;
      hash.update(bytes);
      await frames.data(buffer.subarray(0, headerRoom + bytes.byteLength), () =>
        pool.release(buffer),
      );
      hooks.onBytes(bytes.byteLength);
    }
    // The same checks after the whole file, prefix included: it was read from this open file.
    await checkUnchanged(handle, stamp);
    const sha256 = hash.digest('hex');
    hooks.onSent(id, sha256);
    await frames.end({ id, sha256 });
  } catch (error) {
    await abortFile(frames, file, error, started, hooks);
  } finally {
    // A read still in flight must finish before the file closes; its buffer goes back.
    await reader?.close();
    await handle?.close();
  }
}

/**
 * Reads and hashes bytes `0 … length−1` of an open file, in the caller's busy wrapper: nothing
 * is sent meanwhile. The hash is returned unfinished, to go on over the rest of the file. If
 * the wait ends early (the link failed), the reading stops before the file may close.
 */
async function readPrefix(
  handle: FileHandle,
  length: number,
  pool: BufferPool,
  options: OutgoingOptions,
): Promise<Hash> {
  const stop = { stopped: false };
  const work = (async () => {
    const hash = createHash('sha256');
    const reader = new ChunkReader(handle, pool, options.headerRoom, 0, length);
    try {
      while (!stop.stopped) {
        const chunk = await reader.next();
        if (!chunk) return hash;
        hash.update(chunk.bytes);
        pool.release(chunk.buffer);
      }
      throw new Error('stopped');
    } finally {
      await reader.close();
    }
  })();
  try {
    return await (options.busy ? options.busy(work) : work);
  } catch (error) {
    stop.stopped = true;
    await work.catch(() => {});
    throw error;
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
  /** The smallest files are read synchronously while the disk is fast (see SyncGate). */
  #gate = new SyncGate();

  constructor(plan: readonly PlannedFile[], smallBytes: number) {
    this.#plan = plan;
    this.#smallBytes = smallBytes;
  }

  /** The contents of file `index` if it is small (being read, or read), else undefined. */
  take(index: number): Promise<Buffer> | undefined {
    this.#next = Math.max(this.#next, index);
    while (this.#next < this.#plan.length && this.#next < index + READ_AHEAD_FILES) {
      const file = this.#plan[this.#next]!;
      if (file.source.size <= this.#smallBytes) {
        const read = readWhole(file.source, this.#gate);
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
  const hash = createHash('sha256');
  let from = 0;
  if (file.prefix !== undefined) {
    // Read whole already: the prefix is compared from memory, and hashed once either way.
    hash.update(data.subarray(0, file.offset));
    if (hash.copy().digest('hex') === file.prefix) {
      from = file.offset;
      hooks.onResumed?.(id, file.offset);
    } else {
      hooks.onRestarted?.(id);
    }
    hash.update(data.subarray(file.offset));
  } else {
    hash.update(data);
  }
  await frames.start({ id, offset: from, size: source.size });
  const fresh = data.subarray(from);
  if (fresh.byteLength > 0) {
    await frames.dataCopy(fresh);
    hooks.onBytes(fresh.byteLength);
  }
  const sha256 = hash.digest('hex');
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
