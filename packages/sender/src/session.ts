import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import { formatDuration } from '@ferry/cli';
import {
  BufferPool,
  describeChange,
  type FileSource,
  type FileStamp,
  type OfferSource,
  openSource,
  stampOf,
} from '@ferry/engine';
import {
  DATA_CHUNK_BYTES,
  FRAME_HEADER_BYTES,
  ErrorCode,
  FerryError,
  FrameType,
  type Hello,
  IntegrityError,
  LIMITS,
  PeerError,
  ProtocolError,
  type Request,
  shouldTellPeer,
  TIMEOUTS,
  TimeoutError,
  truncateUtf8,
} from '@ferry/protocol';
import { type Connection, peerError, unexpectedFrame } from '@ferry/protocol/node';
import type { Logger } from 'pino';

/** Read buffers per session: enough to keep the socket busy while the next chunk is read. */
const READ_BUFFERS = 8;

/** What a session reports to the sender as it goes. */
export interface SessionHooks {
  onHello(hello: Hello): void;
  onRequest(files: number, bytes: number): void;
  onBytes(bytes: number): void;
  onFileAcked(path: string, size: number, sha256: string): void;
  onFileFailed(path: string, code: string): void;
}

/** The outcome of one receiver's session. */
export interface SessionResult {
  readonly files: number;
  readonly failed: number;
  readonly bytes: number;
}

/** Options of {@link runSession}. */
export interface SessionOptions {
  readonly connection: Connection;
  readonly offer: OfferSource;
  readonly session: string;
  readonly name: string;
  readonly logger: Logger;
  readonly hooks: SessionHooks;
  readonly handshakeMs?: number;
  /** REQUEST must come within this long after HELLO, however often the receiver PINGs. */
  readonly decidingMs?: number;
  /** DONE must come within this long after END, however often the receiver PINGs. */
  readonly finishingMs?: number;
}

/**
 * Serves one receiver: HELLO, OFFER, REQUEST, then every requested file back to back (no round
 * trip per file) while a concurrent reader collects FILE_ACKs, until DONE. Throws a typed
 * error when the receiver breaks the protocol or the connection fails.
 */
export async function runSession(options: SessionOptions): Promise<SessionResult> {
  const { connection, offer, logger, hooks } = options;
  // One deadline for the whole greeting: the preamble and HELLO.
  const hello = await beforeDeadline(
    (async () => {
      await connection.readPreamble(Number.POSITIVE_INFINITY);
      return connection.expect(FrameType.HELLO);
    })(),
    options.handshakeMs ?? TIMEOUTS.handshakeMs,
    async () => {
      const error = new TimeoutError('the receiver did not say hello in time');
      connection.destroy(error);
      throw error;
    },
  );
  hooks.onHello(hello);
  // One deadline from HELLO to REQUEST, over sending the OFFER too: a receiver that reads the
  // OFFER slowly holds its place no longer than one that reads it at once (K3).
  const decidingMs = options.decidingMs ?? TIMEOUTS.decidingMs;
  const request = await beforeDeadline(
    (async () => {
      await connection.send(FrameType.OFFER, {
        session: options.session,
        sender: { name: truncateUtf8(options.name, LIMITS.maxNameBytes), host: truncateUtf8(os.hostname(), LIMITS.maxNameBytes) },
        entries: [...offer.entries],
      });
      // However short our --timeout, as long as the receiver PINGs while its user chooses.
      return connection.whilePeerBusy(() => connection.expect(FrameType.REQUEST));
    })(),
    decidingMs,
    () => timedOut(connection, `no choice was made within ${formatDuration(decidingMs / 1000)} of the offer; connect again to choose`),
  );
  const plan = planRequest(offer, request);
  hooks.onRequest(plan.length, plan.reduce((sum, file) => sum + file.source.size - file.offset, 0));
  logger.debug({ files: plan.length }, 'request accepted');

  const acks = new AckCollector(offer, plan, hooks);
  const reading = acks.run(connection);
  const sending = (async () => {
    // Each buffer starts with room for a frame header, so a chunk goes out as one DATA frame.
    const pool = new BufferPool(READ_BUFFERS, FRAME_HEADER_BYTES + DATA_CHUNK_BYTES);
    const readAhead = new ReadAhead(plan);
    for (const [index, file] of plan.entries()) {
      const prefetched = readAhead.take(index);
      if (prefetched) await sendSmallFile(connection, file, prefetched, hooks, acks);
      else await sendFile(connection, file, hooks, acks, pool);
    }
    await connection.send(FrameType.END, {});
  })();
  try {
    // PINGs keep the link alive, not the session: DONE must follow END within finishingMs (K3).
    const finishingMs = options.finishingMs ?? TIMEOUTS.finishingMs;
    let late = false;
    const finished = sending.then(() =>
      beforeDeadline(reading, finishingMs, () => {
        late = true;
        return timedOut(connection, `the receiver did not finish within ${formatDuration(finishingMs / 1000)} of the last file`);
      }),
    );
    // Once too late, the reader's end (the connection closing) is not the reason: the deadline is.
    await Promise.all([
      finished,
      reading.catch((error: unknown) => {
        if (!late) throw error;
      }),
    ]);
  } catch (error) {
    // A violation is explained to the receiver by the caller (ERROR, then close, which also
    // stops the sending loop); only a link that cannot carry that explanation ends here.
    if (!shouldTellPeer(error)) connection.destroy();
    throw error;
  }
  await connection.close();
  return { files: acks.saved, failed: acks.failed, bytes: acks.bytes };
}

