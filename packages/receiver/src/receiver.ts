import type { Socket } from 'node:net';
import {
  type Destination,
  DestinationError,
  type DestinationReport,
  type FailedFile,
  type IncomingFile,
  type Inspection,
  inspectDestination,
  openStartedFile,
  type PathLimits,
  type PresentFile,
  type SavedFile,
  type SavingFile,
  prepareAgain,
  prepareReceiving,
  type ResumeOptions,
  startMatches,
} from '@ferry/engine';
import {
  AuthError,
  ConnectionClosedError,
  Emitter,
  ErrorCode,
  escapeForDisplay,
  FerryError,
  FrameType,
  LIMITS,
  type Offer,
  ProtocolError,
  RESUME_FEATURE,
  shouldTellPeer,
  TIMEOUTS,
  truncateUtf8,
  UnsafeOfferError,
  type ValidatedEntry,
  type ValidatedOffer,
  localNamesFor,
  type Renamed,
  validateOffer,
} from '@ferry/protocol';
import {
  Connection,
  canReadIntoUserBuffer,
  Deadline,
  type AuthMethod,
  derivePasswordScalar,
  exchangePreamble,
  fingerprintHex,
  type Identity,
  localUserName,
  peerError,
  readIntoUserBuffer,
  rememberedName,
  type Secured,
  secureClient,
  shortFingerprint,
  type TrustStore,
  unexpectedFrame,
} from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { type ConnectedSocket, connectTo } from './connect.ts';
import { NotFerryError, ResumeStoppedError } from './errors.ts';
import { PauseSwitch } from './pause.ts';
import { type Outcomes, type Round, transferWithReconnect } from './reconnect.ts';

/** What the user chose: which top-level items (by index), and the folder to save them in. */
export interface Decision {
  readonly items: readonly number[];
  readonly outDir: string;
  /** The inspection of `outDir` for `items` the user saw, if any; otherwise it is made now. */
  readonly inspection?: Inspection | undefined;
  /**
   * Resume from the partial data found there (`resume-found`): the default. False deletes it
   * and starts those files fresh.
   */
  readonly resume?: boolean | undefined;
}

/** Checks a folder for the chosen items and reports it (the `report` event); see inspectDestination. */
export type Inspect = (items: readonly number[], outDir: string) => Promise<Inspection>;

/** Events a receiver emits; the UI renders them, `--json` prints them. */
export interface ReceiverEvents extends Record<string, unknown> {
  /** The sender wants a pairing code and none was given yet: the user is asked next. */
  'code-needed': { fingerprint: string };
  /** The link is secured: how the sender proved itself, and its key. */
  secured: {
    encrypted: boolean;
    method: AuthMethod | undefined;
    fingerprint: string | undefined;
    /** For a sender let in by key: the name this user remembered it under (not the one it claims). */
    rememberedAs?: string | undefined;
  };
  /** `failed`: the list could not be read or saved; `reason` says why and how to fix it. */
  remembered: {
    name: string;
    fingerprint: string;
    result: 'added' | 'updated' | 'conflict' | 'failed';
    reason?: string;
  };
  /** A TCP connection to the sender is up (the first event; again after `code-needed`). */
  connected: { address: string };
  /** `renamed`: names this system cannot store, and the name each is saved under; `folders`: how many the offer creates. */
  offer: {
    offer: ValidatedOffer;
    sender: Offer['sender'];
    renamed: readonly Renamed[];
    folders: number;
  };
  /** Before accepting: what saving the chosen items into the chosen folder would do (U9). */
  report: DestinationReport;
  /** `bytes`: the requested files' full size; `resumedBytes` of it are held already and not sent again; `presentFiles` are asked about as already there. */
  start: {
    outDir: string;
    files: number;
    bytes: number;
    resumedBytes: number;
    presentFiles: number;
  };
  progress: { bytes: number };
  'file-saved': SavedFile;
  'file-failed': FailedFile;
  /** Partial data of this sender was found in the folder (before the user accepts). */
  'resume-found': { files: number; heldBytes: number; totalBytes: number };
  /** The file was already there whole (same path, size and digest): nothing was written. */
  'file-present': { path: string; offered: string; size: number; sha256: string };
  /** The sender starts a file over from byte 0: it changed since the interrupted transfer, or the part kept here differs. */
  /** `changed`: the part kept here is not the sender's file now; `differs`: a file of that name here is another file. */
  'file-restarted': { offered: string; reason: 'changed' | 'differs' };
  /** The connection to the sender was lost; reconnecting for up to `retryMs`. */
  'connection-lost': { code: string; message: string; retryMs: number };
  /** Trying to reconnect, after waiting `delayMs`. */
  reconnecting: { attempt: number; delayMs: number };
  /** The user paused the transfer (see Receiver.pause): `files` are not concluded yet. */
  paused: { files: number };
  /** A file's bytes begin: from `offset` (what is held here), `size` in all. */
  'file-started': { id: number; offered: string; size: number; offset: number };
  /** Reconnected: `files` continue, `heldBytes` are not sent again. */
  resumed: { files: number; heldBytes: number };
  /** The transfer stopped midway: its partial data stays in `dir` for a rerun to resume (or --clean). */
  'partial-kept': { dir: string; files: number; heldBytes: number };
}

