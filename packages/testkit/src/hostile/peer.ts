import type { Socket } from 'node:net';
import {
  decodeMessage,
  FrameDecoder,
  FrameType,
  isMessageType,
  type MessageOf,
  type MessageType,
} from '@ferry/protocol';
import { type FrameFields, type Flips, frame, messageFrame, type Raw, toBytes } from './wire.ts';

/** A frame the peer under test sent, as the emulator read it. */
export interface ReceivedFrame {
  readonly type: number;
  /** The raw payload; for DATA, the bytes of one read (frame boundaries are not kept). */
  readonly payload: Uint8Array;
  /** The decoded message, when the payload is a valid one. */
  readonly message?: unknown;
}

/** How long a hostile peer waits for the peer under test by default. */
export const PEER_WAIT_MS = 20_000;

/** Where a {@link HostilePeer} talks. */
export interface PeerSockets {
  /** The socket frames travel on: TLS after pairing, or the TCP socket in clear. */
  readonly socket: Socket;
  /** The TCP socket underneath, which a reset goes to. */
  readonly tcp: Socket;
  /** Bytes read past the preamble that belong to the first frame. */
  readonly leftover?: Uint8Array;
}

/**
 * One side of a Ferry connection played by a script: it writes whatever it is told (valid
 * frames, flipped fields, raw bytes, a trickle, a reset) and reads what the real peer sends.
 */
export class HostilePeer {
  readonly socket: Socket;
  readonly tcp: Socket;
  /** Every frame received so far, in order. */
  readonly frames: ReceivedFrame[] = [];
  /** Resolves once the connection is closed, whoever closed it. */
  readonly closed: Promise<void>;
  /** Bytes received so far on the frame socket. */
  bytesIn = 0;
  /** Why the real peer's bytes could not be read as Ferry frames, if they could not. */
  decodeError: unknown;
  #decoder: FrameDecoder;
  #read = 0;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(sockets: PeerSockets, options: { expectPreamble?: boolean } = {}) {
    this.socket = sockets.socket;
    this.tcp = sockets.tcp;
    this.#decoder = new FrameDecoder({ expectPreamble: options.expectPreamble ?? false });
    // The peer under test may reset the connection: that is what some tests are about.
    for (const socket of new Set([this.socket, this.tcp])) socket.on('error', () => {});
    // Not events.once: it rejects on 'error', and a reset is not a failure here.
    this.closed = new Promise<void>((resolve) => this.tcp.once('close', () => resolve())).then(() => {
      this.#ended = true;
      this.#wakeUp();
    });
    this.socket.on('data', (chunk: Buffer) => this.#take(chunk));
    this.socket.on('end', () => {
      this.#ended = true;
      this.#wakeUp();
    });
    if (sockets.leftover && sockets.leftover.byteLength > 0) this.#take(Buffer.from(sockets.leftover));
    this.socket.resume();
  }

  #take(chunk: Buffer): void {
    this.bytesIn += chunk.byteLength;
    if (this.decodeError === undefined) {
      try {
        for (const event of this.#decoder.push(chunk)) {
          if (event.kind === 'preamble') continue;
          if (event.kind === 'data') {
            this.frames.push({ type: FrameType.DATA, payload: Uint8Array.from(event.bytes) });
            continue;
          }
          let message: unknown;
          if (isMessageType(event.type)) {
            try {
              message = decodeMessage(event.type, event.payload);
            } catch {
              message = undefined;
            }
          }
          this.frames.push({ type: event.type, payload: Uint8Array.from(event.payload), message });
        }
      } catch (error) {
        this.decodeError = error;
      }
    }
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Writes raw bytes as they are; resolves once the socket took them. */
  write(...parts: Raw[]): Promise<void> {
    const bytes = Buffer.concat(parts.map((part) => toBytes(part)));
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.socket.writableEnded) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Sends a control message with `flips` applied (see {@link messageFrame}); nothing is validated. */
  send<T extends MessageType>(
    type: T,
    message: MessageOf<T> | Record<string, unknown>,
    flips: Flips = {},
    fields: FrameFields = {},
  ): Promise<void> {
    return this.write(messageFrame(type, message, flips, fields));
  }

