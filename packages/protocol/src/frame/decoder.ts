import {
  AUTH_FRAME_TYPES,
  CHAT,
  FRAME_HEADER_BYTES,
  FRAME_TYPE_NAMES,
  FrameType,
  KNOWN_PREAMBLE_FLAGS,
  LIMITS,
  type Limits,
  MAGIC,
  PREAMBLE_BYTES,
  PROTOCOL_VERSION,
} from '../constants.ts';
import { ErrorCode, LimitError, ProtocolError } from '../errors.ts';

/** What the decoder produces, in stream order. */
export type FrameEvent =
  | { readonly kind: 'preamble'; readonly version: number; readonly flags: number }
  | { readonly kind: 'frame'; readonly type: number; readonly payload: Uint8Array }
  | { readonly kind: 'data'; readonly bytes: Uint8Array };

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Expect the 12-byte preamble before the first frame. */
  readonly expectPreamble?: boolean;
  readonly limits?: Limits;
  /**
   * Gives the memory a TX_DATA payload of `bytes` is gathered in (default: a new buffer), so
   * the caller may hand out memory it reuses once the file bytes are on disk.
   */
  readonly allocate?: (bytes: number) => Uint8Array;
}

/** The largest payload a frame of `type` may announce, or undefined for an unknown type. */
export function maxPayloadFor(type: number, limits: Limits = LIMITS): number | undefined {
  if (!FRAME_TYPE_NAMES.has(type)) return undefined;
  if (type === FrameType.DATA) return limits.maxDataPayloadBytes;
  if (type === FrameType.OFFER) return limits.maxOfferPayloadBytes;
  if (type === FrameType.REQUEST) return limits.maxRequestPayloadBytes;
  if (type === FrameType.PING) return 0;
  if (type === FrameType.TX_DATA) return 4 + CHAT.maxTxDataBytes;
  if (type === FrameType.PROPOSE) return limits.maxOfferPayloadBytes;
  if (type === FrameType.ACCEPT) return limits.maxRequestPayloadBytes;
  if (AUTH_FRAME_TYPES.has(type)) return limits.maxAuthPayloadBytes;
  return limits.maxControlPayloadBytes;
}

/**
 * An incremental decoder: fed chunks of any size, it returns whole control frames and
 * DATA payload pieces as views of the input (no copy). It checks every announced length
 * against its limit before buffering a byte of the payload.
 */
export class FrameDecoder {
  #limits: Limits;
  #preambleLeft: number;
  #preamble = new Uint8Array(PREAMBLE_BYTES);
  #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #type = 0;
  #remaining = 0;
  #inPayload = false;
  #parts: Uint8Array[] = [];
  #partsBytes = 0;
  /**
   * A TX_DATA frame's payload, filled as its bytes arrive: one buffer of the announced length
   * (at most 4 + 1 MiB), taken when the first byte arrives, so file bytes are copied once.
   */
  #txPayload: Uint8Array | undefined;
  #allocate: (bytes: number) => Uint8Array;
  #frames = 0;
  #failed = false;
  #beforeFailure: FrameEvent[] = [];

  constructor(options: FrameDecoderOptions = {}) {
    this.#limits = options.limits ?? LIMITS;
    this.#allocate = options.allocate ?? ((bytes) => new Uint8Array(bytes));
    this.#preambleLeft = options.expectPreamble ? PREAMBLE_BYTES : 0;
  }

