import type { Socket } from 'node:net';
import {
  CHAT_DATA_CHUNK_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_TYPE_NAMES,
  FrameType,
  LIMITS,
  type Limits,
  TIMEOUTS,
} from '../constants.ts';
import {
  ConnectionClosedError,
  ErrorCode,
  FerryError,
  isErrorCode,
  PeerError,
  ProtocolError,
  TimeoutError,
} from '../errors.ts';
import { encodeFrameHeader, encodePreamble, writeFrameHeader } from '../frame/encode.ts';
import { FrameDecoder, type FrameEvent } from '../frame/decoder.ts';
import { decodeMessage, encodeMessage, isMessageType } from '../messages/codec.ts';
import type { ErrorMessage, MessageOf, MessageType } from '../messages/schemas.ts';
import { truncateUtf8 } from '../text.ts';
import { SlabPool } from './slab-pool.ts';

/**
 * A deadline that fires this much later than due means this process did not run meanwhile
 * (stopped with Ctrl-Z and resumed with fg, a suspended machine): that time is not the peer's
 * silence, and the deadline starts again.
 */
const LATE_MS = 1_000;
/** One validated item read from a peer. */
export type Incoming =
  | {
      [T in MessageType]: {
        readonly kind: 'message';
        readonly type: T;
        readonly message: MessageOf<T>;
      };
    }[MessageType]
  | {
      readonly kind: 'data';
      readonly bytes: Uint8Array;
      /** With external reads: call once the bytes are used, so their memory is reused. */
      readonly release?: () => void;
    }
  | { readonly kind: 'ping' }
  /**
   * A chat TX_DATA frame (PROTOCOL.md §12): file bytes of one offer, in a buffer of their own.
   * `release`, once the bytes are used, lets the connection reuse the buffer for a later frame.
   */
  | {
      readonly kind: 'tx-data';
      readonly offer: number;
      readonly bytes: Uint8Array;
      readonly release?: () => void;
    };

/** Queued DATA bytes at which the socket is paused, and below which it resumes. */
const QUEUE_HIGH_BYTES = 4 * 1024 * 1024;
const QUEUE_LOW_BYTES = 1024 * 1024;
/** Queued items (of any kind) at which the socket is paused. */
const MAX_QUEUED_ITEMS = 1024;

function toIncoming(
  event: Exclude<FrameEvent, { kind: 'data' }>,
  txBuffers?: TxBuffers,
): Incoming | { readonly kind: 'preamble' } {
  if (event.kind === 'preamble') return { kind: 'preamble' };
  if (event.type === FrameType.PING) return { kind: 'ping' };
  if (event.type === FrameType.TX_DATA) {
    const { payload } = event;
    const offer = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
    // Not copied: the decoder gathers a TX_DATA payload in memory of its own.
    const bytes = payload.subarray(4);
    const release = txBuffers?.releaser(payload);
    return release ? { kind: 'tx-data', offer, bytes, release } : { kind: 'tx-data', offer, bytes };
  }
  if (isMessageType(event.type)) {
    return {
      kind: 'message',
      type: event.type,
      message: decodeMessage(event.type, event.payload),
    } as Incoming;
  }
  throw new ProtocolError(
    ErrorCode.UNEXPECTED_FRAME,
    `unexpected ${FRAME_TYPE_NAMES.get(event.type) ?? event.type} frame`,
  );
}

/** The TX_DATA payload that {@link TxBuffers} reuses: our own chunk size and its offer id. */
const TX_BUFFER_BYTES = 4 + CHAT_DATA_CHUNK_BYTES;
/** Free TX_DATA buffers kept for reuse, at most. */
const MAX_FREE_TX_BUFFERS = 32;

/**
 * The buffers TX_DATA payloads are gathered in, reused once their bytes are on disk: a fresh
 * buffer per frame costs page faults and garbage collection on every 256 KiB of a file. A
 * payload up to TX_BUFFER_BYTES gets a pooled buffer; a larger one (another implementation
 * may send up to 1 MiB) a buffer of its own. Memory in use stays bounded by the credit (§12).
 */
class TxBuffers {
  #free: ArrayBuffer[] = [];
  #pooled = new WeakSet<ArrayBuffer>();