/** The outcome of a transfer that ran to its end (some files may still have failed). */
export interface ReceiveResult {
  readonly outDir: string | undefined;
  readonly saved: readonly SavedFile[];
  readonly failed: readonly FailedFile[];
  /** Files already there whole: nothing was written for them. */
  readonly present: readonly PresentFile[];
  readonly declined: boolean;
}

/**
 * What a sender that honours resuming gave in its OFFER, kept in memory only (never written,
 * never logged): enough to reconnect to it and find the transfer again.
 */
export interface OfferedResume {
  /** The reconnection ticket (64 hex digits; empty in clear). A secret. */
  readonly ticket: string;
  readonly session: string;
  /** The sender key's full fingerprint (64 hex digits); empty in clear. */
  readonly senderKey: string;
}

/** How the connection is secured: TLS with pairing by default; in clear only when asked for. */
export type ReceiverSecurity =
  | { readonly encryption: false }
  | {
      readonly encryption: true;
      readonly identity: Identity;
      readonly trust?: TrustStore | undefined;
      /** The pairing code's digits, if the user gave them up front (environment or stdin). */
      readonly code?: string | undefined;
      /** Asks the user for the code when the sender wants one; null if nobody can answer. */
      readonly askCode?: ((signal?: AbortSignal) => Promise<string | null>) | undefined;
      /** Remember the sender after pairing with a code. */
      readonly remember?: boolean;
      /** A sender found on the network: the key it announced, checked before any AUTH (§14). */
      readonly announcedKey?: { readonly hint: string; readonly sender: string } | undefined;
      /**
       * A ticket an earlier run got from this sender (Receiver.offered), proved on the first
       * connection instead of a code (§13.4); a sender that no longer holds it asks for the code.
       */
      readonly resumeWith?: OfferedResume | undefined;
    };

/** Options of {@link createReceiver}. */
export interface ReceiverOptions {
  readonly security: ReceiverSecurity;
  readonly host: string;
  readonly port: number;
  readonly name?: string;
  readonly logger: Logger;
  readonly connectTimeoutMs?: number;
  /** How long the sender has to greet and make its offer. */
  readonly handshakeMs?: number;
  /** No data from the sender for this long ends the transfer. */
  readonly idleMs?: number;
  /** A frame from the sender must be complete within this long, however it trickles in. */
  readonly frameMs?: number;
  /** Make each file durable on disk (fdatasync) before it gets its final name. */
  readonly fsync?: boolean;
  /** The system names are stored for (a `process.platform` value); this one by default. */
  readonly platform?: string;
  /**
   * Asks the user; `null` declines the offer (the user chose nothing), `'cancelled'` says the
   * user interrupted the question (Ctrl-C). `inspect` checks a folder and reports on it.
   */
  readonly decide: (
    offer: ValidatedOffer,
    sender: Offer['sender'],
    signal: AbortSignal,
    inspect: Inspect,
  ) => Promise<Decision | 'cancelled' | null>;
  /** How often PING goes out while this side is busy; `TIMEOUTS.keepaliveMs` by default. */
  readonly keepaliveMs?: number;
  /** The destination's path limits, when they cannot be found from the folder (and in tests). */
  readonly pathLimits?: PathLimits;
  /**
   * How long to keep reconnecting after the connection breaks mid-transfer (§13); 0 turns it
   * off. `RESUME.retryMs` by default.
   */
  readonly retryMs?: number;
  /** The first wait before reconnecting, and the longest; RESUME's backoff by default. */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number };
  readonly signal?: AbortSignal;
}

