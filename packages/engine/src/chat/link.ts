import {
  CHAT,
  CHAT_DATA_CHUNK_BYTES,
  ConnectionClosedError,
  Emitter,
  ErrorCode,
  FerryError,
  FrameType,
  LimitError,
  localNamesFor,
  PeerError,
  ProtocolError,
  type Renamed,
  type RequestItem,
  shouldTellPeer,
  TX_DATA_HEADER_BYTES,
  type ValidatedEntry,
  type ValidatedOffer,
  validateOffer,
} from '@ferry/protocol';
import { type Connection, type Incoming, peerError, unexpectedFrame } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import type { Destination } from '../destination.ts';
import type { PathLimits } from '../destination-plan.ts';
import { openStartedFile, startMatches } from '../file-start.ts';
import type {
  FailedFile,
  IncomingFile,
  PresentFile,
  SavedFile,
  SavingFile,
} from '../incoming-file.ts';
import { type Inspection, inspectDestination } from '../inspection.ts';
import {
  type FileFrames,
  type PlannedFile,
  plannedBytes,
  planRequest,
  sendPlannedFiles,
} from '../outgoing.ts';
import type { Busy } from '../prefix-hash.ts';
import {
  type HeldPrefix,
  type PreparedReceiving,
  prepareAgain,
  prepareReceiving,
} from '../receiving.ts';
import type { ResumeOptions } from '../resume-plan.ts';
import type { ResumeSender } from '../resume-state.ts';
import type { OfferSource } from '../scan.ts';
import { SentFiles } from '../sent-files.ts';
import { Outbox } from './outbox.ts';
import {
  entriesKey,
  isConnectionFailure,
  keepOrClean,
  keptSettled,
  settle,
  type SuspendedIncoming,
  type SuspendedOutgoing,
  SuspendedReceiving,
  type SuspendedWork,
} from './suspended.ts';
import { TokenBucket } from './token-bucket.ts';

/** Bytes written to disk since the last CREDIT after which the next CREDIT goes out. */
const GRANT_AFTER_BYTES = 2 * 1024 * 1024;

/** Events of one chat connection, in the terms of its own frames (PROTOCOL.md §12). */
export interface LinkEvents extends Record<string, unknown> {
  say: { text: string };
  relay: { peer: number; text: string };
  joined: { peer: number; name: string; key: string };
  left: { peer: number; reason: 'quit' | 'lost' | 'cut-off' };
  /** The peer proposes files: validated whole (§6), with the names this system saves them under. */
  proposal: {
    offer: number;
    validated: ValidatedOffer;
    renamed: readonly Renamed[];
    folders: number;
  };
  /**
   * The peer's proposal `offer` is one we were receiving on the lost connection (`previous`
   * there, §13.11 item 7): it is being accepted into the same folder without asking;
   * `receive-start` follows (or `receive-done` with a code if the folder cannot be read).
   * `suspended` is the object the lost link's end listed (`previous` is its id on the link
   * where it was suspended, which may be older than the lost one when it waited unmatched).
   */
  'proposal-resumed': { offer: number; previous: number; suspended: SuspendedIncoming };
  /** The peer declined one of our proposals. */
  declined: { offer: number; code: string };
  /**
   * Our proposal `previous` of the lost connection (`suspended`, as its end listed it) went
   * out again as `offer` (§13.11 item 6).
   */
  reproposed: { offer: number; previous: number; suspended: SuspendedOutgoing };
  /**
   * `bytes`: what the transfer carries if every prefix matches; `skippedBytes`: what the peer
   * holds already and is not sent again (each prefix item's offset).
   */
  'send-start': { offer: number; files: number; bytes: number; skippedBytes: number };
  'send-progress': { offer: number; bytes: number };
  'file-sent': { offer: number; path: string; size: number; sha256: string };
  'send-file-failed': { offer: number; path: string; code: string };
  /** With `suspended`, the connection was lost and the transfer waits for the peer to come back. */
  'send-done': {
    offer: number;
    saved: number;
    failed: number;
    bytes: number;
    code?: string | undefined;
    suspended?: true | undefined;
  };
  /**
   * `files`: the files asked for; `bytes`: what they carry if every prefix matches; `heldBytes`:
   * what is held here already and not sent again (partial files' bytes, and files already
   * there whole); `present`: files already there (empty ones among them are concluded at once).
   */
  'receive-start': {
    offer: number;
    outDir: string;
    files: number;
    bytes: number;
    heldBytes: number;
    present: number;
  };
  'receive-progress': { offer: number; bytes: number };
  /** A file saved; with `present: true`, one already there whole: nothing was written. */
  'file-saved': { offer: number } & (SavedFile | PresentFile);
  'file-failed': { offer: number } & FailedFile;
  /**
   * A file asked for from a prefix comes whole from byte 0 (§13.11): `in`, the proposer answered
   * the prefix item with offset 0; `out`, our prefix check failed. `path` is the offered one.
   */
  'file-restarted': {
    offer: number;
    direction: 'in' | 'out';
    path: string;
    reason: 'changed' | 'differs';
  };
  /** With `suspended`, the connection was lost and the transfer waits for the peer to come back. */
  'receive-done': {
    offer: number;
    saved: number;
    failed: number;
    bytes: number;
    code?: string | undefined;
    suspended?: true | undefined;
  };
  /** A transfer that did not finish left its partial folder `dir` in `outDir`, to resume from (§13.11 item 9). */
  'partial-kept': { offer: number; outDir: string; dir: string };
}

