import {
  Emitter,
  ErrorCode,
  escapeForDisplay,
  FerryError,
  type FileAbort,
  FrameType,
  IntegrityError,
  LIMITS,
  type Offer,
  ProtocolError,
  shouldTellPeer,
  TIMEOUTS,
  truncateUtf8,
  UnsafeOfferError,
  type ValidatedEntry,
  type ValidatedOffer,
  validateOffer,
} from '@ferry/protocol';
import { Connection, localUserName, peerError, unexpectedFrame } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { connectTo } from './connect.ts';
import { checkFreeSpace, Destination, openDestination } from './destination.ts';
import { NotFerryError } from './errors.ts';
import { FileSink } from './file-sink.ts';

/** What the user chose: which top-level items (by index), and the folder to save them in. */
export interface Decision {
  readonly items: readonly number[];
  readonly outDir: string;
}

/** A file saved and verified. */
export interface SavedFile {
  readonly path: string;
  readonly offered: string;
  readonly size: number;
  readonly sha256: string;
}

/** A file that was not saved, and why. */
export interface FailedFile {
  readonly offered: string;
  readonly code: string;
  readonly message: string;
}

/** Events a receiver emits; the UI renders them, `--json` prints them. */
export interface ReceiverEvents extends Record<string, unknown> {
  connected: { address: string };
  offer: { offer: ValidatedOffer; sender: Offer['sender'] };
  start: { outDir: string; files: number; bytes: number };
  progress: { bytes: number };
  'file-saved': SavedFile;
  'file-failed': FailedFile;
}

/** The outcome of a transfer that ran to its end (some files may still have failed). */
export interface ReceiveResult {
  readonly outDir: string | undefined;
  readonly saved: readonly SavedFile[];
  readonly failed: readonly FailedFile[];
  readonly declined: boolean;
}

/** Options of {@link createReceiver}. */
export interface ReceiverOptions {
  readonly host: string;
  readonly port: number;
  readonly name?: string;
  readonly logger: Logger;
  readonly connectTimeoutMs?: number;
  /** How long the sender has to greet and make its offer. */
  readonly handshakeMs?: number;
  /** Make each file durable on disk (fdatasync) before it gets its final name. */
  readonly fsync?: boolean;
  /** Asks the user; `null` declines the offer. */
  readonly decide: (offer: ValidatedOffer, sender: Offer['sender'], signal: AbortSignal) => Promise<Decision | null>;
  readonly signal?: AbortSignal;
}

/** A headless receiver: emits events and never writes to the terminal. */
export interface Receiver extends Emitter<ReceiverEvents> {
  run(): Promise<ReceiveResult>;
}

/** Creates a receiver for one transfer from the sender at `host:port`. */
export function createReceiver(options: ReceiverOptions): Receiver {
  const emitter = new Emitter<ReceiverEvents>();
  return Object.assign(emitter, { run: () => receive(options, emitter) });
}

