/** Test helpers shared by the protocol tests: hex, independent frame building, event capture. */
import { type FrameDecoderOptions, FrameDecoder, type FrameEvent } from '../src/frame/decoder.ts';

const utf8 = new TextEncoder();

/** Lowercase hex of `bytes`, no separators. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a hex string; whitespace is ignored. */
export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** UTF-8 bytes of a string. */
export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}

/** A frame header built by hand (not by the encoder under test): type, then u32 BE length. */
export function header(type: number, length: number): Uint8Array {
  return Uint8Array.of(type, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

/** A whole frame built by hand. */
export function frame(type: number, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? utf8.encode(payload) : payload;
  return concat(header(type, body.byteLength), body);
}

/** The preamble built by hand: magic, u16 BE version, u16 BE flags. */
export function preamble(version = 1, flags = 0): Uint8Array {
  return Uint8Array.of(0x89, 0x46, 0x45, 0x52, 0x52, 0x59, 0x0d, 0x0a, version >> 8, version & 0xff, flags >> 8, flags & 0xff);
}

/** A decoder event in a comparable form; adjacent DATA pieces are merged by {@link decodeChunks}. */
export type PlainEvent =
  | { kind: 'preamble'; version: number; flags: number }
  | { kind: 'frame'; type: number; payload: string }
  | { kind: 'data'; bytes: string };

/** Feeds `chunks` to a fresh decoder, calls `end()`, and returns its events in comparable form. */
export function decodeChunks(chunks: Iterable<Uint8Array>, options: FrameDecoderOptions = {}): PlainEvent[] {
  const decoder = new FrameDecoder(options);
  const events: FrameEvent[] = [];
  for (const chunk of chunks) events.push(...decoder.push(chunk));
  decoder.end();
  return plain(events);
}

/** Events in comparable form, with consecutive DATA pieces joined (pieces are not frames). */
export function plain(events: readonly FrameEvent[]): PlainEvent[] {
  const out: PlainEvent[] = [];
  for (const event of events) {
    const last = out.at(-1);
    if (event.kind === 'data') {
      if (last?.kind === 'data') last.bytes += toHex(event.bytes);
      else out.push({ kind: 'data', bytes: toHex(event.bytes) });
    } else if (event.kind === 'frame') {
      out.push({ kind: 'frame', type: event.type, payload: toHex(event.payload) });
    } else {
      out.push({ kind: 'preamble', version: event.version, flags: event.flags });
    }
  }
  return out;
}

/** `bytes` one byte per chunk. */
export function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return Array.from({ length: bytes.byteLength }, (_, i) => bytes.subarray(i, i + 1));
}

/** `bytes` cut at each of `points` (sorted or not; out-of-range points are clamped). */
export function splitAt(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = [...points].map((p) => Math.max(0, Math.min(bytes.byteLength, p))).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** Runs `fn` and returns what it throws; fails the test if it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** What `fn` rejects with; fails the test if it resolves. */
export async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to reject');
}
