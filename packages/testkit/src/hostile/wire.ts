/**
 * A test-only Ferry encoder in which any field of any frame can be replaced by raw bytes: the
 * preamble's magic, version and flags; a frame's type byte, length and payload; and any single
 * field inside a message's JSON. Each hostile case is then "encode a normal message, flip one
 * field". Nothing here validates: the bytes go out exactly as asked (PROTOCOL.md §2.1, §3, §4).
 */
import { randomBytes } from 'node:crypto';
import {
  encodeMessage,
  MAGIC,
  type MessageOf,
  type MessageType,
  PreambleFlag,
  PROTOCOL_VERSION,
} from '@ferry/protocol';

/** Raw bytes given as bytes, or as text that is written as its UTF-8 encoding. */
export type Raw = Uint8Array | string;

/** The bytes of `raw`: text as UTF-8, bytes as they are. */
export function toBytes(raw: Raw): Uint8Array {
  return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
}

/** Concatenates raw pieces into one buffer. */
export function concatBytes(...parts: Raw[]): Buffer {
  return Buffer.concat(parts.map((part) => toBytes(part)));
}

/** A u16 BE, or raw bytes standing in for it (of any length). */
function u16(value: number | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) return value;
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

/** A u32 BE, or raw bytes standing in for it (of any length). */
function u32(value: number | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) return value;
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** Fields of a preamble; each is the real value unless replaced. */
export interface PreambleFields {
  /** The 8 magic bytes, or anything else (of any length). */
  readonly magic?: Uint8Array;
  /** A u16 version, or raw bytes. */
  readonly version?: number | Uint8Array;
  /** u16 flags, or raw bytes; by default `TLS` when `encryption`, else 0. */
  readonly flags?: number | Uint8Array;
}

/** A preamble (PROTOCOL.md §2.1) with any field flipped. */
export function preamble(encryption: boolean, fields: PreambleFields = {}): Buffer {
  const flags = fields.flags ?? (encryption ? PreambleFlag.TLS : 0);
  return concatBytes(fields.magic ?? MAGIC, u16(fields.version ?? PROTOCOL_VERSION), u16(flags));
}

/** Fields of a frame header; each is the real value unless replaced. */
export interface FrameFields {
  /** The type byte: another number (0-255), or raw bytes of any length. */
  readonly type?: number | Uint8Array;
  /** The u32 length: another number (announce what is not sent), or raw bytes. */
  readonly length?: number | Uint8Array;
}

/** A frame (PROTOCOL.md §3): header and `payload`, with the type or length flipped if asked. */
export function frame(type: number, payload: Raw = new Uint8Array(0), fields: FrameFields = {}): Buffer {
  const body = toBytes(payload);
  const typeBytes = fields.type instanceof Uint8Array ? fields.type : Uint8Array.of(fields.type ?? type);
  return concatBytes(typeBytes, u32(fields.length ?? body.byteLength), body);
}

/** Only a frame's header: what a peer announces before (or instead of) sending a payload. */
export function header(type: number, length: number | Uint8Array): Buffer {
  return concatBytes(Uint8Array.of(type), u32(length));
}

/** Marks a field to leave out of a message altogether. */
export const OMIT: unique symbol = Symbol('omit this field');

/**
 * Replacements inside a message, by dotted path (`size`, `entries.1.path`, `files.0.offset`):
 * raw JSON text or bytes written verbatim where the field's value was (`'-1'`, `'1e400'`,
 * bytes that are not UTF-8), or {@link OMIT}. A path naming a field the message lacks adds it
 * at the end of its object, so an unknown field is a flip too.
 */
export type Flips = Readonly<Record<string, Raw | typeof OMIT>>;

/**
 * The JSON payload of `message` with `flips` applied, written like encodeMessage writes it
 * (JSON.stringify, keys in the order given) but never validated, so anything goes out.
 */
export function jsonPayload(message: object, flips: Flips = {}): Buffer {
  const copy = structuredClone(message) as Record<string, unknown>;
  const token = randomBytes(8).toString('hex');
  const raws = new Map<string, Uint8Array>();
  for (const [where, value] of Object.entries(flips)) {
    const keys = where.split('.');
    const last = keys.pop()!;
    let parent: Record<string, unknown> = copy;
    for (const key of keys) {
      const next = parent[key];
      if (typeof next !== 'object' || next === null) throw new Error(`no object at ${where}`);
      parent = next as Record<string, unknown>;
    }
    if (value === OMIT) {
      delete parent[last];
      continue;
    }
    const placeholder = `flip-${token}-${raws.size}`;
    parent[last] = placeholder;
    raws.set(JSON.stringify(placeholder), toBytes(value));
  }
  let parts: Buffer[] = [Buffer.from(JSON.stringify(copy), 'utf8')];
  for (const [quoted, raw] of raws) {
    parts = parts.flatMap((part) => splice(part, Buffer.from(quoted, 'utf8'), raw));
  }
  return Buffer.concat(parts);
}

function splice(part: Buffer, needle: Buffer, replacement: Uint8Array): Buffer[] {
  const at = part.indexOf(needle);
  if (at < 0) return [part];
  return [part.subarray(0, at), Buffer.from(replacement), part.subarray(at + needle.byteLength)];
}

/**
 * A control frame of `type` carrying `message` with `flips` applied. Without flips and with a
 * valid message these are exactly encodeMessage's bytes (checked, so the emulator cannot drift
 * from the reference encoder); with flips nothing is checked.
 */
export function messageFrame<T extends MessageType>(
  type: T,
  message: MessageOf<T> | Record<string, unknown>,
  flips: Flips = {},
  fields: FrameFields = {},
): Buffer {
  const payload = jsonPayload(message, flips);
  if (Object.keys(flips).length === 0) assertLikeReference(type, message, payload);
  return frame(type, payload, fields);
}

function assertLikeReference(type: MessageType, message: object, payload: Buffer): void {
  let reference: Uint8Array;
  try {
    reference = encodeMessage(type, message as MessageOf<typeof type>);
  } catch {
    return; // Not a valid message: nothing to compare with.
  }
  if (!Buffer.from(reference).equals(payload)) {
    throw new Error(`the emulator encodes frame type ${type} unlike encodeMessage: keys out of order?`);
  }
}