/** A headless receiver: emits events and never writes to the terminal. */
export interface Receiver extends Emitter<ReceiverEvents> {
  run(): Promise<ReceiveResult>;
  /** What the sender gave for resuming, once its OFFER arrived with `resume`; in memory only. */
  readonly offered: OfferedResume | undefined;
  /**
   * Pauses the transfer: the connection closes as if cut, the partial data and ticket kept
   * (§13.9). False when nothing can be paused: not transferring, or a sender without tickets.
   */
  pause(): boolean;
  /** Resumes a paused transfer by reconnecting with the ticket; false when not paused. */
  resume(): boolean;
  /** Whether `pause()` would pause now. */
  readonly pausable: boolean;
}

/** Creates a receiver for one transfer from the sender at `host:port`. */
export function createReceiver(options: ReceiverOptions): Receiver {
  const emitter = new Emitter<ReceiverEvents>();
  const pause = new PauseSwitch();
  const memory: Memory = { pause };
  const receiver = Object.assign(emitter, {
    run: () => receive(options, emitter, memory),
    pause: () => pause.pause(),
    resume: () => pause.resume(),
  });
  Object.defineProperty(receiver, 'pausable', { get: () => pause.pausable, enumerable: false });
  return Object.defineProperty(receiver, 'offered', {
    get: () => memory.offered,
    // Holds the ticket, a secret: left out of anything that lists or prints the receiver.
    enumerable: false,
  }) as Receiver;
}

/** What a run leaves for its receiver object: the ticket, and the pause switch it arms. */
interface Memory {
  offered?: OfferedResume;
  readonly pause: PauseSwitch;
}

