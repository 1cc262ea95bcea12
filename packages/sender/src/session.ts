import os from 'node:os';
import { formatDuration } from '@ferry/cli';
import { type FileFrames, type OfferSource, type PlannedFile, planRequest, plannedBytes, SentFiles, sendPlannedFiles } from '@ferry/engine';
import {
  CHAT_FEATURE,
  DATA_CHUNK_BYTES,
  FRAME_HEADER_BYTES,
  ErrorCode,
  FerryError,
  FrameType,
  type Hello,
  LIMITS,
  PeerError,
  ProtocolError,
  RESUME_FEATURE,
  shouldTellPeer,
  TIMEOUTS,
  TimeoutError,
  truncateUtf8,
} from '@ferry/protocol';
import { type Connection, peerError, unexpectedFrame } from '@ferry/protocol/node';
import type { Logger } from 'pino';

/** What a session reports to the sender as it goes. */
export interface SessionHooks {
  onHello(hello: Hello): void;
  onRequest(files: number, bytes: number): void;
  onBytes(bytes: number): void;
  onFileAcked(path: string, size: number, sha256: string): void;
  onFileFailed(path: string, code: string): void;
  /** The prefixes the receiver holds were compared: `files` matched, and `bytes` are not sent again. */
  onResumed(files: number, bytes: number): void;
  /** A resumed file's prefix did not match: it goes out whole from byte 0, `bytes` more than planned. */
  onRestarted(path: string, bytes: number): void;
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
  /**
   * Resuming is offered (§13) when HELLO lists it: this gives the ticket OFFER carries (64 hex
   * digits, or '' in clear). Without it the sender never offers resuming.
   */
  readonly resumeTicket?: (() => string) | undefined;
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
  if (hello.features.includes(CHAT_FEATURE)) {
    // A receiver that asked for a conversation is told at once that this is not one (§12.1).
    throw new FerryError(ErrorCode.MODE_MISMATCH, 'this sender only sends files, it holds no conversation: run ferry-receive without --chat');
  }
  hooks.onHello(hello);
  const resume = options.resumeTicket !== undefined && hello.features.includes(RESUME_FEATURE);
  // One deadline from HELLO to REQUEST, over sending the OFFER too: a receiver that reads the
  // OFFER slowly holds its place no longer than one that reads it at once (K3).
  const decidingMs = options.decidingMs ?? TIMEOUTS.decidingMs;
  const request = await beforeDeadline(
    (async () => {
      await connection.send(FrameType.OFFER, {
        session: options.session,
        sender: { name: truncateUtf8(options.name, LIMITS.maxNameBytes), host: truncateUtf8(os.hostname(), LIMITS.maxNameBytes) },
        entries: [...offer.entries],
        // Only to a receiver that listed resume: others refuse a field they do not know (§9).
        ...(resume ? { resume: { ticket: options.resumeTicket!() } } : {}),
      });
      // However short our --timeout, as long as the receiver PINGs while its user chooses.
      return connection.whilePeerBusy(() => connection.expect(FrameType.REQUEST));
    })(),
    decidingMs,
    () => timedOut(connection, `no choice was made within ${formatDuration(decidingMs / 1000)} of the offer; connect again to choose`),
  );
  const plan = planRequest(offer, request.files, { resume });
  hooks.onRequest(plan.length, plannedBytes(plan));
  logger.debug({ files: plan.length }, 'request accepted');

  const acks = new SentFiles(offer, plan, hooks);
  const reading = readAcks(connection, acks);
  const prefixes = new PrefixTally(plan, hooks);
  const offsets = new Map(plan.map((file) => [file.id, file.offset]));
  const sending = (async () => {
    const onBytes = (bytes: number) => hooks.onBytes(bytes);
    const onSent = (id: number, sha256?: string) => {
      prefixes.concluded(id);
      acks.sent(id, sha256);
    };
    const onResumed = (id: number, bytes: number) => prefixes.matched(id, bytes);
    const onRestarted = (id: number) => {
      acks.restarted(id);
      hooks.onRestarted(offer.entries[id]!.path, offsets.get(id) ?? 0);
      prefixes.concluded(id);
    };
    await sendPlannedFiles(
      fileFrames(connection),
      plan,
      { onBytes, onSent, onResumed, onRestarted },
      // Hashing a resumed file's prefix sends nothing: PINGs keep the link alive meanwhile (§7).
      { headerRoom: FRAME_HEADER_BYTES, chunkBytes: DATA_CHUNK_BYTES, busy: (work) => connection.whileBusy(work) },
    );
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

/**
 * Counts a request's prefix items as the sender compares them, and tells the hooks once, when
 * the last of them is settled (matched, started over, or aborted), how many matched and the
 * bytes that are therefore not sent again.
 */
class PrefixTally {
  readonly #pending: Set<number>;
  readonly #hooks: SessionHooks;
  #files = 0;
  #bytes = 0;

  constructor(plan: readonly PlannedFile[], hooks: SessionHooks) {
    this.#pending = new Set(plan.flatMap((file) => (file.prefix === undefined ? [] : [file.id])));
    this.#hooks = hooks;
  }

  matched(id: number, bytes: number): void {
    this.#files++;
    this.#bytes += bytes;
    this.concluded(id);
  }

  concluded(id: number): void {
    if (!this.#pending.delete(id) || this.#pending.size > 0) return;
    if (this.#files > 0) this.#hooks.onResumed(this.#files, this.#bytes);
  }
}

/** One-way transfer frames over the connection: FILE_START, DATA, FILE_END, FILE_ABORT. */
function fileFrames(connection: Connection): FileFrames {
  return {
    start: (file) => connection.send(FrameType.FILE_START, file),
    data: (frame, release) => connection.sendDataInPlace(frame, release),
    dataCopy: (bytes, release) => connection.sendData(bytes, release),
    end: (file) => connection.send(FrameType.FILE_END, file),
    abort: (file) => connection.send(FrameType.FILE_ABORT, file),
  };
}

/** Reads the receiver's side of the transfer: one FILE_ACK per sent file, in order, then DONE. */
async function readAcks(connection: Connection, acks: SentFiles): Promise<void> {
  for (;;) {
    const incoming = await connection.read();
    if (incoming === null) throw new PeerError(ErrorCode.CONNECTION_CLOSED, 'the receiver closed the connection before it was done');
    if (incoming.kind === 'ping') continue;
    if (incoming.kind !== 'message') throw unexpectedFrame(incoming);
    if (incoming.type === FrameType.ERROR) throw peerError(incoming.message);
    if (incoming.type === FrameType.DONE) {
      if (!acks.complete) throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'DONE before every file was acknowledged');
      const { saved, failed } = incoming.message;
      // A receiver that miscounts its own acknowledgements cannot be trusted to have saved
      // what it acknowledged (S3, PROTOCOL.md §5.2).
      if (saved !== acks.saved || failed !== acks.failed) {
        throw new ProtocolError(
          ErrorCode.ACK_MISMATCH,
          `the receiver's DONE counts ${saved} saved and ${failed} failed, but it acknowledged ${acks.saved} saved and ${acks.failed} failed`,
        );
      }
      return;
    }
    if (incoming.type !== FrameType.FILE_ACK) throw unexpectedFrame(incoming);
    acks.acknowledge(incoming.message);
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