/** How a link ended. */
export type LinkEnd =
  | { readonly kind: 'bye' }
  | { readonly kind: 'quit' }
  /**
   * The peer sent ERROR (it cut us off, or failed), or the connection failed. With resume on
   * and a connection failure, `suspended` holds the work to go on with on the next connection
   * with this peer (and the resumed work that was never matched).
   */
  | {
      readonly kind: 'lost';
      readonly error: FerryError;
      readonly suspended?: SuspendedWork | undefined;
    }
  /** We cut the peer off for breaking the rules. */
  | { readonly kind: 'cut-off'; readonly error: FerryError };

/** How a link saves and how long it waits: what the room and a joiner pass on to each link. */
export interface LinkSettings {
  /** Make each file durable on disk (fdatasync) before it gets its final name. */
  readonly fsync?: boolean | undefined;
  readonly pathLimits?: PathLimits | undefined;
  readonly platform?: string | undefined;
  /** A peer that takes nothing we queued for it for this long is cut off (ERR_TIMEOUT). */
  readonly stallMs?: number | undefined;
  /** PING after this long without sending anything. */
  readonly keepaliveMs?: number | undefined;
}

/** The settings of `options`, and nothing else of it. */
export function linkSettings(options: LinkSettings): LinkSettings {
  const { fsync, pathLimits, platform, stallMs, keepaliveMs } = options;
  return { fsync, pathLimits, platform, stallMs, keepaliveMs };
}

/** Options of a {@link ChatLink}. */
export interface LinkOptions extends LinkSettings {
  readonly connection: Connection;
  /** Which end of this connection we are: the listener relays and announces, the joiner hears. */
  readonly role: 'listener' | 'joiner';
  readonly logger: Logger;
  /** §13.11 negotiated on this connection (WELCOME carried `resume`). */
  readonly resume?: boolean | undefined;
  /** The peer as partial-data records name it (key hex or '', name, host). */
  readonly peer?: ResumeSender | undefined;
  /** The conversation's session (WELCOME session): written in state records. */
  readonly session?: string | undefined;
  /** Work suspended on the previous connection with this same peer (§13.11 items 6–7). */
  readonly resumed?: SuspendedWork | undefined;
}

export type { SuspendedIncoming, SuspendedOutgoing, SuspendedWork };

interface OutgoingOffer {
  readonly source: OfferSource;
  state: 'proposed' | 'sending';
  sent?: SentFiles;
  bytes: number;
}

interface IncomingOffer {
  readonly validated: ValidatedOffer;
  readonly localPaths: readonly string[] | undefined;
  readonly renamed: readonly Renamed[];
  /** The PROPOSE entries as JSON, to match a re-proposal after a lost connection. */
  readonly entriesKey: string;
  state: 'proposed' | 'accepting' | 'receiving';
  /** The suspended transfer this proposal goes on with, when it matched one. */
  match?: SuspendedReceiving | undefined;
  destination?: Destination;
  /** The first preparation of this transfer (on this link, or the one it continues). */
  base?: Pick<PreparedReceiving, 'destination' | 'held' | 'outDir'>;
  /** Every file accepted, across the connections this transfer took. */
  accepted: readonly ValidatedEntry[];
  /** Files concluded (saved, already there, failed) on any connection: never asked for again. */
  concluded: Set<number>;
  /** The files asked for on this link, in order, with their ACCEPT items and held prefixes. */
  files: readonly ValidatedEntry[];
  requests: readonly RequestItem[];
  held: ReadonlyMap<number, HeldPrefix>;
  index: number;
  current?: IncomingFile | undefined;
  /** TX_DATA bytes the proposer may send: the initial credit plus every CREDIT. */
  allowance: number;
  taken: number;
  ungranted: number;
  acks: Promise<void>;
  saved: number;
  failed: number;
  bytes: number;
}

/**
 * One chat connection (PROTOCOL.md §12), either end: messages, proposals and transfers both
 * ways. Every incoming proposal is validated whole and saved through the same path as
 * ferry-receive's (IncomingFile, prepareReceiving); every outgoing one is sent through the same
 * path as ferry-send's (sendPlannedFiles). A peer that breaks a rule is cut off with a typed
 * ERROR; nothing it sent half is kept.
 */
export class ChatLink extends Emitter<LinkEvents> {
  readonly connection: Connection;
  #options: LinkOptions;
  #logger: Logger;
  #outbox: Outbox;
  #outgoing = new Map<number, OutgoingOffer>();
  #incoming = new Map<number, IncomingOffer>();
  #lastOutgoing = 0;
  #lastIncoming = 0;
  #says: TokenBucket;
  #relays: TokenBucket;
  /** Our own messages, paced to the rate the peer allows. */
  #pace = new TokenBucket(CHAT.maxMessagesPerSecond, CHAT.messageBurst);
  #sayQueue: string[] = [];
  #sayTimer: NodeJS.Timeout | undefined;
  #ending: FerryError | undefined;
  #quitting = false;
  #keepalive: NodeJS.Timeout | undefined;
  #finished: Promise<LinkEnd> | undefined;
  /** The link has ended: what fails afterwards (a write of an abandoned file) cuts nobody off. */
  #over = false;
  /** Incoming transfers suspended on the previous connection, not matched by a re-proposal yet. */
  #unmatched: SuspendedReceiving[];

