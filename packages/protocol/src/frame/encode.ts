import { CHAT, FRAME_HEADER_BYTES, MAGIC, PREAMBLE_BYTES, PROTOCOL_VERSION } from '../constants.ts';

/** The preamble each side sends first: magic, version, flags (PROTOCOL.md §2). */
export function encodePreamble(version: number = PROTOCOL_VERSION, flags = 0): Uint8Array {
  const bytes = new Uint8Array(PREAMBLE_BYTES);
  bytes.set(MAGIC, 0);
  const view = new DataView(bytes.buffer);
  view.setUint16(8, version);
  view.setUint16(10, flags);
  return bytes;
}

/** A frame header: type (u8) and payload length (u32 BE). */
export function encodeFrameHeader(type: number, payloadLength: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  writeFrameHeader(header, type, payloadLength);
  return header;
}

/** Writes a frame header into the first FRAME_HEADER_BYTES of `target`. */
export function writeFrameHeader(target: Uint8Array, type: number, payloadLength: number): void {
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > 0xffff_ffff) {
    throw new RangeError(`frame payload length out of range: ${payloadLength}`);
  }
  target[0] = type;
  new DataView(target.buffer, target.byteOffset, FRAME_HEADER_BYTES).setUint32(1, payloadLength);
}

/**
 * Writes a TX_DATA frame's offer id (u32 BE) after the room for its header (PROTOCOL.md §12.3):
 * `frame` is then ready for `Connection.sendInPlace(FrameType.TX_DATA, frame)`, which writes
 * the header, once its file bytes follow from TX_DATA_HEADER_BYTES on.
 */
export function writeTxDataOffer(frame: Uint8Array, offer: number): void {
  if (!Number.isInteger(offer) || offer < 1 || offer > CHAT.maxOfferId) {
    throw new RangeError(`offer id out of range: ${offer}`);
  }
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(
    FRAME_HEADER_BYTES,
    offer,
  );
}

/** A whole frame as `[header, payload]`, so the payload is never copied. */
export function encodeFrame(type: number, payload: Uint8Array): [Uint8Array, Uint8Array] {
  return [encodeFrameHeader(type, payload.byteLength), payload];
}

/** A whole frame in one contiguous array: for tests and test vectors, not for bulk data. */
export function concatFrame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  out.set(encodeFrameHeader(type, payload.byteLength), 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}