  allocate(bytes: number): Uint8Array {
    if (bytes > TX_BUFFER_BYTES) return new Uint8Array(bytes);
    const buffer = this.#free.pop() ?? this.#create();
    return new Uint8Array(buffer, 0, bytes);
  }

  /** Gives `payload`'s buffer back for reuse, once: for a payload this pool gave out. */
  releaser(payload: Uint8Array): (() => void) | undefined {
    const buffer = payload.buffer as ArrayBuffer;
    if (!this.#pooled.has(buffer)) return undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.#free.length < MAX_FREE_TX_BUFFERS) this.#free.push(buffer);
    };
  }

  #create(): ArrayBuffer {
    const buffer = new ArrayBuffer(TX_BUFFER_BYTES);
    this.#pooled.add(buffer);
    return buffer;
  }
}

/** Slabs that DATA is copied into when the socket reads into one reused buffer. */
const SLAB_BYTES = 1024 * 1024;
const MAX_SLABS = 8;
/** DATA gathered in a slab is handed on at least this often while bytes keep arriving. */
const FLUSH_AFTER_MS = 50;

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  readonly limits?: Limits;
  /**
   * The socket reads into one reused buffer (`onread`, or `readIntoUserBuffer` for a TLS socket)
   * and its chunks arrive through {@link Connection.feed}; each chunk is reused after `feed`
   * returns, so DATA is copied into pooled slabs.
   */
  readonly externalReads?: boolean;
  /** No bytes in or out for this long ends the connection. */
  readonly idleMs?: number;
  /** A frame that has started must be complete within this long, however slowly it trickles. */
  readonly frameMs?: number;
  /**
   * Whether the peer's PINGs count as life (default true). A sender lets a receiver keep the
   * link while its user decides or its disk syncs; a receiver expects the sender to send data.
   */
  readonly pingIsProgress?: boolean;
  /** How often {@link Connection.whileBusy} sends PING; `TIMEOUTS.keepaliveMs` by default. */
  readonly keepaliveMs?: number;
  /**
   * The preambles were already exchanged (see `exchangePreamble`), perhaps before TLS: the
   * connection neither sends nor expects one.
   */
  readonly preambleDone?: boolean;
  /**
   * Gather DATA into pooled slabs even though the socket emits its own buffers: a TLS socket
   * delivers 16 KiB records, and a file written 1 MiB at a time costs 64 times fewer writes.
   */
  readonly coalesce?: boolean;
}

/**
 * A Ferry connection over a socket: sends the preamble at once, then reads validated frames
 * with backpressure (nothing is read while the caller is busy) and writes frames without
 * copying payloads. Every wait is bounded: an idle timeout and an absolute per-frame deadline.
 */