interface PlannedFile {
  readonly id: number;
  readonly offset: number;
  readonly source: FileSource;
}

function planRequest(offer: OfferSource, request: Request): PlannedFile[] {
  const seen = new Set<number>();
  return request.files.map(({ id, offset }) => {
    const source = offer.sources.get(id);
    if (!source) throw new ProtocolError(ErrorCode.UNKNOWN_FILE, `requested id ${id} is not a file of the offer`);
    if (seen.has(id)) throw new ProtocolError(ErrorCode.BAD_MESSAGE, `file ${id} requested twice`);
    if (offset > source.size) throw new ProtocolError(ErrorCode.BAD_MESSAGE, `offset past the end of file ${id}`);
    seen.add(id);
    return { id, offset, source };
  });
}

/** Sends one file; a source that changes or fails to read is aborted with FILE_ABORT. */
async function sendFile(
  connection: Connection,
  file: PlannedFile,
  hooks: SessionHooks,
  acks: AckCollector,
  pool: BufferPool,
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
    await connection.send(FrameType.FILE_START, { id, offset, size: source.size });
    const hash = createHash('sha256');
    const file = handle;
    // One read ahead: the next chunk comes off the disk (in libuv's pool) while this one is
    // hashed and handed to the socket.
    const readAt = async (position: number): Promise<{ buffer: Buffer; bytesRead: number }> => {
      const buffer = await pool.acquire();
      try {
        const room = pool.size - FRAME_HEADER_BYTES;
        const { bytesRead } = await file.read(buffer, FRAME_HEADER_BYTES, Math.min(room, source.size - position), position);
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
      const chunk = buffer.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + bytesRead);
      hash.update(chunk);
      if (position >= offset) {
        await connection.sendDataInPlace(buffer.subarray(0, FRAME_HEADER_BYTES + bytesRead), () => pool.release(buffer));
        hooks.onBytes(bytesRead);
      } else if (end > offset) {
        // Resuming inside this chunk: only its tail goes out.
        const fresh = chunk.subarray(offset - position);
        await connection.sendData(fresh, () => pool.release(buffer));
        hooks.onBytes(fresh.byteLength);
      } else {
        pool.release(buffer);
      }
      position = end;
    }
    await checkUnchanged(handle, stamp);
    const sha256 = hash.digest('hex');
    acks.sent(id, sha256);
    await connection.send(FrameType.FILE_END, { id, sha256 });
  } catch (error) {
    await abortFile(connection, file, error, started, acks);
  } finally {
    // A read still in flight must finish before the file closes; its buffer goes back.
    const pending = await next?.catch(() => undefined);
    if (pending) pool.release(pending.buffer);
    await handle?.close();
  }
}