async function receive(
  options: ReceiverOptions,
  events: Emitter<ReceiverEvents>,
  memory: Memory,
): Promise<ReceiveResult> {
  const logger = options.logger.child({ component: 'receiver' });
  const { connection, deadline, secured } = await openSecured(options, events, logger);
  // The connection in use: after a reconnect (§13), the new one.
  const link = { connection };
  const onAbort = () => link.connection.destroy(new FerryError(ErrorCode.CANCELLED, 'interrupted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let destination: Destination | undefined;
  let requested = false;
  try {
    const offerMessage = await handshake(connection, options, deadline);
    // DECIDING (PROTOCOL.md §5.1): until REQUEST, the sender may send nothing but PING.
    connection.requirePeerSilence();
    deadline.clear();
    const security = options.security;
    if (
      security.encryption &&
      security.remember &&
      security.trust &&
      secured.peer?.method === 'code'
    ) {
      await rememberSender(
        security.trust,
        offerMessage.sender,
        secured.peer.fingerprint,
        options.host,
        events,
        logger,
      );
    }
    const offer = validateOffer(offerMessage.entries);
    // A sender that honours prefixes (§13) says so with `resume`; any other gets offsets 0 only.
    const resumeFor = resumeOptions(offerMessage, secured);
    if ('resume' in offerMessage) {
      memory.offered = hideTicket({
        ticket: offerMessage.resume.ticket,
        session: offerMessage.session,
        senderKey: resumeFor?.senderKey ?? '',
      });
    }
    // Names this system cannot store are saved under the names shown now, never renamed silently.
    const local = localNamesFor(offer.entries, options.platform ?? process.platform);
    // Folders cost disk and time whatever the sizes say (K4): validation counts them, up to maxFolders.
    events.emit('offer', {
      offer,
      sender: offerMessage.sender,
      renamed: local.renamed,
      folders: offer.folderCount,
    });
    const inspect: Inspect = async (items, outDir) => {
      const inspection = await inspectDestination(offer, items, outDir, {
        localPaths: local.paths,
        renamed: local.renamed,
        limits: options.pathLimits,
        resume: resumeFor,
      });
      events.emit('report', inspection.report);
      const resumable = inspection.report.resumable;
      if (resumable)
        events.emit('resume-found', {
          files: resumable.files,
          heldBytes: resumable.heldBytes,
          totalBytes: resumable.totalBytes,
        });
      return inspection;
    };
    // The prompts stop if the sender goes away while the user is choosing.
    const prompts = new AbortController();
    let decision: Decision | 'cancelled' | null;
    // The socket stays open when the sender half-closes (see connectTo); a sender that ends its
    // side before it has anything to send is gone, so the user is not kept choosing for nothing.
    const onSenderEnd = () => connection.destroy(new ConnectionClosedError('the sender went away'));
    connection.socket.once('end', onSenderEnd);
    if (connection.socket.readableEnded) onSenderEnd();
    try {
      decision = await connection.whileBusy(
        options.decide(offer, offerMessage.sender, prompts.signal, inspect),
      );
    } finally {
      connection.socket.off('end', onSenderEnd);
      prompts.abort();
    }
    if (decision === 'cancelled') {
      // The sender tells its user the receiver was interrupted, not that it chose nothing.
      await connection.sendErrorAndClose(
        new FerryError(ErrorCode.CANCELLED, 'the receiver was cancelled before choosing'),
      );
      return { outDir: undefined, saved: [], failed: [], present: [], declined: true };
    }
    if (!decision || decision.items.length === 0) {
      await connection.sendErrorAndClose(
        new FerryError(ErrorCode.DECLINED, 'the receiver declined the offer'),
      );
      return { outDir: undefined, saved: [], failed: [], present: [], declined: true };
    }
    // Checking and creating many folders takes a while: PINGs keep the sender waiting (K5).
    const inspection =
      decision.inspection ?? (await connection.whileBusy(inspect(decision.items, decision.outDir)));
    // Entries this folder cannot hold fail alone, before anything is requested (K9).
    // Held prefixes are hashed from disk here, PINGs going out meanwhile (§13).
    const prepared = await prepareReceiving(inspection, (work) => connection.whileBusy(work), {
      resume: decision.resume ?? true,
    });
    destination = prepared.destination;
    const { outDir, files, bytes, notSaved } = prepared;
    connection.releasePeerSilence();
    await connection.send(FrameType.REQUEST, { files: [...prepared.requests] });
    requested = true;
    const presentFiles = prepared.requests.filter(
      (item) => prepared.held.get(item.id)?.presentAt !== undefined,
    ).length;
    events.emit('start', {
      outDir,
      files: files.length,
      bytes,
      resumedBytes: prepared.resumed.heldBytes,
      presentFiles,
    });
    for (const failure of notSaved) events.emit('file-failed', failure);
    for (const file of prepared.present) events.emit('file-present', presentEvent(file));
    logger.info(
      {
        files: files.length,
        bytes,
        notSaved: notSaved.length,
        resumed: prepared.resumed.files,
        present: presentFiles,
      },
      'request sent',
    );
    const fsync = options.fsync ?? false;
    // Each file's outcome, across every connection the transfer takes.
    const outcomes: Outcomes = {
      saved: [],
      present: [...prepared.present],
      failed: [],
      concluded: new Set(),
    };
    const busy = <T>(work: Promise<T>) => link.connection.whileBusy(work);
    await transferWithReconnect({
      options,
      events,
      logger,
      link,
      offer: offerMessage,
      senderKey: secured.peer?.fingerprint,
      first: prepared,
      outcomes,
      receive: (on, round) => receiveFiles(on, round, outcomes, events, logger, fsync),
      // After a reconnect, the same proof of what is held as a rerun makes, nobody asked.
      plan: async (files) => ({
        destination: prepared.destination,
        ...(await prepareAgain(prepared, files, busy)),
      }),
      reconnect: (resume, connectTimeoutMs) => reopen(options, resume, connectTimeoutMs),
      pause: memory.pause,
    });
    // Every file is concluded: the partial data has served, but for a file whose source the
    // sender could not read, kept to resume from.
    const kept = await prepared.destination.complete().catch((error: unknown) => {
      logger.warn({ err: error }, 'could not remove the partial folder');
      return undefined;
    });
    if (kept) events.emit('partial-kept', kept);
    return {
      outDir,
      saved: outcomes.saved,
      failed: [...notSaved, ...outcomes.failed],
      present: outcomes.present,
      declined: false,
    };
  } catch (error) {
    deadline.clear();
    // After REQUEST, what was received stays to resume from; before, nothing of this run is left.
    const kept = requested ? await destination?.keep().catch(() => undefined) : undefined;
    if (kept) events.emit('partial-kept', kept);
    else await destination?.cleanup();
    const current = link.connection;
    if (options.signal?.aborted) {
      current.destroy();
      throw new FerryError(ErrorCode.CANCELLED, 'interrupted', { cause: error });
    }
    if (error instanceof UnsafeOfferError) {
      logger.warn(
        { code: error.code, path: escapeForDisplay(error.path), reason: error.message },
        'offer refused',
      );
    }
    // Something that is not Ferry gets nothing more than our preamble; a sender never learns
    // this machine's paths, so a problem with the folder is told in general words.
    if (shouldTellPeer(error) && current.greeted)
      await current.sendErrorAndClose(forThePeer(error));
    current.destroy();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Connects and secures the link: preambles, then TLS and authentication unless both sides
 * turned encryption off. When the sender wants a code the user has not given, the connection
 * is closed while the user is asked (no stranger's connection waits on a person), and a second
 * connection must show the same sender key.
 */
export async function openSecured(
  options: ReceiverOptions,
  events: Emitter<ReceiverEvents>,
  logger: Logger,
): Promise<{ connection: Connection; deadline: Deadline; secured: Secured }> {
  const security = options.security;
  let password =
    security.encryption && security.code !== undefined
      ? await derivePasswordScalar(security.code)
      : undefined;
  let expectFingerprint: Uint8Array | undefined;
  // An earlier run's ticket is tried once, on the first connection, and only with its key.
  const earlier = security.encryption ? security.resumeWith : undefined;
  let ticket =
    earlier && earlier.ticket !== '' && earlier.senderKey !== ''
      ? Buffer.from(earlier.ticket, 'hex')
      : undefined;
  if (ticket && earlier) expectFingerprint = Buffer.from(earlier.senderKey, 'hex');
  for (;;) {
    const opened = await throughPreamble(
      options,
      options.connectTimeoutMs ?? TIMEOUTS.connectMs,
      // Each TCP connection is announced before it is secured (S6): a second one follows code-needed.
      (socket) => events.emit('connected', { address: Connection.describeRemote(socket) }),
      async (connected, leftover, deadline) => {
        if (!security.encryption) {
          const connection = connectionInClear(connected, leftover, options);
          events.emit('secured', { encrypted: false, method: undefined, fingerprint: undefined });
          const secured: Secured = { socket: connected.socket, encrypted: false, peer: undefined };
          return { connection, deadline, secured };
        }
        const outcome = await secureClient(
          connected.socket,
          {
            identity: security.identity,
            trust: security.trust,
            host: options.host,
            password,
            expectFingerprint,
            announcedKey: security.announcedKey,
            ticket,
          },
          deadline,
        );
        ticket = undefined;
        if (outcome.kind === 'secured') {
          const { secured } = outcome;
          const connection = connectionOverTls(secured.socket, options);
          const fingerprint = secured.peer ? shortFingerprint(secured.peer.fingerprint) : undefined;
          logger.info({ method: secured.peer?.method, key: fingerprint }, 'sender authenticated');
          events.emit('secured', {
            encrypted: true,
            method: secured.peer?.method,
            fingerprint,
            rememberedAs: secured.peer?.rememberedAs,
          });
          return { connection, deadline, secured };
        }
        deadline.clear();
        if (password !== undefined)
          throw new ProtocolError(
            ErrorCode.UNEXPECTED_FRAME,
            'the sender asked for a pairing code twice',
          );
        events.emit('code-needed', { fingerprint: shortFingerprint(outcome.fingerprint) });
        const code = security.askCode ? await security.askCode(options.signal) : null;
        if (options.signal?.aborted) throw new FerryError(ErrorCode.CANCELLED, 'interrupted');
        if (code === null) {
          throw new AuthError(
            ErrorCode.CODE_REQUIRED,
            'the sender needs its pairing code: set FERRY_CODE, or pass --code-stdin and write the code to stdin',
          );
        }
        password = await derivePasswordScalar(code);
        expectFingerprint = outcome.fingerprint;
        return undefined;
      },
    );
    if (opened) return opened;
  }
}

/**
 * Connects again after the connection broke mid-transfer (§13): preambles, then TLS proving the
 * ticket (AUTH `resume`) to the sender key seen first, or nothing more in clear; then HELLO and
 * the sender's OFFER. Nothing is shown and nobody is asked: a sender that wants a code no
 * longer knows this transfer, which stops it.
 */
export function reopen(
  options: ReceiverOptions,
  resume: { readonly ticket: string; readonly fingerprint: Uint8Array | undefined },
  connectTimeoutMs: number,
): Promise<{ connection: Connection; offer: Offer }> {
  return reopenSecured(
    options,
    resume,
    connectTimeoutMs,
    'the sender no longer knows this transfer (it was restarted?): run ferry-receive again with its new code to resume',
    async (connection, deadline) => ({
      connection,
      offer: await handshake(connection, options, deadline),
    }),
  );
}

/**
 * The secured part of a reconnection, for a transfer or a conversation: preambles, then TLS
 * proving `resume.ticket` to the key seen first (in clear, nothing more), then `greet` within
 * the greeting's deadline. A peer that wants a code instead stops it (`forgotten`).
 */
export async function reopenSecured<T>(
  options: ReceiverOptions,
  resume: { readonly ticket: string; readonly fingerprint: Uint8Array | undefined },
  connectTimeoutMs: number,
  forgotten: string,
  greet: (connection: Connection, deadline: Deadline) => Promise<T>,
): Promise<T> {
  const security = options.security;
  return throughPreamble(
    options,
    connectTimeoutMs,
    undefined,
    async (connected, leftover, deadline) => {
      let connection: Connection;
      if (!security.encryption) connection = connectionInClear(connected, leftover, options);
      else {
        // The ticket goes only to the key it came from: another key is ERR_KEY_CHANGED (D6).
        const outcome = await secureClient(
          connected.socket,
          {
            identity: security.identity,
            host: options.host,
            expectFingerprint: resume.fingerprint,
            ticket: Buffer.from(resume.ticket, 'hex'),
          },
          deadline,
        );
        if (outcome.kind !== 'secured')
          throw new ResumeStoppedError(ErrorCode.CODE_REQUIRED, forgotten);
        connection = connectionOverTls(outcome.secured.socket, options);
      }
      try {
        const greeted = await greet(connection, deadline);
        deadline.clear();
        return greeted;
      } catch (error) {
        connection.destroy();
        throw error;
      }
    },
  );
}

/**
 * One TCP connection to the sender, through both preambles, under one deadline for the whole
 * greeting; `secure` does the rest (TLS, authentication, HELLO) within it. On any failure the
 * deadline is cleared and the socket closed; Ctrl-C is reported as an interruption.
 */
async function throughPreamble<T>(
  options: ReceiverOptions,
  connectTimeoutMs: number,
  onConnected: ((socket: Socket) => void) | undefined,
  secure: (connected: ConnectedSocket, leftover: Uint8Array, deadline: Deadline) => Promise<T>,
): Promise<T> {
  const encryption = options.security.encryption;
  const connected = await connectTo(options.host, options.port, connectTimeoutMs, {
    signal: options.signal,
    onread: !encryption,
  });
  onConnected?.(connected.socket);
  const deadline = new Deadline(
    options.handshakeMs ?? TIMEOUTS.handshakeMs,
    connected.socket,
    'the sender did not complete its greeting in time',
  );
  const onAbort = () =>
    connected.socket.destroy(new FerryError(ErrorCode.CANCELLED, 'interrupted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { leftover } = await exchangePreamble(connected, 'client', encryption, deadline).catch(
      (error: unknown) => {
        throw notFerry(error);
      },
    );
    return await secure(connected, leftover, deadline);
  } catch (error) {
    deadline.clear();
    connected.socket.destroy();
    if (options.signal?.aborted)
      throw new FerryError(ErrorCode.CANCELLED, 'interrupted', { cause: error });
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The application connection in clear: reads go from the socket's one buffer to frames. */
function connectionInClear(
  connected: ConnectedSocket,
  leftover: Uint8Array,
  options: ReceiverOptions,
): Connection {
  // The sender has no user to wait for: only its data, not its PINGs, keeps the link alive.
  const connection = new Connection(connected.socket, {
    ...waits(options),
    externalReads: true,
    pingIsProgress: false,
    preambleDone: true,
  });
  // Defined: the socket was opened with `onread` because encryption is off.
  connected.setReader!((chunk) => connection.feed(chunk));
  if (leftover.byteLength > 0) connection.feed(leftover);
  return connection;
}

/** Bytes a TLS socket may decrypt into at once: one TLS record is at most 16 KiB. */
const TLS_READ_BUFFER_BYTES = 64 * 1024;

/**
 * The application connection over an authenticated TLS socket. Records are decrypted into one
 * reused buffer where Node allows it (see readIntoUserBuffer); otherwise each 16 KiB record
 * arrives in a buffer of its own, and DATA is gathered into 1 MiB slabs for the file.
 */
function connectionOverTls(socket: Socket, options: ReceiverOptions): Connection {
  const base = { ...waits(options), pingIsProgress: false, preambleDone: true };
  if (!canReadIntoUserBuffer(socket)) return new Connection(socket, { ...base, coalesce: true });
  const connection = new Connection(socket, { ...base, externalReads: true });
  readIntoUserBuffer(socket, Buffer.allocUnsafeSlow(TLS_READ_BUFFER_BYTES), (chunk) =>
    connection.feed(chunk),
  );
  return connection;
}

/** The connection's idle timeout and per-frame deadline. */
function waits(options: ReceiverOptions): { idleMs: number; frameMs: number; keepaliveMs: number } {
  return {
    idleMs: options.idleMs ?? TIMEOUTS.idleMs,
    frameMs: options.frameMs ?? TIMEOUTS.frameMs,
    keepaliveMs: options.keepaliveMs ?? TIMEOUTS.keepaliveMs,
  };
}

/** A failure before a valid preamble means the address is not a Ferry sender, or a busy one. */
function notFerry(error: unknown): unknown {
  if (error instanceof AuthError || !(error instanceof FerryError)) return error;
  const code = error.code;
  if (code === ErrorCode.CANCELLED) return error;
  const detail =
    code === ErrorCode.UNSUPPORTED_VERSION
      ? `is not a Ferry sender: ${error.message}`
      : code === ErrorCode.TIMEOUT
        ? 'is not a Ferry sender: it did not greet like one'
        : code === ErrorCode.BAD_MAGIC
          ? 'is not a Ferry sender: it answered with something else'
          : // A sender with too many connections waiting to pair closes new ones the same way.
            'closed the connection without a greeting: it is not a Ferry sender, or one busy with other connections (try again in a moment)';
  return new NotFerryError(code, `that address ${detail}`, { cause: error });
}

/** HELLO, then the sender's OFFER, within what is left of the greeting's deadline. */
async function handshake(
  connection: Connection,
  options: ReceiverOptions,
  deadline: Deadline,
): Promise<Offer> {
  await connection.send(FrameType.HELLO, {
    software: 'ferry-receive/0.1.0',
    name: truncateUtf8(options.name ?? localUserName(), LIMITS.maxNameBytes),
    features: [RESUME_FEATURE],
  });
  return connection.expect(FrameType.OFFER, deadline.remaining);
}

/** Remembers a sender that paired with a code; a name taken by another key is left alone. */
async function rememberSender(
  trust: TrustStore,
  sender: Offer['sender'],
  fingerprint: Uint8Array,
  host: string,
  events: Emitter<ReceiverEvents>,
  logger: Logger,
): Promise<void> {
  const name = rememberedName(sender.name, sender.host);
  const key = shortFingerprint(fingerprint);
  try {
    const outcome = await trust.remember({ name, fingerprint, address: host });
    events.emit('remembered', { name, fingerprint: key, result: outcome.kind });
  } catch (error) {
    logger.warn({ err: error }, 'could not remember the sender');
    // The user asked for --remember: say it did not happen, rather than fail quietly.
    const reason = error instanceof Error ? error.message : String(error);
    events.emit('remembered', { name, fingerprint: key, result: 'failed', reason });
  }
}

/** Who the sender is for finding its partial data; undefined for a sender that does not honour prefixes. */
function resumeOptions(offer: Offer, secured: Secured): ResumeOptions | undefined {
  if (!('resume' in offer)) return undefined;
  const senderKey = secured.peer ? fingerprintHex(secured.peer.fingerprint) : '';
  return {
    senderKey,
    senderName: offer.sender.name,
    senderHost: offer.sender.host,
    session: offer.session,
  };
}

function isPresent(file: SavedFile | PresentFile): file is PresentFile {
  return 'present' in file && file.present === true;
}

function presentEvent(file: PresentFile): ReceiverEvents['file-present'] {
  return { path: file.path, offered: file.offered, size: file.size, sha256: file.sha256 };
}

/**
 * Receives the files of `round`, in order, on `connection`; each file's outcome goes into
 * `outcomes` as soon as it is known, so a connection lost later leaves it concluded (§13: it is
 * not asked for again).
 */
async function receiveFiles(
  connection: Connection,
  round: Round,
  outcomes: Outcomes,
  events: Emitter<ReceiverEvents>,
  logger: Logger,
  fsync: boolean,
): Promise<void> {
  const { destination, files, requests } = round;
  const { saved, failed, present } = outcomes;
  // Files verified in memory are flushed and renamed in the background, so the disk's
  // latency overlaps the next files' bytes; acknowledgements still go out in order.
  const inFlight: Saving[] = [];
  let previous: Promise<void> = Promise.resolve();
  const acknowledge = async (
    entry: ValidatedEntry,
    outcome: FailedFile | SavingFile,
    before: Promise<void>,
  ) => {
    const result = 'saving' in outcome ? await outcome.saving : outcome;
    // A file saved is concluded even when the acknowledgement before it could not go out.
    await before.catch(() => {});
    outcomes.concluded.add(entry.id);
    if ('code' in result) {
      failed.push(result);
      logger.warn({ file: entry.path, code: result.code }, 'file not saved');
      events.emit('file-failed', result);
      await connection.send(FrameType.FILE_ACK, { id: entry.id, ok: false, code: result.code });
    } else if (isPresent(result)) {
      present.push(result);
      events.emit('file-present', presentEvent(result));
      await connection.send(FrameType.FILE_ACK, { id: entry.id, ok: true, sha256: result.sha256 });
    } else {
      saved.push(result);
      events.emit('file-saved', result);
      await connection.send(FrameType.FILE_ACK, { id: entry.id, ok: true, sha256: result.sha256 });
    }
  };
  try {
    for (const [index, entry] of files.entries()) {
      const start = await connection.expect(FrameType.FILE_START);
      const request = requests[index]!;
      if (
        start.id !== entry.id ||
        !startMatches(request, start.offset) ||
        start.size !== entry.size
      ) {
        throw new ProtocolError(
          ErrorCode.UNEXPECTED_FRAME,
          `FILE_START for file ${start.id} does not match the request`,
        );
      }
      const held = round.held.get(entry.id);
      // The sender's prefix may differ from what is held here: the whole file comes again. A file
      // of that name already here is another file: the sender's is saved beside it.
      const { file, restarted: reason } = await openStartedFile(
        destination,
        entry,
        held,
        start.offset,
        { fsync },
      );
      if (reason) {
        logger.info({ file: entry.path, held: held?.offset, reason }, 'file starts over');
        events.emit('file-restarted', { offered: entry.path, reason });
      }
      events.emit('file-started', {
        id: entry.id,
        offered: entry.path,
        size: entry.size,
        offset: reason ? 0 : start.offset,
      });
      const outcome = await receiveOne(connection, file, events);
      previous = acknowledge(entry, outcome, previous);
      inFlight.push(saving(previous)); // Observed below, in order.
      if (inFlight.length >= MAX_SAVING) {
        const oldest = inFlight.shift()!;
        // Keepalives while the disk is slow; a save already done (the common case) needs none.
        await (oldest.settled ? oldest.done : connection.whileBusy(oldest.done));
      }
    }
    await connection.whileBusy(Promise.all(inFlight.map((each) => each.done)));
  } finally {
    // Never leave a save running behind a failure: cleanup (or a reconnect) must see what it left.
    await Promise.allSettled(inFlight.map((each) => each.done));
  }
}

/** A file's save and acknowledgement, and whether it is over (known a moment after it is). */
interface Saving {
  readonly done: Promise<void>;
  settled: boolean;
}

function saving(done: Promise<void>): Saving {
  const each: Saving = { done, settled: false };
  const over = (): void => {
    each.settled = true;
  };
  done.then(over, over);
  return each;
}

/** Files verified and waiting for their data to be flushed and renamed, at most. */
const MAX_SAVING = 16;

/** Receives one file's DATA up to FILE_END or FILE_ABORT; saves it only if it verifies. */
async function receiveOne(
  connection: Connection,
  file: IncomingFile,
  events: Emitter<ReceiverEvents>,
): Promise<FailedFile | SavingFile> {
  const entry = file.entry;
  // A file this file system cannot take has its bytes let go by, and shows no progress.
  const progress = file.writable;
  try {
    for (;;) {
      const incoming = await connection.read();
      if (incoming === null)
        throw new ProtocolError(ErrorCode.TRUNCATED, 'the sender closed the connection mid-file');
      if (incoming.kind === 'ping') continue;
      if (incoming.kind === 'data') {
        const wait = file.write(incoming.bytes, incoming.release);
        if (progress) events.emit('progress', { bytes: incoming.bytes.byteLength });
        if (wait) await wait;
        continue;
      }
      if (incoming.kind !== 'message') throw unexpectedFrame(incoming);
      if (incoming.type === FrameType.FILE_ABORT && incoming.message.id === entry.id) {
        return await file.abort(incoming.message.code, incoming.message.message);
      }
      if (incoming.type === FrameType.FILE_END && incoming.message.id === entry.id) {
        return await file.end(incoming.message.sha256);
      }
      if (incoming.type === FrameType.ERROR) throw peerError(incoming.message);
      throw unexpectedFrame(incoming);
    }
  } catch (error) {
    // The bytes written so far stay in the partial folder, to resume from (D9).
    await file.suspend();
    throw error;
  }
}

/** What the sender is told about a local failure: the code, and no local path. */
function forThePeer(error: FerryError): FerryError {
  if (error.code === ErrorCode.NO_SPACE)
    return new FerryError(error.code, 'the receiver has too little free space for the files');
  if (error instanceof DestinationError)
    return new FerryError(error.code, 'the receiver cannot save into the folder it chose');
  if (error.code === ErrorCode.WRITE_FAILED)
    return new FerryError(error.code, 'the receiver could not write the files');
  return error;
}

/** The ticket of `offered` stays readable but is left out of JSON, logs and inspection. */
function hideTicket(offered: OfferedResume): OfferedResume {
  return Object.defineProperty({ ...offered }, 'ticket', {
    value: offered.ticket,
    enumerable: false,
  });
}