export class Connection {
  readonly socket: Socket;
  #decoder: FrameDecoder;
  #txBuffers = new TxBuffers();
  #queue: (Incoming | { readonly kind: 'preamble' })[] = [];
  #slabs: SlabPool | undefined;
  #stopped = false;
  #discarding = false;
  #readPaused = false;
  #idleMs: number;
  #idleTimer: NodeJS.Timeout | undefined;
  #lastProgress = performance.now();
  #idleSuspended = 0;
  /** While above `#idleMs`: how long the peer may be silent (it may be waiting for a person). */
  #idleFloorMs = 0;
  #pingIsProgress: boolean;
  #keepaliveMs: number;
  #queuedBytes = 0;
  #waiter: (() => void) | undefined;
  #ended = false;
  #closed = false;
  #frameMs: number;
  #frameTimer: NodeJS.Timeout | undefined;
  #frameTimerFor = -1;
  #error: Error | undefined;
  /** The error told to the peer in an ERROR frame: nothing is sent after it (§4.12). */
  #told: FerryError | undefined;
  #preambleSeen = false;
  #bytesIn = 0;
  #lastFlush = performance.now();
  #onDataBound = (chunk: Buffer) => this.#onData(chunk);
  /** While set, the peer may send only PING (PROTOCOL.md §5.1, DECIDING). */
  #peerSilent = false;
  /** Waits that end at once when the peer breaks the protocol. */
  #onFailure = new Set<(error: Error) => void>();
  #emitData = (bytes: Uint8Array, release: (() => void) | undefined) => {
    this.#queue.push(release ? { kind: 'data', bytes, release } : { kind: 'data', bytes });
    this.#queuedBytes += bytes.byteLength;
  };

  constructor(socket: Socket, options: ConnectionOptions = {}) {
    this.socket = socket;
    this.#decoder = new FrameDecoder({
      expectPreamble: !options.preambleDone,
      limits: options.limits ?? LIMITS,
      allocate: (bytes) => this.#txBuffers.allocate(bytes),
    });
    this.#frameMs = options.frameMs ?? TIMEOUTS.frameMs;
    socket.on('error', (error) => {
      this.#error ??= error;
      this.#wake();
    });
    if (options.externalReads || options.coalesce) {
      this.#slabs = new SlabPool(SLAB_BYTES, MAX_SLABS, () => this.#maybeResume());
    }
    if (!options.externalReads) socket.on('data', this.#onDataBound);
    socket.on('end', () => this.#onEnd());
    socket.setNoDelay(true);
    this.#idleMs = options.idleMs ?? TIMEOUTS.idleMs;
    this.#pingIsProgress = options.pingIsProgress ?? true;
    this.#keepaliveMs = options.keepaliveMs ?? TIMEOUTS.keepaliveMs;
    this.#armIdle(this.#idleMs);
    socket.once('close', () => {
      this.#clearFrameTimer();
      clearTimeout(this.#idleTimer);
      this.#closed = true;
      this.#wake();
    });
    if (options.preambleDone) {
      this.#preambleSeen = true;
      // The preamble reader paused the socket; the listener above does not restart it.
      if (!options.externalReads) socket.resume();
    } else {
      this.#writeRaw(encodePreamble());
    }
  }

  /**
   * From now on the peer's PINGs count as life (see {@link ConnectionOptions.pingIsProgress}):
   * a conversation may be quiet for a long time, and both sides PING while it is (§12).
   */
  countPingsAsLife(): void {
    this.#pingIsProgress = true;
  }

  /** Whether the peer's preamble arrived and was valid: only then may an ERROR frame be sent. */
  get greeted(): boolean {
    return this.#preambleSeen;
  }

  /** Bytes received so far, preamble and headers included. */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** The remote address as `host:port`, for display. */
  get remote(): string {
    return Connection.describeRemote(this.socket);
  }

  /** A socket's remote address as `host:port`, IPv6 bracketed, IPv4-mapped shown as IPv4. */
  static describeRemote(socket: Socket): string {
    const { remoteAddress: raw, remotePort } = socket;
    if (!raw) return 'unknown';
    const remoteAddress = raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
    return remoteAddress.includes(':')
      ? `[${remoteAddress}]:${remotePort}`
      : `${remoteAddress}:${remotePort}`;
  }

  /** Waits for the peer's preamble, no longer than `timeoutMs`. */
  async readPreamble(timeoutMs: number = TIMEOUTS.handshakeMs): Promise<void> {
    if (this.#preambleSeen) return;
    const timer = !Number.isFinite(timeoutMs)
      ? undefined
      : setTimeout(() => {
          this.destroy(new TimeoutError('no Ferry greeting in time'));
        }, timeoutMs);
    try {
      const first = await this.#next();
      if (first === null)
        throw new ProtocolError(ErrorCode.TRUNCATED, 'the stream ended before the preamble');
      this.#preambleSeen = true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next item from the peer, or null when the peer closed cleanly between frames. */
  async read(): Promise<Incoming | null> {
    await this.readPreamble();
    const next = await this.#next();
    if (next !== null && next.kind === 'preamble')
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'a second preamble');
    return next;
  }

  /**
   * Reads the next message, which must be of `type`; PINGs are skipped, an ERROR frame
   * becomes a PeerError, and anything else is ERR_UNEXPECTED_FRAME.
   */
  async expect<T extends MessageType>(type: T, deadlineMs?: number): Promise<MessageOf<T>> {
    const timer =
      deadlineMs === undefined
        ? undefined
        : setTimeout(
            () => this.destroy(new TimeoutError(`no ${FRAME_TYPE_NAMES.get(type)} in time`)),
            deadlineMs,
          );
    try {
      return await this.#expect(type);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Tells the peer why the connection ends (an ERROR frame, bounded in size), then closes. */
  async sendErrorAndClose(error: FerryError): Promise<void> {
    const message = truncateUtf8(error.message, LIMITS.maxErrorMessageBytes);
    const sent = this.send(FrameType.ERROR, { code: error.code, message });
    // ERROR is the last frame: a write another task starts from now on is refused with it.
    this.#told ??= error;
    await sent.catch(() => {});
    await this.close(1_000).catch(() => {});
  }

  async #expect<T extends MessageType>(type: T): Promise<MessageOf<T>> {
    for (;;) {
      const incoming = await this.read();
      if (incoming === null) throw new ConnectionClosedError('the peer closed the connection');
      if (incoming.kind === 'ping') continue;
      if (incoming.kind === 'message' && incoming.type === FrameType.ERROR)
        throw peerError(incoming.message);
      if (incoming.kind === 'message' && incoming.type === type)
        return incoming.message as MessageOf<T>;
      throw unexpectedFrame(incoming);
    }
  }

  /** Sends a control message. Resolves once the socket can take more (backpressure). */
  send<T extends MessageType>(type: T, message: MessageOf<T>): Promise<void> {
    const payload = encodeMessage(type, message);
    return this.#writeFrame(type, payload);
  }

  /** Sends a keepalive. */
  ping(): Promise<void> {
    return this.#writeFrame(FrameType.PING, new Uint8Array(0));
  }

  /**
   * Sends a DATA frame around `bytes` without copying them; `onFlushed` runs once the socket
   * no longer needs them, so the caller may reuse the buffer.
   */
  sendData(bytes: Uint8Array, onFlushed?: () => void): Promise<void> {
    return this.#writeFrame(FrameType.DATA, bytes, onFlushed);
  }

  /**
   * Sends a DATA frame built in place: `frame` starts with FRAME_HEADER_BYTES of room, then
   * holds the payload. The header is written into that room and the frame goes out as one
   * buffer, which a TLS socket encrypts without first copying header and payload together.
   * `onFlushed` runs once the socket no longer needs `frame`.
   */
  sendDataInPlace(frame: Uint8Array, onFlushed?: () => void): Promise<void> {
    return this.sendInPlace(FrameType.DATA, frame, onFlushed);
  }

  /**
   * Sends a frame of `type` built in place, like {@link sendDataInPlace}: `frame` starts with
   * FRAME_HEADER_BYTES of room for the header, then the payload (for TX_DATA, the offer id
   * the caller wrote, then the file bytes).
   */
  sendInPlace(type: number, frame: Uint8Array, onFlushed?: () => void): Promise<void> {
    const payloadLength = frame.byteLength - FRAME_HEADER_BYTES;
    if (payloadLength <= 0)
      throw new RangeError('a frame built in place needs room for its header and a payload');
    writeFrameHeader(frame, type, payloadLength);
    const socket = this.socket;
    if (this.#told || socket.destroyed || socket.writableEnded)
      return Promise.reject(this.#closedError());
    return this.#afterWrite(socket.write(frame, onFlushed));
  }

  /** Flushes what is queued, half-closes, and waits (bounded) for the peer to close too. */
  async close(timeoutMs = 5_000): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
      }, timeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
      // Keep reading so the peer's FIN is seen even if nobody consumes frames any more.
      this.#stopped = true;
      this.#discarding = true;
      socket.off('data', this.#onDataBound);
      socket.resume();
    });
  }

  /** Ends the connection at once. */
  destroy(error?: Error): void {
    this.#clearFrameTimer();
    if (error) this.#error ??= error;
    this.socket.destroy();
    this.#wake();
  }

  /**
   * Takes one chunk read by an `onread` socket (see {@link ConnectionOptions.externalReads}).
   * Returns false when the socket should stop reading until memory is released.
   */
  feed(chunk: Uint8Array): boolean {
    if (this.#discarding) return true;
    if (this.#stopped) return false;
    this.#onData(chunk);
    return !this.#stopped && !this.#readPaused;
  }

  #onData(chunk: Uint8Array): void {
    const now = performance.now();
    this.#bytesIn += chunk.byteLength;
    let events: readonly FrameEvent[];
    let failure: Error | undefined;
    try {
      events = this.#decoder.push(chunk);
    } catch (error) {
      // What the chunk held before the fault still arrived, and is delivered before the fault.
      events = this.#decoder.completedBeforeFailure;
      failure = error as Error;
    }
    if (!failure) this.#armFrameTimer();
    const slabs = this.#slabs;
    for (const event of events) {
      if (event.kind !== 'frame' || event.type !== FrameType.PING || this.#pingIsProgress) {
        this.#lastProgress = now;
      }
      if (this.#peerSilent && !(event.kind === 'frame' && event.type === FrameType.PING)) {
        this.#failSilence(event);
        return;
      }
      if (event.kind === 'data') {
        if (slabs) slabs.append(event.bytes, this.#emitData);
        else this.#emitData(event.bytes, undefined);
        continue;
      }
      slabs?.flush(this.#emitData);
      try {
        // Decoded now: with external reads the payload is only valid during this call.
        this.#queue.push(toIncoming(event, this.#txBuffers));
      } catch (error) {
        this.#fail(error as Error);
        return;
      }
    }
    // DATA is handed on when its frame ends, its slab fills, or it has waited FLUSH_AFTER_MS: one
    // item per 1 MiB frame on a fast link rather than one per read (for TLS, per 16 KiB record),
    // and steady progress on a slow one.
    if (slabs) {
      if (failure || !this.#decoder.inDataPayload || now - this.#lastFlush >= FLUSH_AFTER_MS) {
        slabs.flush(this.#emitData);
        this.#lastFlush = now;
      }
    }
    if (failure) {
      this.#fail(failure);
      return;
    }
    // Backpressure: stop reading the socket while the caller has enough to chew on, counting
    // control frames too, so a flood of PINGs or OFFERs cannot fill memory either.
    const full =
      this.#queue.length >= MAX_QUEUED_ITEMS ||
      this.#queuedBytes >= QUEUE_HIGH_BYTES ||
      Boolean(slabs?.low);
    if (full && !this.#readPaused) {
      this.#readPaused = true;
      this.socket.pause();
      // While we hold the peer back, its frame is not late: the deadline restarts on resume.
      this.#clearFrameTimer();
    }
    this.#wake();
  }

  #maybeResume(): void {
    if (!this.#readPaused || this.#stopped) return;
    const roomy =
      this.#queue.length < MAX_QUEUED_ITEMS / 2 &&
      this.#queuedBytes < QUEUE_LOW_BYTES &&
      !this.#slabs?.low;
    if (!roomy) return;
    this.#readPaused = false;
    // For an `onread` socket too, resume() starts reading again.
    this.socket.resume();
  }

  /** Ends the connection if nothing counted as progress arrived for `idleMs` (monotonic clock). */
  #armIdle(ms: number): void {
    const due = performance.now() + ms;
    this.#idleTimer = setTimeout(() => {
      const late = performance.now() - due;
      if (late > LATE_MS) {
        // This process did not run (Ctrl-Z, a suspended machine, a stalled event loop): what the
        // peer sent meanwhile is still unread. Read it first (setImmediate runs after this turn's
        // poll phase), and count only the time this process ran as the peer's silence: the
        // deadline moves by the lateness, never by a whole new idleMs.
        const firedAt = performance.now();
        setImmediate(() => {
          if (this.#closed) return;
          if (this.#lastProgress < firedAt)
            this.#lastProgress = Math.min(firedAt, this.#lastProgress + late);
          this.#armIdle(0);
        });
        return;
      }
      const quiet = performance.now() - this.#lastProgress;
      const allowed = Math.max(this.#idleMs, this.#idleFloorMs);
      if (this.#idleSuspended > 0 || quiet < allowed) {
        this.#armIdle(this.#idleSuspended > 0 ? this.#idleMs : allowed - quiet);
        return;
      }
      this.destroy(new TimeoutError('the peer went silent'));
    }, ms);
  }

  /**
   * Waits for `work` while the peer may be waiting for its user: the peer keeps the link alive
   * with a PING every `keepaliveMs`, so silence is tolerated for at least two of those, however
   * short our own idle timeout is.
   */
  async whilePeerBusy<T>(work: () => Promise<T>): Promise<T> {
    const before = this.#idleFloorMs;
    this.#idleFloorMs = Math.max(before, 2 * TIMEOUTS.keepaliveMs);
    try {
      return await work();
    } finally {
      this.#idleFloorMs = before;
    }
  }

  /**
   * Waits for local work (the user deciding, the disk syncing) while keeping the link alive:
   * PINGs go out every `keepaliveMs`, our idle timeout is suspended, and the wait ends with
   * an error if the connection closes meanwhile.
   */
  async whileBusy<T>(work: Promise<T>): Promise<T> {
    let onFailure: ((error: Error) => void) | undefined;
    const failed = new Promise<never>((_, reject) => {
      onFailure = reject;
    });
    this.#onFailure.add(onFailure!);
    try {
      return await this.#whileBusy(Promise.race([work, failed]));
    } finally {
      this.#onFailure.delete(onFailure!);
      // Nobody awaits it any more: a later failure must not go unhandled.
      failed.catch(() => {});
    }
  }

  /**
   * From now until {@link Connection.releasePeerSilence}, the peer may send nothing but PING:
   * any other frame, already queued or arriving, fails the connection with
   * ERR_UNEXPECTED_FRAME (an ERROR frame ends it as the peer's error), and a
   * {@link Connection.whileBusy} wait ends at once. For the receiver between OFFER and REQUEST.
   */
  requirePeerSilence(): void {
    this.#peerSilent = true;
    const queued = this.#queue.find((item) => item.kind !== 'ping');
    if (queued) this.#fail(silenceBroken(queued));
  }

  /**
   * Ends {@link Connection.requirePeerSilence}, throwing the error if the peer broke it. Call it
   * just before writing the request, in the same tick, so nothing can arrive in between.
   */
  releasePeerSilence(): void {
    this.#peerSilent = false;
    if (this.#stopped && this.#error) throw this.#error;
  }

  #failSilence(event: FrameEvent): void {
    let error: Error;
    try {
      error = silenceBroken(
        event.kind === 'data' ? { kind: 'data', bytes: event.bytes } : toIncoming(event),
      );
    } catch (decodeError) {
      error = decodeError as Error;
    }
    this.#fail(error);
  }

  async #whileBusy<T>(work: Promise<T>): Promise<T> {
    this.#idleSuspended++;
    const pinger = setInterval(() => {
      this.ping().catch(() => {});
    }, this.#keepaliveMs);
    let onClose: (() => void) | undefined;
    const closed = new Promise<never>((_, reject) => {
      onClose = () =>
        reject(
          this.#error instanceof FerryError
            ? this.#error
            : new ConnectionClosedError('the peer went away'),
        );
      this.socket.once('close', onClose);
    });
    try {
      if (this.#closed) {
        // Nobody awaits `work` now: its failure (a write to the closed link) must not go unhandled.
        work.catch(() => {});
        throw new ConnectionClosedError('the peer went away');
      }
      return await Promise.race([work, closed]);
    } finally {
      clearInterval(pinger);
      if (onClose) this.socket.off('close', onClose);
      this.#idleSuspended--;
      this.#lastProgress = performance.now();
    }
  }

  /**
   * The peer broke the protocol: stop reading for good, but keep the socket open so the
   * caller can still send an ERROR frame explaining why before it closes. What arrived before
   * the fault is still delivered; every read after it fails the same way.
   */
  #fail(error: Error): void {
    this.#error ??= error;
    for (const onFailure of this.#onFailure) onFailure(this.#error);
    this.#stopped = true;
    this.socket.off('data', this.#onDataBound);
    this.socket.pause();
    this.#clearFrameTimer();
    this.#wake();
  }

  #onEnd(): void {
    try {
      this.#decoder.end();
    } catch (error) {
      this.#error ??= error as Error;
    }
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** The next decoded event, waiting if none is queued; null at a clean end of stream. */
  async #next(): Promise<Incoming | { readonly kind: 'preamble' } | null> {
    for (;;) {
      const event = this.#queue.shift();
      if (event) {
        if (event.kind === 'data') this.#queuedBytes -= event.bytes.byteLength;
        this.#maybeResume();
        return event;
      }
      if (this.#error) throw explainSocketError(this.#error);
      if (this.#ended) return null;
      if (this.#closed) throw new ConnectionClosedError('the connection closed');
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  #armFrameTimer(): void {
    if (!this.#decoder.midFrame) {
      this.#clearFrameTimer();
      return;
    }
    const frame = this.#decoder.framesCompleted;
    if (this.#frameTimer && this.#frameTimerFor === frame) return;
    this.#clearFrameTimer();
    this.#frameTimerFor = frame;
    this.#armFrameDeadline(this.#frameMs);
  }

  /** Fails a frame still incomplete after `ms`, not counting time this process did not run. */
  #armFrameDeadline(ms: number): void {
    const due = performance.now() + ms;
    this.#frameTimer = setTimeout(() => {
      const late = performance.now() - due;
      if (late > LATE_MS) {
        // Time this process did not run is given back to the frame, and no more: an absolute
        // deadline still, which a peer cannot renew by making this process stall.
        this.#armFrameDeadline(Math.min(late, this.#frameMs));
        return;
      }
      this.destroy(new TimeoutError('a frame did not complete in time'));
    }, ms);
  }

  #clearFrameTimer(): void {
    if (this.#frameTimer) clearTimeout(this.#frameTimer);
    this.#frameTimer = undefined;
  }

  #writeFrame(type: number, payload: Uint8Array, onFlushed?: () => void): Promise<void> {
    const socket = this.socket;
    if (this.#told || socket.destroyed || socket.writableEnded)
      return Promise.reject(this.#closedError());
    socket.cork();
    socket.write(encodeFrameHeader(type, payload.byteLength));
    const ok = payload.byteLength === 0 ? true : socket.write(payload, onFlushed);
    socket.uncork();
    return this.#afterWrite(ok);
  }

  #closedError(): Error {
    if (this.#told) return this.#told;
    return this.#error instanceof FerryError
      ? this.#error
      : new ConnectionClosedError('the connection is closed');
  }

  /** Waits for the socket to drain if the write just made filled it. */
  #afterWrite(ok: boolean): Promise<void> {
    const socket = this.socket;
    if (!ok || socket.writableNeedDrain) return this.#drain();
    // Bytes going out are progress too (PROTOCOL.md §7): a sender streaming a long file hears
    // nothing back until its end. A peer that stops reading is caught by the drain's stall timer.
    this.#lastProgress = performance.now();
    return Promise.resolve();
  }

  #writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  #drain(): Promise<void> {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      // A peer that stops reading (a zero window) is cut off, however many PINGs it sends.
      const stall = setTimeout(
        () => this.destroy(new TimeoutError('the peer stopped reading')),
        this.#idleMs,
      );
      const done = (error?: Error) => {
        clearTimeout(stall);
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => {
        this.#lastProgress = performance.now();
        done();
      };
      const onClose = () =>
        done(
          this.#error instanceof FerryError
            ? this.#error
            : new ConnectionClosedError('the connection closed', { cause: this.#error }),
        );
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
  }
}

/** The error to raise for a peer's ERROR frame: the peer's code when this version knows it. */
export function peerError(message: ErrorMessage): PeerError {
  const code = isErrorCode(message.code) ? message.code : ErrorCode.INTERNAL;
  return new PeerError(code, message.message);
}

/** The error for what a peer sent while it had to keep silent: its own ERROR, or an unexpected frame. */
function silenceBroken(incoming: Incoming | { readonly kind: 'preamble' }): Error {
  if (incoming.kind === 'message' && incoming.type === FrameType.ERROR)
    return peerError(incoming.message);
  if (incoming.kind === 'preamble')
    return new ProtocolError(ErrorCode.BAD_MESSAGE, 'a second preamble');
  return unexpectedFrame(incoming);
}

/** The error to raise for an item that the current state does not allow. */
export function unexpectedFrame(incoming: Incoming): ProtocolError {
  const what =
    incoming.kind === 'message'
      ? `${FRAME_TYPE_NAMES.get(incoming.type)} frame`
      : incoming.kind === 'data'
        ? 'DATA frame'
        : incoming.kind === 'tx-data'
          ? 'TX_DATA frame'
          : 'PING';
  return new ProtocolError(ErrorCode.UNEXPECTED_FRAME, `unexpected ${what}`);
}

/** A socket's error as a FerryError: ours pass through, a reset or other failure is a closed connection. */
export function explainSocketError(error: Error): FerryError {
  if (error instanceof FerryError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ECONNRESET' ? 'the peer reset the connection' : 'the connection failed';
  return new ConnectionClosedError(reason, { cause: error });
}