  constructor(options: LinkOptions) {
    super();
    this.#options = options;
    this.connection = options.connection;
    this.#logger = options.logger;
    this.#outbox = new Outbox(options.connection, options.stallMs ?? 60_000, (error) =>
      this.cutOff(error as FerryError),
    );
    this.#says = new TokenBucket(CHAT.maxMessagesPerSecond, CHAT.messageBurst);
    this.#relays = new TokenBucket(
      CHAT.maxMessagesPerSecond * CHAT.maxPeers,
      CHAT.messageBurst * CHAT.maxPeers,
    );
    this.#unmatched = (options.resumed?.incoming ?? []).filter(
      (incoming): incoming is SuspendedReceiving => incoming instanceof SuspendedReceiving,
    );
  }

  /**
   * The suspended work handed to this link (`resumed`) that no re-proposal has matched yet: at
   * the end of the conversation its owner keeps the incoming ones (`keep()`, §13.11 item 9).
   */
  get suspended(): SuspendedWork {
    return { outgoing: [], incoming: [...this.#unmatched] };
  }

  /** Offers with this peer being sent or received now. */
  get transfers(): number {
    let count = 0;
    for (const offer of this.#outgoing.values()) if (offer.state === 'sending') count++;
    for (const offer of this.#incoming.values()) if (offer.state === 'receiving') count++;
    return count;
  }

  /** Our proposals to this peer that are not finished. */
  get openOffers(): number {
    return this.#outgoing.size;
  }

  /** Reads the peer until the link ends; never rejects. */
  run(): Promise<LinkEnd> {
    this.#finished ??= this.#run();
    return this.#finished;
  }

  /**
   * Sends a message. Messages beyond the rate the peer allows (§12: 10 a second, 20 at once)
   * wait here, in order, rather than get this side cut off for a pasted paragraph.
   */
  say(text: string): void {
    this.#sayQueue.push(text);
    this.#flushSays();
  }

  #flushSays(): void {
    clearTimeout(this.#sayTimer);
    this.#sayTimer = undefined;
    while (this.#sayQueue.length > 0 && !this.#ending) {
      if (!this.#pace.take()) {
        this.#sayTimer = setTimeout(
          () => this.#flushSays(),
          Math.ceil(1000 / CHAT.maxMessagesPerSecond),
        );
        return;
      }
      this.#outbox.control(FrameType.SAY, { text: this.#sayQueue.shift()! });
    }
  }

  relay(peer: number, text: string): void {
    this.#outbox.control(FrameType.RELAY, { peer, text });
  }

  joined(peer: number, name: string, key: string): void {
    this.#outbox.control(FrameType.JOINED, { peer, name, key });
  }

  left(peer: number, reason: 'quit' | 'lost' | 'cut-off'): void {
    this.#outbox.control(FrameType.LEFT, { peer, reason });
  }

  /** Proposes `source` to the peer; returns the offer id. Throws LimitError when too many are open. */
  propose(source: OfferSource): number {
    if (this.#outgoing.size >= CHAT.maxOpenOffers) {
      throw new LimitError(
        `${CHAT.maxOpenOffers} offers to this peer are still open: wait for one to finish`,
      );
    }
    const offer = ++this.#lastOutgoing;
    this.#outgoing.set(offer, { source, state: 'proposed', bytes: 0 });
    this.#outbox.control(FrameType.PROPOSE, { offer, entries: [...source.entries] });
    return offer;
  }

  /** Checks a folder for the peer's proposal `offer`, all of it. */
  inspect(offer: number, outDir: string): Promise<Inspection> {
    const incoming = this.#incomingProposal(offer);
    const items = incoming.validated.items.map((_, index) => index);
    return inspectDestination(incoming.validated, items, outDir, {
      localPaths: incoming.localPaths,
      renamed: incoming.renamed,
      limits: this.#options.pathLimits,
      resume: this.#resumeOptions(),
    });
  }

  /** With resume on: who the peer is, to find its partial data and to write state records. */
  #resumeOptions(): ResumeOptions | undefined {
    if (!this.#options.resume) return undefined;
    const peer = this.#options.peer ?? { senderKey: '', senderName: '', senderHost: '' };
    return { ...peer, session: this.#options.session };
  }

  /** Hashing held bytes and the prefix check send nothing: PINGs keep the link alive meanwhile. */
  #busy: Busy = (work) => (this.#options.resume ? this.connection.whileBusy(work) : work);

  /**
   * Accepts the peer's proposal `offer` into `outDir`: checks the folder (a folder without
   * room rejects, and the proposal still waits), creates the folders, then sends ACCEPT. With
   * resume on, the files are written in a partial folder, and partial data of this peer found
   * there is resumed from (§13.11 item 8): each file held in part, or already there, is asked
   * for with a prefix item.
   */
  async accept(offer: number, outDir: string, inspection?: Inspection): Promise<void> {
    const incoming = this.#incomingProposal(offer);
    if (incoming.state !== 'proposed')
      throw new FerryError(ErrorCode.UNEXPECTED_FRAME, 'that offer is already being received');
    incoming.state = 'accepting';
    let prepared: PreparedReceiving;
    try {
      // A transfer of this peer kept a moment ago is resumed from, not left locked.
      if (this.#options.resume) await keptSettled();
      prepared = await prepareReceiving(
        inspection ?? (await this.inspect(offer, outDir)),
        this.#busy,
      );
    } catch (error) {
      incoming.state = 'proposed';
      throw error;
    }
    if (this.#ending || this.#over || !this.#incoming.has(offer)) {
      await prepared.destination.cleanup();
      throw new ConnectionClosedError('the peer has gone');
    }
    incoming.base = prepared;
    incoming.accepted = prepared.files;
    this.#receive(offer, incoming, prepared, prepared.notSaved);
  }

  /** Sends ACCEPT for a prepared round of `incoming` and starts receiving it. */
  #receive(
    offer: number,
    incoming: IncomingOffer,
    round: Pick<
      PreparedReceiving,
      'destination' | 'outDir' | 'files' | 'bytes' | 'requests' | 'held' | 'resumed' | 'present'
    >,
    notSaved: readonly FailedFile[],
  ): void {
    incoming.destination = round.destination;
    incoming.files = round.files;
    incoming.requests = round.requests;
    incoming.held = round.held;
    incoming.index = 0;
    incoming.state = 'receiving';
    this.#outbox.control(FrameType.ACCEPT, { offer, files: [...round.requests] });
    let present = round.present.length;
    let presentBytes = 0;
    for (const entry of round.files) {
      if (round.held.get(entry.id)?.presentAt === undefined) continue;
      present++;
      presentBytes += entry.size;
    }
    const heldBytes = round.resumed.heldBytes + presentBytes;
    this.emit('receive-start', {
      offer,
      outDir: round.outDir,
      files: round.files.length,
      bytes: round.bytes - heldBytes,
      heldBytes,
      present,
    });
    for (const failure of notSaved) {
      incoming.failed++;
      this.emit('file-failed', { offer, ...failure });
    }
    // Empty files already there: nothing to ask for, they are concluded now.
    for (const file of round.present) {
      incoming.saved++;
      this.emit('file-saved', { offer, ...file });
    }
    if (round.files.length === 0) this.#finishIncoming(offer, incoming);
  }

  /**
   * Accepts, without asking, a proposal that matched a transfer suspended on the lost
   * connection: into the same folder, for the files not concluded, each from what is held of
   * it now (§13.11 item 7).
   */
  async #acceptAgain(offer: number, incoming: IncomingOffer, match: SuspendedReceiving) {
    let round: Awaited<ReturnType<typeof prepareAgain>>;
    try {
      round = await prepareAgain(match.prepared, match.remaining, this.#busy);
    } catch (error) {
      // A link that ended meanwhile suspended or kept it already (#abandon).
      if (this.#over || this.#incoming.get(offer) !== incoming) return;
      this.#logger.warn({ offer, err: error }, 'could not go on with a suspended transfer');
      this.#incoming.delete(offer);
      this.#outbox.control(FrameType.DECLINE, { offer, code: ErrorCode.WRITE_FAILED });
      const kept = await keepOrClean(match.prepared.destination);
      if (kept) this.emit('partial-kept', { offer, outDir: match.outDir, dir: kept.dir });
      this.emit('receive-done', {
        offer,
        saved: 0,
        failed: 0,
        bytes: 0,
        code: ErrorCode.WRITE_FAILED,
      });
      return;
    }
    if (this.#over || this.#incoming.get(offer) !== incoming) return;
    this.#receive(
      offer,
      incoming,
      { ...round, destination: match.prepared.destination, outDir: match.outDir },
      [],
    );
  }

  /** Declines the peer's proposal `offer`. */
  decline(offer: number, code: string = ErrorCode.DECLINED): void {
    const incoming = this.#incomingProposal(offer);
    if (incoming.state !== 'proposed')
      throw new FerryError(ErrorCode.UNEXPECTED_FRAME, 'that offer is already being received');
    this.#incoming.delete(offer);
    this.#outbox.control(FrameType.DECLINE, { offer, code });
  }

  /** Says goodbye (BYE) and closes; `run` ends with `quit`. */
  async quit(): Promise<void> {
    if (this.#quitting || this.#ending) return;
    // Messages still waiting for their turn go out before the goodbye.
    while (this.#sayQueue.length > 0 && !this.#ending && !this.connection.socket.destroyed) {
      await new Promise((resolve) => setTimeout(resolve, 1000 / CHAT.maxMessagesPerSecond));
    }
    this.#quitting = true;
    this.#outbox.control(FrameType.BYE, {});
    await this.connection.close(1_000).catch(() => {});
  }

  /** Ends the link because the peer broke a rule: it is told why (ERROR), then closed. */
  cutOff(error: FerryError): void {
    if (this.#ending || this.#over) return;
    this.#ending = error;
    this.#logger.warn({ code: error.code, reason: error.message }, 'peer cut off');
    this.#outbox.close();
    void this.connection.sendErrorAndClose(error);
  }

  #incomingProposal(offer: number): IncomingOffer {
    const incoming = this.#incoming.get(offer);
    if (!incoming)
      throw new FerryError(
        ErrorCode.UNEXPECTED_FRAME,
        `there is no offer ${offer} waiting from this peer`,
      );
    return incoming;
  }

  async #run(): Promise<LinkEnd> {
    this.#armKeepalive();
    this.#repropose();
    let end: LinkEnd;
    try {
      end = await this.#read();
    } catch (error) {
      const typed =
        error instanceof FerryError
          ? error
          : new FerryError(ErrorCode.INTERNAL, String(error), { cause: error });
      if (this.#ending) end = { kind: 'cut-off', error: this.#ending };
      else if (this.#quitting) end = { kind: 'quit' };
      // A stream that ended inside a frame is the connection failing too: nobody to tell.
      else if (error instanceof PeerError || !shouldTellPeer(typed) || isConnectionFailure(typed))
        end = { kind: 'lost', error: typed };
      else {
        this.cutOff(typed);
        end = { kind: 'cut-off', error: typed };
      }
    }
    this.#over = true;
    clearTimeout(this.#keepalive);
    clearTimeout(this.#sayTimer);
    this.#outbox.close();
    const suspended = await settle(this.#abandon(end));
    if (end.kind !== 'cut-off') this.connection.destroy();
    return suspended && end.kind === 'lost' ? { ...end, suspended } : end;
  }

  /** Proposes again, in their order, our proposals suspended on the lost connection (§13.11 item 6). */
  #repropose(): void {
    for (const suspended of this.#options.resumed?.outgoing ?? []) {
      try {
        const offer = this.propose(suspended.source);
        this.emit('reproposed', { offer, previous: suspended.offer, suspended });
      } catch (error) {
        this.#logger.warn({ previous: suspended.offer, err: error }, 'could not propose again');
      }
    }
  }

  /**
   * Ends every transfer still open with this peer. A connection failure with resume on
   * suspends them (§13.11): the open file keeps every byte that arrived, nothing is completed
   * or cleaned, and the work is returned to go on with on the next connection. Otherwise they
   * fail: with resume on a partial folder holding bytes is kept (item 9), without it the open
   * file is discarded.
   */
  async #abandon(end: LinkEnd): Promise<SuspendedWork | undefined> {
    const suspend =
      this.#options.resume === true && end.kind === 'lost' && isConnectionFailure(end.error);
    const code =
      end.kind === 'lost' || end.kind === 'cut-off' ? end.error.code : ErrorCode.CONNECTION_CLOSED;
    const mark = suspend ? { suspended: true as const } : {};
    const outgoing: SuspendedOutgoing[] = [];
    for (const [offer, sending] of this.#outgoing) {
      if (suspend) outgoing.push({ offer, source: sending.source });
      if (sending.state === 'sending') {
        const sent = sending.sent!;
        this.emit('send-done', {
          offer,
          saved: sent.saved,
          failed: sent.failed,
          bytes: sent.bytes,
          code,
          ...mark,
        });
      }
    }
    this.#outgoing.clear();
    const waits: Promise<SuspendedReceiving | undefined>[] = [];
    for (const [offer, incoming] of this.#incoming) {
      const match = incoming.state === 'accepting' ? incoming.match : undefined;
      if (match) {
        // Being accepted again when the connection went: it goes on later, or is kept.
        waits.push(this.#stopAccepting(offer, incoming, match, suspend));
        continue;
      }
      if (incoming.state !== 'receiving') continue;
      const file = incoming.current;
      incoming.current = undefined;
      waits.push(this.#stopReceiving(offer, incoming, file, suspend, code));
    }
    this.#incoming.clear();
    const stopped = await Promise.all(waits);
    if (!suspend) return undefined;
    const incoming: SuspendedIncoming[] = [...this.#unmatched];
    this.#unmatched = [];
    for (const receiving of stopped) if (receiving) incoming.push(receiving);
    return { outgoing, incoming };
  }

  async #stopReceiving(
    offer: number,
    incoming: IncomingOffer,
    file: IncomingFile | undefined,
    suspend: boolean,
    code: string,
  ): Promise<SuspendedReceiving | undefined> {
    // With a partial folder the bytes that arrived stay (written out), else the file goes.
    const stopping = this.#options.resume ? file?.suspend() : file?.discard();
    await Promise.all([stopping?.catch(() => {}), incoming.acks.catch(() => {})]);
    const done = {
      offer,
      saved: incoming.saved,
      failed: incoming.failed,
      bytes: incoming.bytes,
      code,
    };
    if (suspend && incoming.base) {
      this.emit('receive-done', { ...done, suspended: true });
      return new SuspendedReceiving({
        offer,
        entriesKey: incoming.entriesKey,
        prepared: incoming.base,
        files: incoming.accepted,
        concluded: incoming.concluded,
      });
    }
    const destination = incoming.destination;
    if (destination?.partials) {
      const kept = await keepOrClean(destination);
      if (kept) this.emit('partial-kept', { offer, outDir: destination.root, dir: kept.dir });
    }
    this.emit('receive-done', done);
    return undefined;
  }

  async #stopAccepting(
    offer: number,
    incoming: IncomingOffer,
    match: SuspendedReceiving,
    suspend: boolean,
  ): Promise<SuspendedReceiving | undefined> {
    const done = { offer, saved: 0, failed: 0, bytes: 0, code: ErrorCode.CONNECTION_CLOSED };
    if (suspend) {
      this.emit('receive-done', { ...done, suspended: true });
      return new SuspendedReceiving({
        offer,
        entriesKey: incoming.entriesKey,
        prepared: match.prepared,
        files: match.files,
        concluded: match.concluded,
      });
    }
    const kept = await keepOrClean(match.prepared.destination);
    if (kept) this.emit('partial-kept', { offer, outDir: match.outDir, dir: kept.dir });
    this.emit('receive-done', done);
    return undefined;
  }

  async #read(): Promise<LinkEnd> {
    for (;;) {
      const incoming = await this.connection.read();
      if (incoming === null) {
        // We cut the peer off and it closed: that, not a lost connection, is how the link ended.
        if (this.#ending) return { kind: 'cut-off', error: this.#ending };
        if (this.#quitting) return { kind: 'quit' };
        return {
          kind: 'lost',
          error: new ConnectionClosedError('the peer closed the connection without saying goodbye'),
        };
      }
      if (this.#ending) continue;
      if (incoming.kind === 'ping') continue;
      if (incoming.kind === 'tx-data') {
        this.#onData(incoming.offer, incoming.bytes, incoming.release);
        continue;
      }
      if (incoming.kind !== 'message') throw unexpectedFrame(incoming);
      if (incoming.type === FrameType.BYE) return { kind: 'bye' };
      await this.#onMessage(incoming);
    }
  }

  async #onMessage(incoming: Extract<Incoming, { kind: 'message' }>): Promise<void> {
    const joiner = this.#options.role === 'joiner';
    switch (incoming.type) {
      case FrameType.ERROR:
        throw peerError(incoming.message);
      case FrameType.SAY:
        if (!this.#says.take())
          throw new LimitError(`more than ${CHAT.maxMessagesPerSecond} messages a second`);
        this.emit('say', { text: incoming.message.text });
        return;
      case FrameType.RELAY:
        if (!joiner) break;
        if (!this.#relays.take()) throw new LimitError('too many relayed messages a second');
        this.emit('relay', incoming.message);
        return;
      case FrameType.JOINED:
        if (!joiner) break;
        this.emit('joined', incoming.message);
        return;
      case FrameType.LEFT:
        if (!joiner) break;
        this.emit('left', incoming.message);
        return;
      case FrameType.PROPOSE:
        this.#onPropose(incoming.message.offer, incoming.message.entries);
        return;
      case FrameType.ACCEPT:
        this.#onAccept(incoming.message.offer, incoming.message.files);
        return;
      case FrameType.DECLINE: {
        const { offer, code } = incoming.message;
        if (this.#outgoing.get(offer)?.state !== 'proposed') break;
        this.#outgoing.delete(offer);
        this.emit('declined', { offer, code });
        return;
      }
      case FrameType.CREDIT: {
        const { offer, bytes } = incoming.message;
        if (offer > this.#lastOutgoing) break;
        const outgoing = this.#outgoing.get(offer);
        // CREDIT for a finished offer may cross its last TX_ACK: ignored.
        if (outgoing?.state === 'proposed') break;
        this.#outbox.credit(offer, bytes);
        return;
      }
      case FrameType.TX_ACK: {
        const ack = incoming.message;
        const outgoing = this.#outgoing.get(ack.offer);
        if (outgoing?.state !== 'sending') break;
        outgoing.sent!.acknowledge(ack);
        if (outgoing.sent!.complete) {
          this.#outgoing.delete(ack.offer);
          this.#outbox.closeStream(ack.offer);
          const sent = outgoing.sent!;
          this.emit('send-done', {
            offer: ack.offer,
            saved: sent.saved,
            failed: sent.failed,
            bytes: sent.bytes,
          });
        }
        return;
      }
      case FrameType.TX_START:
        await this.#onStart(incoming.message);
        return;
      case FrameType.TX_END: {
        const { offer, id, sha256 } = incoming.message;
        const receiving = this.#current(offer, id);
        const file = receiving.current!;
        receiving.current = undefined;
        this.#acknowledge(offer, receiving, file.entry, await file.end(sha256));
        return;
      }
      case FrameType.TX_ABORT: {
        const { offer, id, code, message } = incoming.message;
        const receiving = this.#current(offer, id);
        const file = receiving.current!;
        receiving.current = undefined;
        this.#acknowledge(offer, receiving, file.entry, await file.abort(code, message));
        return;
      }
      default:
        break;
    }
    throw unexpectedFrame(incoming);
  }

  #onPropose(offer: number, entries: Parameters<typeof validateOffer>[0]): void {
    if (offer <= this.#lastIncoming) {
      throw new ProtocolError(
        ErrorCode.BAD_MESSAGE,
        `offer id ${offer} was already used: each PROPOSE needs a greater one`,
      );
    }
    this.#lastIncoming = offer;
    // Proposed or being received: finished and declined ones are gone from the map.
    if (this.#incoming.size >= CHAT.maxOpenOffers)
      throw new LimitError(`more than ${CHAT.maxOpenOffers} offers open at once`);
    // The whole offer is checked before anything is shown or written (§6); an unsafe one cuts the peer off.
    const validated = validateOffer(entries);
    const local = localNamesFor(validated.entries, this.#options.platform ?? process.platform);
    const key = entriesKey(entries);
    // The oldest suspended transfer of the same entries goes on (§13.11 item 7).
    const found = this.#unmatched.findIndex((suspended) => suspended.entriesKey === key);
    const match = found >= 0 ? this.#unmatched.splice(found, 1)[0] : undefined;
    const incoming: IncomingOffer = {
      validated,
      localPaths: local.paths,
      renamed: local.renamed,
      entriesKey: key,
      state: 'proposed',
      accepted: [],
      concluded: new Set(),
      files: [],
      requests: [],
      held: new Map(),
      index: 0,
      allowance: CHAT.initialCreditBytes,
      taken: 0,
      ungranted: 0,
      acks: Promise.resolve(),
      saved: 0,
      failed: 0,
      bytes: 0,
    };
    this.#incoming.set(offer, incoming);
    if (match?.take()) {
      incoming.state = 'accepting';
      incoming.match = match;
      incoming.base = match.prepared;
      incoming.accepted = match.files;
      incoming.concluded = match.concluded as Set<number>;
      this.emit('proposal-resumed', { offer, previous: match.offer, suspended: match });
      void this.#acceptAgain(offer, incoming, match);
      return;
    }
    this.emit('proposal', {
      offer,
      validated,
      renamed: local.renamed,
      folders: validated.folderCount,
    });
  }

  #onAccept(offer: number, files: readonly RequestItem[]): void {
    const outgoing = this.#outgoing.get(offer);
    if (outgoing?.state !== 'proposed')
      throw new ProtocolError(
        ErrorCode.UNEXPECTED_FRAME,
        `ACCEPT for offer ${offer}, which is not waiting for an answer`,
      );
    // Prefix items only when WELCOME carried resume (§13.11); REQUEST's checks and codes.
    const plan = planRequest(outgoing.source, files, { resume: this.#options.resume === true });
    const sent = new SentFiles(outgoing.source, plan, {
      onFileAcked: (path, size, sha256) => this.emit('file-sent', { offer, path, size, sha256 }),
      onFileFailed: (path, code) => this.emit('send-file-failed', { offer, path, code }),
    });
    outgoing.state = 'sending';
    outgoing.sent = sent;
    this.#outbox.open(offer);
    const skippedBytes = plan.reduce(
      (sum, file) => sum + (file.prefix === undefined ? 0 : file.offset),
      0,
    );
    this.emit('send-start', { offer, files: plan.length, bytes: plannedBytes(plan), skippedBytes });
    if (plan.length === 0) {
      this.#outgoing.delete(offer);
      this.#outbox.closeStream(offer);
      this.emit('send-done', { offer, saved: 0, failed: 0, bytes: 0 });
      return;
    }
    void this.#send(offer, plan, sent);
  }

  async #send(offer: number, plan: readonly PlannedFile[], sent: SentFiles): Promise<void> {
    const outbox = this.#outbox;
    const frames: FileFrames = {
      start: async (file) => outbox.streamControl(offer, FrameType.TX_START, { offer, ...file }),
      data: (frame, release) => outbox.data(offer, frame, release),
      dataCopy: (bytes, release) => {
        const frame = Buffer.allocUnsafe(TX_DATA_HEADER_BYTES + bytes.byteLength);
        frame.set(bytes, TX_DATA_HEADER_BYTES);
        release?.();
        return outbox.data(offer, frame, () => {});
      },
      end: async (file) => outbox.streamControl(offer, FrameType.TX_END, { offer, ...file }),
      abort: async (file) => outbox.streamControl(offer, FrameType.TX_ABORT, { offer, ...file }),
    };
    try {
      const source = this.#outgoing.get(offer)?.source;
      await sendPlannedFiles(
        frames,
        plan,
        {
          onBytes: (bytes) => this.emit('send-progress', { offer, bytes }),
          onSent: (id, sha256) => sent.sent(id, sha256),
          // The source was not changed since it was offered (that aborts the file): the bytes
          // the peer holds are not the ones here.
          onRestarted: (id) => {
            sent.restarted(id);
            const path = source?.entries[id]?.path ?? String(id);
            this.emit('file-restarted', { offer, direction: 'out', path, reason: 'differs' });
          },
        },
        {
          headerRoom: TX_DATA_HEADER_BYTES,
          chunkBytes: CHAT_DATA_CHUNK_BYTES,
          busy: this.#options.resume ? this.#busy : undefined,
        },
      );
    } catch (error) {
      // The link ended under the transfer: #abandon reports it.
      this.#logger.debug({ offer, err: error }, 'sending stopped');
    }
  }

  async #onStart(start: {
    offer: number;
    id: number;
    offset: number;
    size: number;
  }): Promise<void> {
    const receiving = this.#receiving(start.offer);
    const entry = receiving.files[receiving.index];
    const request = receiving.requests[receiving.index];
    // The offset asked for, or 0 to start over after a prefix item (§13.11): nothing else.
    if (
      receiving.current ||
      !entry ||
      !request ||
      entry.id !== start.id ||
      !startMatches(request, start.offset) ||
      start.size !== entry.size
    ) {
      throw new ProtocolError(
        ErrorCode.UNEXPECTED_FRAME,
        `TX_START for file ${start.id} of offer ${start.offer} does not match what was accepted`,
      );
    }
    receiving.index++;
    const { file, restarted } = await openStartedFile(
      receiving.destination!,
      entry,
      receiving.held.get(entry.id),
      start.offset,
      {
        fsync: this.#options.fsync ?? false,
        onWritten: (bytes) => this.#grant(start.offer, receiving, bytes),
      },
    );
    receiving.current = file;
    if (restarted) {
      const path = receiving.validated.entries[entry.id]?.path ?? entry.path;
      this.#logger.info(
        { offer: start.offer, id: entry.id, reason: restarted },
        'file starts over',
      );
      this.emit('file-restarted', {
        offer: start.offer,
        direction: 'in',
        path,
        reason: restarted,
      });
    }
  }

  /** `release` gives the bytes' buffer back to the connection once they are in the file. */
  #onData(offer: number, bytes: Uint8Array, release: (() => void) | undefined): void {
    const receiving = this.#receiving(offer);
    const file = receiving.current;
    if (!file)
      throw new ProtocolError(
        ErrorCode.UNEXPECTED_FRAME,
        `TX_DATA for offer ${offer} outside a file`,
      );
    receiving.taken += bytes.byteLength;
    if (receiving.taken > receiving.allowance)
      throw new LimitError(`TX_DATA for offer ${offer} past the credit granted`);
    // Bytes past the announced size are refused and cut the peer off (SIZE_MISMATCH).
    const wait = file.write(bytes, release);
    // Flow control bounds what the disk may owe: the link keeps reading messages meanwhile.
    wait?.catch((error: unknown) =>
      this.cutOff(
        error instanceof FerryError ? error : new FerryError(ErrorCode.WRITE_FAILED, String(error)),
      ),
    );
    this.emit('receive-progress', { offer, bytes: bytes.byteLength });
  }

  #grant(offer: number, receiving: IncomingOffer, bytes: number): void {
    receiving.ungranted += bytes;
    if (receiving.ungranted < GRANT_AFTER_BYTES || !this.#incoming.has(offer)) return;
    const grant = receiving.ungranted;
    receiving.ungranted = 0;
    receiving.allowance += grant;
    this.#outbox.control(FrameType.CREDIT, { offer, bytes: grant });
  }

  #receiving(offer: number): IncomingOffer {
    const receiving = this.#incoming.get(offer);
    if (receiving?.state !== 'receiving') {
      throw new ProtocolError(
        ErrorCode.UNEXPECTED_FRAME,
        `a transfer frame for offer ${offer}, which was not accepted`,
      );
    }
    return receiving;
  }

  #current(offer: number, id: number): IncomingOffer {
    const receiving = this.#receiving(offer);
    if (!receiving.current || receiving.current.entry.id !== id) {
      throw new ProtocolError(
        ErrorCode.UNEXPECTED_FRAME,
        `a frame for file ${id} of offer ${offer}, which is not the open one`,
      );
    }
    return receiving;
  }

  /** Acknowledges files in order, each once it is saved (or failed). */
  #acknowledge(
    offer: number,
    receiving: IncomingOffer,
    entry: ValidatedEntry,
    outcome: SavingFile | FailedFile,
  ): void {
    const previous = receiving.acks;
    receiving.acks = (async () => {
      const result = 'saving' in outcome ? await outcome.saving : outcome;
      await previous;
      // Concluded even when the link ended meanwhile: it is not asked for again (§13.11).
      receiving.concluded.add(entry.id);
      const open = this.#incoming.has(offer);
      if ('code' in result) {
        receiving.failed++;
        this.emit('file-failed', { offer, ...result });
        if (!open) return;
        this.#outbox.control(FrameType.TX_ACK, {
          offer,
          id: entry.id,
          ok: false,
          code: result.code,
        });
      } else {
        receiving.saved++;
        if (!('present' in result)) receiving.bytes += result.size;
        this.emit('file-saved', { offer, ...result });
        if (!open) return;
        this.#outbox.control(FrameType.TX_ACK, {
          offer,
          id: entry.id,
          ok: true,
          sha256: result.sha256,
        });
      }
    })();
    receiving.acks.catch((error: unknown) =>
      this.cutOff(
        error instanceof FerryError ? error : new FerryError(ErrorCode.WRITE_FAILED, String(error)),
      ),
    );
    if (receiving.index >= receiving.files.length) this.#finishIncoming(offer, receiving);
  }

  #finishIncoming(offer: number, receiving: IncomingOffer): void {
    void receiving.acks.then(
      async () => {
        if (this.#incoming.get(offer) !== receiving) return;
        this.#incoming.delete(offer);
        // Every file is concluded: the partial folder has served, but for a file whose source
        // the proposer could not read, kept to resume from.
        const destination = receiving.destination;
        const kept = await destination?.complete().catch((error: unknown) => {
          this.#logger.warn({ err: error }, 'could not remove the partial folder');
          return undefined;
        });
        if (kept && destination)
          this.emit('partial-kept', { offer, outDir: destination.root, dir: kept.dir });
        this.emit('receive-done', {
          offer,
          saved: receiving.saved,
          failed: receiving.failed,
          bytes: receiving.bytes,
        });
      },
      () => {},
    );
  }

  #armKeepalive(): void {
    const every = this.#options.keepaliveMs ?? 15_000;
    let lastOut = this.connection.socket.bytesWritten;
    this.#keepalive = setInterval(() => {
      const now = this.connection.socket.bytesWritten;
      if (now === lastOut && !this.#ending && !this.#quitting)
        this.connection.ping().catch(() => {});
      lastOut = this.connection.socket.bytesWritten;
    }, every);
    this.#keepalive.unref?.();
  }
}