  /** True while a frame (or the preamble) has started but not finished. */
  get midFrame(): boolean {
    return (
      this.#headerFill > 0 ||
      this.#inPayload ||
      (this.#preambleLeft > 0 && this.#preambleLeft < PREAMBLE_BYTES)
    );
  }

  /** True while inside a DATA frame's payload: more of its bytes are to come. */
  get inDataPayload(): boolean {
    return this.#inPayload && this.#type === FrameType.DATA;
  }

  /** How many frames have completed: changes whenever a new frame starts being read. */
  get framesCompleted(): number {
    return this.#frames;
  }

  /**
   * Bytes held between calls for the unfinished preamble, header or control payload. DATA is
   * never held, so this stays within the current frame's cap plus its header (A1). (A TX_DATA
   * frame's buffer has its announced length, within its cap, from its first payload byte on.)
   */
  get bufferedBytes(): number {
    const preamble = this.#preambleLeft > 0 ? PREAMBLE_BYTES - this.#preambleLeft : 0;
    return preamble + this.#headerFill + this.#partsBytes;
  }

  /** Feeds one chunk; returns the events it completes. Throws a typed error on bad input. */
  push(chunk: Uint8Array): FrameEvent[] {
    if (this.#failed) throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'decoder already failed');
    const events: FrameEvent[] = [];
    try {
      this.#push(chunk, events);
      return events;
    } catch (error) {
      this.#failed = true;
      this.#beforeFailure = events;
      throw error;
    }
  }

  /**
   * After `push` threw: the events the failing chunk completed before the fault, in order (a
   * DONE that came with garbage behind it in one read is still a DONE).
   */
  get completedBeforeFailure(): readonly FrameEvent[] {
    return this.#beforeFailure;
  }

  /** Declares the end of input; throws if it falls inside the preamble or a frame. */
  end(): void {
    if (this.midFrame) {
      throw new ProtocolError(ErrorCode.TRUNCATED, 'the stream ended inside a frame');
    }
    if (this.#preambleLeft === PREAMBLE_BYTES) {
      throw new ProtocolError(ErrorCode.TRUNCATED, 'the stream ended before the preamble');
    }
  }

  #push(chunk: Uint8Array, events: FrameEvent[]): void {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.#preambleLeft > 0) {
        offset = this.#readPreamble(chunk, offset, events);
      } else if (!this.#inPayload) {
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerFill, chunk.byteLength - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
        this.#headerFill += take;
        offset += take;
        if (this.#headerFill === FRAME_HEADER_BYTES) this.#startFrame(events);
      } else {
        const take = Math.min(this.#remaining, chunk.byteLength - offset);
        const piece = chunk.subarray(offset, offset + take);
        offset += take;
        this.#remaining -= take;
        if (this.#type === FrameType.DATA) {
          events.push({ kind: 'data', bytes: piece });
        } else if (this.#type === FrameType.TX_DATA) {
          this.#txPayload ??= this.#allocate(this.#remaining + take);
          this.#txPayload.set(piece, this.#partsBytes);
          this.#partsBytes += take;
        } else {
          // A part kept past this call is copied: the caller may reuse its chunk. (Not with
          // `piece.slice()`: on a Buffer that is a view, not a copy.)
          this.#parts.push(this.#remaining > 0 ? Uint8Array.prototype.slice.call(piece) : piece);
          this.#partsBytes += take;
        }
        if (this.#remaining === 0) this.#finishFrame(events);
      }
    }
  }

  #readPreamble(chunk: Uint8Array, offset: number, events: FrameEvent[]): number {
    const filled = PREAMBLE_BYTES - this.#preambleLeft;
    const take = Math.min(this.#preambleLeft, chunk.byteLength - offset);
    this.#preamble.set(chunk.subarray(offset, offset + take), filled);
    this.#preambleLeft -= take;
    // Check the magic as soon as its bytes arrive, so garbage is refused at once.
    const known = Math.min(filled + take, MAGIC.byteLength);
    for (let i = filled; i < known; i++) {
      if (this.#preamble[i] !== MAGIC[i]) {
        throw new ProtocolError(ErrorCode.BAD_MAGIC, 'the peer did not open with the Ferry magic');
      }
    }
    if (this.#preambleLeft === 0) {
      const view = new DataView(this.#preamble.buffer);
      const version = view.getUint16(8);
      const flags = view.getUint16(10);
      if (version !== PROTOCOL_VERSION) {
        throw new ProtocolError(
          ErrorCode.UNSUPPORTED_VERSION,
          `the peer speaks protocol version ${version}; this Ferry speaks ${PROTOCOL_VERSION}`,
        );
      }
      if ((flags & ~KNOWN_PREAMBLE_FLAGS) !== 0) {
        throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'unknown preamble flags are set');
      }
      events.push({ kind: 'preamble', version, flags });
    }
    return offset + take;
  }

  #startFrame(events: FrameEvent[]): void {
    const type = this.#header[0]!;
    // Unsigned read: a length with the top bit set is large, never negative.
    const length = new DataView(this.#header.buffer).getUint32(1);
    const max = maxPayloadFor(type, this.#limits);
    if (max === undefined) {
      throw new ProtocolError(
        ErrorCode.UNKNOWN_FRAME_TYPE,
        `unknown frame type 0x${type.toString(16)}`,
      );
    }
    if (length > max) {
      throw new LimitError(
        `${FRAME_TYPE_NAMES.get(type)} frame announces ${length} bytes; the limit is ${max}`,
      );
    }
    if (type === FrameType.DATA && length === 0) {
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'a DATA frame must carry at least one byte');
    }
    if (type === FrameType.TX_DATA && length <= 4) {
      throw new ProtocolError(
        ErrorCode.BAD_MESSAGE,
        'a TX_DATA frame must carry an offer id and at least one byte',
      );
    }
    this.#headerFill = 0;
    this.#type = type;
    this.#remaining = length;
    this.#inPayload = true;
    if (length === 0) this.#finishFrame(events);
  }

  #finishFrame(events: FrameEvent[]): void {
    this.#inPayload = false;
    this.#frames++;
    if (this.#type === FrameType.TX_DATA) {
      // Its own memory, never a view of the caller's chunk: the receiver may keep it.
      const payload = this.#txPayload!;
      this.#txPayload = undefined;
      this.#partsBytes = 0;
      events.push({ kind: 'frame', type: this.#type, payload });
    } else if (this.#type !== FrameType.DATA) {
      events.push({ kind: 'frame', type: this.#type, payload: this.#takeParts() });
    }
  }

  #takeParts(): Uint8Array {
    const parts = this.#parts;
    this.#parts = [];
    const total = this.#partsBytes;
    this.#partsBytes = 0;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.byteLength;
    }
    return out;
  }
}