  /** Sends one DATA frame around `bytes` (a header field may be flipped). */
  data(bytes: Raw, fields: FrameFields = {}): Promise<void> {
    return this.write(frame(FrameType.DATA, bytes, fields));
  }

  /**
   * Writes `bytes` a few at a time, each piece flushed before the next (and `everyMs` apart);
   * stops early when the connection closes. Resolves with the number of bytes written.
   */
  async trickle(bytes: Raw, options: { piece?: number; everyMs?: number } = {}): Promise<number> {
    const all = toBytes(bytes);
    const piece = options.piece ?? 1;
    let written = 0;
    while (written < all.byteLength && !this.#ended && !this.socket.destroyed) {
      await this.write(all.subarray(written, written + piece));
      written = Math.min(all.byteLength, written + piece);
      if (options.everyMs) await new Promise((resolve) => setTimeout(resolve, options.everyMs));
    }
    return written;
  }

  /** Half-closes: sends FIN after `last` (if given), and keeps reading. */
  end(last?: Raw): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.socket.writableEnded) return resolve();
      if (last === undefined) this.socket.end(() => resolve());
      else this.socket.end(toBytes(last), () => resolve());
    });
  }

  /** Resets the TCP connection (RST), as a crashed or hostile peer would. */
  reset(): void {
    if (!this.tcp.destroyed) this.tcp.resetAndDestroy();
  }

  /** The next frame, or null once the connection has ended; bounded by `ms`. */
  async next(ms = PEER_WAIT_MS): Promise<ReceivedFrame | null> {
    const deadline = performance.now() + ms;
    for (;;) {
      const frame = this.frames[this.#read];
      if (frame) {
        this.#read++;
        return frame;
      }
      if (this.#ended || this.decodeError !== undefined) return null;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no frame from the peer under test within ${ms} ms; got ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The next frame other than PING, which must be of `type`; returns its decoded message. */
  async expect<T extends MessageType>(type: T, ms = PEER_WAIT_MS): Promise<MessageOf<T>> {
    for (;;) {
      const frame = await this.next(ms);
      if (frame?.type === FrameType.PING) continue;
      if (frame?.type !== type || frame.message === undefined) {
        throw new Error(`expected a valid frame of type ${type}, got ${frame ? describeFrame(frame) : 'the end of the connection'}; all: ${this.describe()}`);
      }
      return frame.message as MessageOf<T>;
    }
  }

  /** Waits (bounded) for the connection to close; returns every frame received. */
  async allFrames(ms = PEER_WAIT_MS): Promise<readonly ReceivedFrame[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the peer under test did not close within ${ms} ms; got ${this.describe()}`)), ms);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return this.frames;
  }

  /** The frame types received, PINGs left out: what most assertions look at. */
  types(): number[] {
    return this.frames.filter((f) => f.type !== FrameType.PING).map((f) => f.type);
  }

  /** The last frame received, if it is an ERROR: its message. */
  lastError(): { code: string; message: string } | undefined {
    const last = this.frames.at(-1);
    return last?.type === FrameType.ERROR ? (last.message as { code: string; message: string }) : undefined;
  }

  /** The frames so far, for failure messages. */
  describe(): string {
    return `[${this.frames.map(describeFrame).join(', ')}]${this.decodeError ? ` then ${String(this.decodeError)}` : ''}`;
  }
}

function describeFrame(frame: ReceivedFrame): string {
  return frame.message === undefined ? `type ${frame.type} (${frame.payload.byteLength} bytes)` : `type ${frame.type} ${JSON.stringify(frame.message)}`;
}
