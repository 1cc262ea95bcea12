import { DISCOVERY, PROTOCOL_VERSION, truncateUtf8 } from '@ferry/protocol';
import { z } from 'zod';

/** The DNS-SD service type (RFC 6763 §7): `_ferry._tcp`. */
export const SERVICE_TYPE = 'ferry';

/** The name browsed for: `_ferry._tcp.local`. */
export const SERVICE_NAME = `_${SERVICE_TYPE}._tcp.local`;

/** What a sender announces (PROTOCOL.md §14). */
export interface Announcement {
  /** The instance name: the sender's name, cut to 63 UTF-8 bytes between characters. */
  readonly name: string;
  readonly port: number;
  readonly encrypted: boolean;
  readonly chat: boolean;
  /** The 64 hex digits of the sender's key fingerprint (absent in clear); the TXT carries 16. */
  readonly fingerprint?: string | undefined;
}

/** What a TXT record says, once checked. */
export interface TxtFields {
  /** `v`: the protocol version; only `1` is connected to. */
  readonly version: string;
  readonly encrypted: boolean;
  readonly chat: boolean;
  /** `fp`: 16 lowercase hex digits, or '' in clear. */
  readonly keyHint: string;
}

/** The instance name a sender announces under: one DNS label, 63 UTF-8 bytes at most. */
export function instanceName(name: string): string {
  return truncateUtf8(name, DISCOVERY.maxNameBytes);
}

/** The TXT record's strings, keys lowercase and in the order PROTOCOL.md §14 lists them. */
export function txtStrings(announcement: Announcement): string[] {
  const strings = [
    `v=${PROTOCOL_VERSION}`,
    `enc=${announcement.encrypted ? 1 : 0}`,
    `mode=${announcement.chat ? 'chat' : 'send'}`,
  ];
  if (announcement.encrypted) {
    const fingerprint = announcement.fingerprint ?? '';
    if (!/^[0-9a-fA-F]{64}$/.test(fingerprint))
      throw new RangeError('an encrypted sender announces its 64-hex key fingerprint');
    strings.push(`fp=${fingerprint.slice(0, DISCOVERY.keyHintHexDigits).toLowerCase()}`);
  }
  return strings;
}

/** The TXT record as key/value pairs in the same order (the form the advertiser takes). */
export function txtPairs(announcement: Announcement): Record<string, string> {
  return Object.fromEntries(
    txtStrings(announcement).map((entry) => entry.split('=', 2) as [string, string]),
  );
}

/** The TXT record's wire form: each string behind its length byte. */
export function encodeTxt(strings: readonly string[]): Uint8Array {
  const parts = strings.map((entry) => Buffer.from(entry, 'utf8'));
  return Buffer.concat(parts.flatMap((part) => [Buffer.of(part.byteLength), part]));
}

const TxtSchema = z
  .object({
    v: z.string().regex(/^[1-9][0-9]{0,3}$/),
    enc: z.enum(['0', '1']),
    mode: z.enum(['send', 'chat']),
    fp: z.string().optional(),
  })
  .superRefine((txt, ctx) => {
    if (
      txt.v === String(PROTOCOL_VERSION) &&
      txt.enc === '1' &&
      !/^[0-9a-f]{16}$/.test(txt.fp ?? '')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['fp'],
        message: 'an encrypted sender announces 16 lowercase hex digits of its key',
      });
    }
  });

/**
 * Reads a TXT record's strings (RFC 6763 §6): keys are case-insensitive and the first of a
 * repeated key counts; unknown keys are ignored. Undefined when the record breaks a rule of
 * PROTOCOL.md §14 (a string over 255 bytes, the record over 1024, `v`, `enc` or `mode` missing
 * or malformed, `fp` not 16 lowercase hex digits for an encrypted sender).
 */
export function parseTxt(strings: readonly Uint8Array[]): TxtFields | undefined {
  let total = 0;
  for (const entry of strings) {
    if (entry.byteLength > DISCOVERY.maxTxtStringBytes) return undefined;
    total += 1 + entry.byteLength;
  }
  if (total > DISCOVERY.maxTxtBytes) return undefined;
  const pairs: Record<string, string> = {};
  for (const entry of strings) {
    const text = Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength).toString('utf8');
    const equals = text.indexOf('=');
    // A key with no `=` is a boolean attribute: none of Ferry's keys is one.
    if (equals <= 0) continue;
    const key = text.slice(0, equals).toLowerCase();
    if (!Object.hasOwn(pairs, key)) pairs[key] = text.slice(equals + 1);
  }
  const result = TxtSchema.safeParse(pairs);
  if (!result.success) return undefined;
  const { v, enc, mode, fp } = result.data;
  const encrypted = enc === '1';
  return {
    version: v,
    encrypted,
    chat: mode === 'chat',
    keyHint: v === String(PROTOCOL_VERSION) && encrypted ? (fp ?? '') : '',
  };
}
