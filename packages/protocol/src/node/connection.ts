import type { Socket } from 'node:net';
import { FRAME_TYPE_NAMES, FrameType, LIMITS, type Limits, TIMEOUTS } from '../constants.ts';
import {
  ConnectionClosedError,
  ErrorCode,
  FerryError,
  isErrorCode,
  PeerError,
  ProtocolError,
  TimeoutError,
} from '../errors.ts';
import { encodeFrameHeader, encodePreamble } from '../frame/encode.ts';
import { FrameDecoder } from '../frame/decoder.ts';
import { decodeMessage, encodeMessage, isMessageType } from '../messages/codec.ts';
import type { ErrorMessage, MessageOf, MessageType } from '../messages/schemas.ts';

/** One validated item read from a peer. */
export type Incoming =
  | { [T in MessageType]: { readonly kind: 'message'; readonly type: T; readonly message: MessageOf<T> } }[MessageType]
  | { readonly kind: 'data'; readonly bytes: Uint8Array }
  | { readonly kind: 'ping' };

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  readonly limits?: Limits;
  /** No bytes in or out for this long ends the connection. */
  readonly idleMs?: number;
  /** A frame that has started must be complete within this long, however slowly it trickles. */
  readonly frameMs?: number;
}

/**
 * A Ferry connection over a socket: sends the preamble at once, then reads validated frames
 * with backpressure (nothing is read while the caller is busy) and writes frames without
 * copying payloads. Every wait is bounded: an idle timeout and an absolute per-frame deadline.
 */
export class Connection {
  readonly socket: Socket;
  #decoder: FrameDecoder;
  #events: AsyncGenerator<Incoming | { readonly kind: 'preamble' }, void>;
  #frameMs: number;
  #frameTimer: NodeJS.Timeout | undefined;
  #frameTimerFor = -1;
  #error: Error | undefined;
  #preambleSeen = false;
  #bytesIn = 0;

  constructor(socket: Socket, options: ConnectionOptions = {}) {
    this.socket = socket;
    this.#decoder = new FrameDecoder({ expectPreamble: true, limits: options.limits ?? LIMITS });
    this.#frameMs = options.frameMs ?? TIMEOUTS.frameMs;
    socket.on('error', (error) => {
      this.#error ??= error;
    });
    socket.setNoDelay(true);
    socket.setTimeout(options.idleMs ?? TIMEOUTS.idleMs, () => {
      this.destroy(new TimeoutError('the peer went silent'));
    });
    socket.once('close', () => this.#clearFrameTimer());
    this.#events = this.#read();
    this.#writeRaw(encodePreamble());
  }

  /** Bytes received so far, preamble and headers included. */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** The remote address as `host:port`, for display. */
  get remote(): string {
    const { remoteAddress, remotePort } = this.socket;
    if (!remoteAddress) return 'unknown';
    return remoteAddress.includes(':') ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
  }

  /** Waits for the peer's preamble, no longer than `timeoutMs`. */
  async readPreamble(timeoutMs: number = TIMEOUTS.handshakeMs): Promise<void> {
    if (this.#preambleSeen) return;
    const timer = setTimeout(() => {
      this.destroy(new TimeoutError('no Ferry greeting in time'));
    }, timeoutMs);
    try {
      const first = await this.#events.next();
      if (first.done) throw new ProtocolError(ErrorCode.TRUNCATED, 'the stream ended before the preamble');
      this.#preambleSeen = true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next item from the peer, or null when the peer closed cleanly between frames. */
  async read(): Promise<Incoming | null> {
    await this.readPreamble();
    const next = await this.#events.next();
    if (next.done) return null;
    return next.value as Incoming;
  }

  /**
   * Reads the next message, which must be of `type`; PINGs are skipped, an ERROR frame
   * becomes a PeerError, and anything else is ERR_UNEXPECTED_FRAME.
   */
  async expect<T extends MessageType>(type: T): Promise<MessageOf<T>> {
    for (;;) {
      const incoming = await this.read();
      if (incoming === null) throw new ConnectionClosedError('the peer closed the connection');
      if (incoming.kind === 'ping') continue;
      if (incoming.kind === 'message' && incoming.type === FrameType.ERROR) throw peerError(incoming.message);
      if (incoming.kind === 'message' && incoming.type === type) return incoming.message as MessageOf<T>;
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

  /** Sends a DATA frame around `bytes` without copying them. */
  sendData(bytes: Uint8Array): Promise<void> {
    return this.#writeFrame(FrameType.DATA, bytes);
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
      socket.resume();
    });
  }

  /** Ends the connection at once. */
  destroy(error?: Error): void {
    this.#clearFrameTimer();
    if (error) this.#error ??= error;
    this.socket.destroy(error);
  }

  async *#read(): AsyncGenerator<Incoming | { readonly kind: 'preamble' }, void> {
    try {
      for await (const chunk of this.socket as AsyncIterable<Buffer>) {
        this.#bytesIn += chunk.byteLength;
        const events = this.#decoder.push(chunk);
        this.#armFrameTimer();
        for (const event of events) {
          if (event.kind === 'preamble') yield { kind: 'preamble' };
          else if (event.kind === 'data') yield event;
          else if (event.type === FrameType.PING) yield { kind: 'ping' };
          else if (isMessageType(event.type)) {
            yield { kind: 'message', type: event.type, message: decodeMessage(event.type, event.payload) } as Incoming;
          } else {
            throw new ProtocolError(
              ErrorCode.UNEXPECTED_FRAME,
              `unexpected ${FRAME_TYPE_NAMES.get(event.type) ?? event.type} frame`,
            );
          }
        }
      }
      this.#decoder.end();
    } catch (error) {
      throw this.#explain(error);
    } finally {
      this.#clearFrameTimer();
    }
  }

  #explain(error: unknown): Error {
    if (error instanceof FerryError) return error;
    const known = this.#error;
    if (known instanceof FerryError) return known;
    const code = (error as NodeJS.ErrnoException)?.code;
    const reason = code === 'ECONNRESET' ? 'the peer reset the connection' : 'the connection failed';
    return new ConnectionClosedError(reason, { cause: known ?? error });
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
    this.#frameTimer = setTimeout(() => {
      this.destroy(new TimeoutError('a frame did not complete in time'));
    }, this.#frameMs);
  }

  #clearFrameTimer(): void {
    if (this.#frameTimer) clearTimeout(this.#frameTimer);
    this.#frameTimer = undefined;
  }

  #writeFrame(type: number, payload: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) {
      return Promise.reject(this.#error instanceof FerryError ? this.#error : new ConnectionClosedError('the connection is closed'));
    }
    socket.cork();
    socket.write(encodeFrameHeader(type, payload.byteLength));
    const ok = payload.byteLength === 0 ? true : socket.write(payload);
    socket.uncork();
    return ok && !socket.writableNeedDrain ? Promise.resolve() : this.#drain();
  }

  #writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  #drain(): Promise<void> {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () =>
        done(this.#error instanceof FerryError ? this.#error : new ConnectionClosedError('the connection closed', { cause: this.#error }));
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

/** The error to raise for an item that the current state does not allow. */
export function unexpectedFrame(incoming: Incoming): ProtocolError {
  const what =
    incoming.kind === 'message' ? `${FRAME_TYPE_NAMES.get(incoming.type)} frame` : incoming.kind === 'data' ? 'DATA frame' : 'PING';
  return new ProtocolError(ErrorCode.UNEXPECTED_FRAME, `unexpected ${what}`);
}