async function receive(options: ReceiverOptions, events: Emitter<ReceiverEvents>): Promise<ReceiveResult> {
  const logger = options.logger.child({ component: 'receiver' });
  const { socket, setReader } = await connectTo(options.host, options.port, options.connectTimeoutMs ?? TIMEOUTS.connectMs, options.signal);
  // The sender has no user to wait for: only its data, not its PINGs, keeps the link alive.
  const connection = new Connection(socket, { externalReads: true, pingIsProgress: false });
  setReader((chunk) => connection.feed(chunk));
  const onAbort = () => connection.destroy(new FerryError(ErrorCode.CANCELLED, 'interrupted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let destination: Destination | undefined;
  try {
    const offerMessage = await handshake(connection, options);
    events.emit('connected', { address: connection.remote });
    const offer = validateOffer(offerMessage.entries);
    events.emit('offer', { offer, sender: offerMessage.sender });
    // The prompts stop if the sender goes away while the user is choosing.
    const prompts = new AbortController();
    let decision: Decision | null;
    try {
      decision = await connection.whileBusy(options.decide(offer, offerMessage.sender, prompts.signal));
    } finally {
      prompts.abort();
    }
    if (!decision || decision.items.length === 0) {
      await connection.sendErrorAndClose(new FerryError(ErrorCode.DECLINED, 'the receiver declined the offer'));
      return { outDir: undefined, saved: [], failed: [], declined: true };
    }
    const accepted = acceptedEntries(offer, decision.items);
    const files = accepted.filter((entry) => entry.kind === 'file');
    const bytes = files.reduce((sum, entry) => sum + entry.size, 0);
    const outDir = await openDestination(decision.outDir);
    await checkFreeSpace(outDir, bytes);
    destination = new Destination(outDir);
    await destination.createDirs(accepted);
    await connection.send(FrameType.REQUEST, { files: files.map((entry) => ({ id: entry.id, offset: 0 })) });
    events.emit('start', { outDir, files: files.length, bytes });
    logger.info({ files: files.length, bytes }, 'request sent');
    const result = await receiveFiles(connection, destination, files, events, logger, options.fsync ?? false);
    await connection.expect(FrameType.END);
    await connection.send(FrameType.DONE, { saved: result.saved.length, failed: result.failed.length });
    await connection.close();
    return { outDir, ...result, declined: false };
  } catch (error) {
    await destination?.cleanup();
    if (options.signal?.aborted) {
      connection.destroy();
      throw new FerryError(ErrorCode.CANCELLED, 'interrupted', { cause: error });
    }
    if (error instanceof UnsafeOfferError) {
      logger.warn({ code: error.code, path: escapeForDisplay(error.path), reason: error.message }, 'offer refused');
    }
    // Something that is not Ferry gets nothing more than our preamble.
    if (shouldTellPeer(error) && connection.greeted) await connection.sendErrorAndClose(error);
    connection.destroy();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Preamble, HELLO, OFFER; failures before a valid preamble mean "not a Ferry sender". */
async function handshake(connection: Connection, options: ReceiverOptions): Promise<Offer> {
  // One deadline for the whole greeting: the sender's preamble, then its OFFER.
  const handshakeMs = options.handshakeMs ?? TIMEOUTS.handshakeMs;
  const started = performance.now();
  try {
    await connection.readPreamble(handshakeMs);
  } catch (error) {
    const code = error instanceof FerryError ? error.code : ErrorCode.INTERNAL;
    const detail =
      code === ErrorCode.UNSUPPORTED_VERSION
        ? (error as Error).message
        : code === ErrorCode.TIMEOUT
          ? 'it did not greet like one'
          : code === ErrorCode.BAD_MAGIC
            ? 'it answered with something else'
            : 'it closed the connection without a greeting';
    throw new NotFerryError(code, `that address is not a Ferry sender: ${detail}`, { cause: error });
  }
  await connection.send(FrameType.HELLO, {
    software: 'ferry-receive/0.1.0',
    name: truncateUtf8(options.name ?? localUserName(), LIMITS.maxNameBytes),
    features: [],
  });
  return connection.expect(FrameType.OFFER, Math.max(0, handshakeMs - (performance.now() - started)));
}

/** Entries of the chosen top-level items, in offer order. */
function acceptedEntries(offer: ValidatedOffer, items: readonly number[]): ValidatedEntry[] {
  const ids = new Set(items.flatMap((index) => offer.items[index]?.entryIds ?? []));
  return offer.entries.filter((entry) => ids.has(entry.id));
}

async function receiveFiles(
  connection: Connection,
  destination: Destination,
  files: readonly ValidatedEntry[],
  events: Emitter<ReceiverEvents>,
  logger: Logger,
  fsync: boolean,
): Promise<{ saved: SavedFile[]; failed: FailedFile[] }> {
  const saved: SavedFile[] = [];
  const failed: FailedFile[] = [];
  // Files verified in memory are flushed and renamed in the background, so the disk's
  // latency overlaps the next files' bytes; acknowledgements still go out in order.
  const inFlight: Promise<void>[] = [];
  let previous: Promise<void> = Promise.resolve();
  const acknowledge = async (entry: ValidatedEntry, outcome: FailedFile | { saving: Promise<SavedFile> }, before: Promise<void>) => {
    const result = 'saving' in outcome ? await outcome.saving.catch(saveFailure(entry)) : outcome;
    await before;
    if ('code' in result) {
      failed.push(result);
      logger.warn({ file: entry.path, code: result.code }, 'file not saved');
      events.emit('file-failed', result);
      await connection.send(FrameType.FILE_ACK, { id: entry.id, ok: false, code: result.code });
    } else {
      saved.push(result);
      events.emit('file-saved', result);
      await connection.send(FrameType.FILE_ACK, { id: entry.id, ok: true, sha256: result.sha256 });
    }
  };
  try {
    for (const entry of files) {
      const start = await connection.expect(FrameType.FILE_START);
      if (start.id !== entry.id || start.offset !== 0 || start.size !== entry.size) {
        throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, `FILE_START for file ${start.id} does not match the request`);
      }
      const outcome = await receiveOne(connection, destination, entry, events, fsync);
      previous = acknowledge(entry, outcome, previous);
      previous.catch(() => {}); // Observed below, in order.
      inFlight.push(previous);
      if (inFlight.length >= MAX_SAVING) await connection.whileBusy(inFlight.shift()!);
    }
    await connection.whileBusy(Promise.all(inFlight));
  } finally {
    // Never leave a save running behind a failure: cleanup must see what it left.
    await Promise.allSettled(inFlight);
  }
  return { saved, failed };
}

/** Files verified and waiting for their data to be flushed and renamed, at most. */
const MAX_SAVING = 16;

/** Receives one file's DATA up to FILE_END or FILE_ABORT; saves it only if it verifies. */
async function receiveOne(
  connection: Connection,
  destination: Destination,
  entry: ValidatedEntry,
  events: Emitter<ReceiverEvents>,
  fsync: boolean,
): Promise<FailedFile | { saving: Promise<SavedFile> }> {
  const { handle, tempPath } = await destination.openTemp(entry).catch((error: unknown) => {
    throw asWriteError(error);
  });
  const sink = new FileSink(handle, entry.size);
  try {
    for (;;) {
      const incoming = await connection.read();
      if (incoming === null) throw new ProtocolError(ErrorCode.TRUNCATED, 'the sender closed the connection mid-file');
      if (incoming.kind === 'ping') continue;
      if (incoming.kind === 'data') {
        if (incoming.bytes.byteLength > sink.expected - sink.received) {
          throw new IntegrityError(ErrorCode.SIZE_MISMATCH, `the sender sent more than the ${entry.size} bytes it announced`);
        }
        const wait = sink.write(incoming.bytes, incoming.release);
        events.emit('progress', { bytes: incoming.bytes.byteLength });
        if (wait) await wait;
        continue;
      }
      if (incoming.type === FrameType.FILE_ABORT && incoming.message.id === entry.id) {
        await sink.abort();
        await destination.discard(tempPath);
        return aborted(entry, incoming.message);
      }
      if (incoming.type === FrameType.FILE_END && incoming.message.id === entry.id) {
        if (sink.received !== entry.size) {
          await sink.abort();
          await destination.discard(tempPath);
          return { offered: entry.path, code: ErrorCode.SIZE_MISMATCH, message: `only ${sink.received} of ${entry.size} bytes arrived` };
        }
        const sha256 = sink.digest();
        if (sha256 !== incoming.message.sha256) {
          await sink.abort();
          await destination.discard(tempPath);
          return { offered: entry.path, code: ErrorCode.DIGEST_MISMATCH, message: 'the file arrived damaged (SHA-256 mismatch)' };
        }
        // Wrapped: an async function returning a promise would wait for it.
        const saving = save(sink, destination, entry, tempPath, sha256, fsync);
        saving.catch(() => {}); // Observed by the caller, in order.
        return { saving };
      }
      if (incoming.type === FrameType.ERROR) throw peerError(incoming.message);
      throw unexpectedFrame(incoming);
    }
  } catch (error) {
    await sink.abort();
    await destination.discard(tempPath);
    throw asWriteError(error);
  }
}

/** A disk error while saving becomes a typed error the sender is told about. */
function asWriteError(error: unknown): unknown {
  if (error instanceof FerryError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new FerryError(ErrorCode.NO_SPACE, 'the receiving disk is full', { cause: error });
  }
  if (code === undefined) return error;
  return new FerryError(ErrorCode.WRITE_FAILED, `the receiver could not write the file (${code})`, { cause: error });
}

/** Flushes a verified file and gives it its final name; on failure nothing is left of it. */
async function save(
  sink: FileSink,
  destination: Destination,
  entry: ValidatedEntry,
  tempPath: string,
  sha256: string,
  fsync: boolean,
): Promise<SavedFile> {
  try {
    await sink.finish(fsync);
    const path = await destination.finalize(entry, tempPath);
    return { path, offered: entry.path, size: entry.size, sha256 };
  } catch (error) {
    await sink.abort();
    await destination.discard(tempPath);
    throw asWriteError(error);
  }
}

function aborted(entry: ValidatedEntry, message: FileAbort): FailedFile {
  return { offered: entry.path, code: message.code, message: message.message };
}


/** A file that could not be flushed or named is reported as not saved; the transfer goes on. */
function saveFailure(entry: ValidatedEntry): (error: unknown) => FailedFile {
  return (error) => {
    if (error instanceof FerryError && (error.code === ErrorCode.NO_SPACE || error.code === ErrorCode.WRITE_FAILED)) {
      return { offered: entry.path, code: error.code, message: error.message };
    }
    throw error;
  };
}