/** Ends a file whose source failed with FILE_ABORT; any other error ends the session. */
async function abortFile(connection: Connection, file: PlannedFile, error: unknown, started: boolean, acks: AckCollector): Promise<void> {
  if (!isSourceProblem(error)) throw error;
  const { id, offset, source } = file;
  const code = error instanceof FerryError ? error.code : ErrorCode.SOURCE_UNREADABLE;
  acks.sent(id);
  // FILE_ABORT ends a file that has started: a file that failed before it began starts first.
  if (!started) await connection.send(FrameType.FILE_START, { id, offset, size: source.size });
  await connection.send(FrameType.FILE_ABORT, { id, code, message: describeSourceProblem(error) });
}

/** Files up to this size are read ahead whole, several at once, to hide the disk's latency. */
const SMALL_FILE_BYTES = 256 * 1024;
/** Small files read ahead at most (so at most 4 MiB held). */
const READ_AHEAD_FILES = 16;

/** Reads the next small files of a plan concurrently, ahead of sending them. */
class ReadAhead {
  #plan: readonly PlannedFile[];
  #reads = new Map<number, Promise<Buffer>>();
  #next = 0;

  constructor(plan: readonly PlannedFile[]) {
    this.#plan = plan;
  }

  /** The contents of file `index` if it is small (being read, or read), else undefined. */
  take(index: number): Promise<Buffer> | undefined {
    this.#next = Math.max(this.#next, index);
    while (this.#next < this.#plan.length && this.#next < index + READ_AHEAD_FILES) {
      const file = this.#plan[this.#next]!;
      if (file.offset === 0 && file.source.size <= SMALL_FILE_BYTES) {
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
      if (bytesRead === 0) throw new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file shrank while it was sent');
      position += bytesRead;
    }
    await checkUnchanged(handle, stamp);
    return buffer;
  } finally {
    await handle.close();
  }
}

/**
 * After the last read, before FILE_END: the open file must still exist (C7) and be exactly as
 * it was opened. A rewrite in place keeps the size and mixes old and new bytes, and its mtime
 * can be put back; its change time cannot (K12).
 */
async function checkUnchanged(handle: FileHandle, opened: FileStamp): Promise<void> {
  const now = await handle.stat({ bigint: true });
  if (now.nlink === 0n) throw new IntegrityError(ErrorCode.SOURCE_CHANGED, 'the file was deleted while it was sent');
  const change = describeChange(opened, stampOf(now));
  if (change) throw new IntegrityError(ErrorCode.SOURCE_CHANGED, `the file changed while it was sent: ${change}`);
}

/** Sends a file read ahead whole: FILE_START, one DATA frame, FILE_END. */
async function sendSmallFile(
  connection: Connection,
  file: PlannedFile,
  contents: Promise<Buffer>,
  hooks: SessionHooks,
  acks: AckCollector,
): Promise<void> {
  let data: Buffer;
  try {
    data = await contents;
  } catch (error) {
    await abortFile(connection, file, error, false, acks);
    return;
  }
  const { id, source } = file;
  await connection.send(FrameType.FILE_START, { id, offset: 0, size: source.size });
  if (data.byteLength > 0) {
    await connection.sendData(data);
    hooks.onBytes(data.byteLength);
  }
  const sha256 = createHash('sha256').update(data).digest('hex');
  acks.sent(id, sha256);
  await connection.send(FrameType.FILE_END, { id, sha256 });
}

function isSourceProblem(error: unknown): boolean {
  if (error instanceof IntegrityError) return true;
  return error instanceof Error && 'syscall' in error && !(error instanceof FerryError);
}

function describeSourceProblem(error: unknown): string {
  if (error instanceof FerryError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'the file no longer exists' : `the file could not be read (${code ?? 'error'})`;
}

/** Reads the receiver's side of the transfer: one FILE_ACK per sent file, in order, then DONE. */
class AckCollector {
  saved = 0;
  failed = 0;
  bytes = 0;
  #offer: OfferSource;
  #expected: number[];
  #hooks: SessionHooks;
  #sentCount = 0;
  #ackCount = 0;
  #digests = new Map<number, string>();

  /** Where each requested file starts: what the session carries of it is its size minus this. */
  #offsets: Map<number, number>;

  constructor(offer: OfferSource, plan: readonly { readonly id: number; readonly offset: number }[], hooks: SessionHooks) {
    this.#offer = offer;
    this.#expected = plan.map((file) => file.id);
    this.#offsets = new Map(plan.map((file) => [file.id, file.offset]));
    this.#hooks = hooks;
  }

  /** Records a file as sent in full (with its digest) or aborted (without one). */
  sent(id: number, sha256?: string): void {
    if (this.#expected[this.#sentCount] !== id) return;
    this.#sentCount++;
    if (sha256) this.#digests.set(id, sha256);
  }

  async run(connection: Connection): Promise<void> {
    for (;;) {
      const incoming = await connection.read();
      if (incoming === null) throw new PeerError(ErrorCode.CONNECTION_CLOSED, 'the receiver closed the connection before it was done');
      if (incoming.kind === 'ping') continue;
      if (incoming.kind !== 'message') throw unexpectedFrame(incoming);
      if (incoming.type === FrameType.ERROR) throw peerError(incoming.message);
      if (incoming.type === FrameType.DONE) {
        if (this.#ackCount !== this.#expected.length) {
          throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'DONE before every file was acknowledged');
        }
        const { saved, failed } = incoming.message;
        // A receiver that miscounts its own acknowledgements cannot be trusted to have saved
        // what it acknowledged (S3, PROTOCOL.md §5.2).
        if (saved !== this.saved || failed !== this.failed) {
          throw new ProtocolError(
            ErrorCode.ACK_MISMATCH,
            `the receiver's DONE counts ${saved} saved and ${failed} failed, but it acknowledged ${this.saved} saved and ${this.failed} failed`,
          );
        }
        return;
      }
      if (incoming.type !== FrameType.FILE_ACK) throw unexpectedFrame(incoming);
      const ack = incoming.message;
      if (this.#ackCount >= this.#sentCount || this.#expected[this.#ackCount] !== ack.id) {
        throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, `FILE_ACK for file ${ack.id}, which is not the next one sent`);
      }
      this.#ackCount++;
      const entry = this.#offer.entries[ack.id]!;
      const size = entry.kind === 'file' ? entry.size : 0;
      const sent = this.#digests.get(ack.id);
      this.#digests.delete(ack.id);
      if (ack.ok && ack.sha256 !== sent) {
        // Saved, it says, but not what was sent (or a file that was aborted): not delivered (S3).
        this.failed++;
        this.#hooks.onFileFailed(entry.path, ErrorCode.ACK_MISMATCH);
        throw new ProtocolError(
          ErrorCode.ACK_MISMATCH,
          `the receiver acknowledged file ${ack.id} as saved with a digest that is not the one sent`,
        );
      }
      if (ack.ok) {
        this.saved++;
        // The same measure as REQUEST's total: the bytes this session carried (S6).
        this.bytes += size - (this.#offsets.get(ack.id) ?? 0);
        this.#hooks.onFileAcked(entry.path, size, ack.sha256);
      } else {
        this.failed++;
        this.#hooks.onFileFailed(entry.path, ack.code);
      }
    }
  }
}

const EXPIRED = Symbol('expired');

/** `work`'s outcome, or `onExpired`'s if `work` has not settled within `ms`. */
async function beforeDeadline<T>(work: Promise<T>, ms: number, onExpired: () => Promise<never>): Promise<T> {
  // Settled by `onExpired` closing the connection if the deadline wins.
  work.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(EXPIRED), ms);
  });
  try {
    const first = await Promise.race([work, expired]);
    if (first !== EXPIRED) return first;
  } finally {
    clearTimeout(timer);
  }
  return onExpired();
}

/** Tells the receiver it ran out of time, closes, and throws the same error. */
async function timedOut(connection: Connection, message: string): Promise<never> {
  const error = new TimeoutError(message);
  // A receiver that is not even reading what was sent is not told: it would not hear it.
  if (connection.socket.writableNeedDrain) connection.destroy(error);
  else await connection.sendErrorAndClose(error);
  throw error;
}
