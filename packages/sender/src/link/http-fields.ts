/**
 * The HTTP fields of a link download: byte ranges, Content-Disposition, Content-Type, and the
 * request path split into decoded segments. Nothing here touches the disk or a socket.
 */

/** What a `Range` header asks of a body of `size` bytes. */
export type RangeAnswer =
  /** No range, or one the server answers with the whole body (several ranges: RFC 9110 §14.2). */
  | { readonly kind: 'whole' }
  /** One satisfiable range: bytes `start` … `end` inclusive. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  /** Malformed or unsatisfiable: 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' };

/** Longest Range header read; anything longer is refused as malformed (no unbounded work). */
export const MAX_RANGE_HEADER = 256;

const DIGITS = /^[0-9]{1,16}$/;

/**
 * Parses a `Range` header for a body of `size` bytes (RFC 9110 §14.1.2). One range is served:
 * `a-b`, `a-` or the suffix `-n`, clamped to the body; several ranges are answered with the
 * whole body; anything malformed, a unit other than `bytes`, or a range wholly past the end
 * (or `-0`) is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  if (header.length > MAX_RANGE_HEADER) return { kind: 'unsatisfiable' };
  const match = /^bytes=(.*)$/i.exec(header.trim());
  if (!match) return { kind: 'unsatisfiable' };
  const parts = match[1]!.split(',').map((part) => part.trim());
  const ranges: { start: number; end: number }[] = [];
  for (const part of parts) {
    const dash = part.indexOf('-');
    if (dash < 0) return { kind: 'unsatisfiable' };
    const first = part.slice(0, dash).trim();
    const last = part.slice(dash + 1).trim();
    if (first === '' && last === '') return { kind: 'unsatisfiable' };
    if ((first !== '' && !DIGITS.test(first)) || (last !== '' && !DIGITS.test(last)))
      return { kind: 'unsatisfiable' };
    if (first === '') {
      // A suffix: the last n bytes.
      const length = Number(last);
      if (length === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) return { kind: 'unsatisfiable' };
    if (start >= size) continue;
    ranges.push({ start, end });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  if (ranges.length > 1) return { kind: 'whole' };
  const only = ranges[0]!;
  return { kind: 'range', start: only.start, end: only.end };
}

/** RFC 5987 `attr-char`: what may stand unencoded in `filename*`. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+.^_`|~-]/;

/** Percent-encodes `text` as UTF-8 for an RFC 5987 `ext-value`. */
function encodeExtValue(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const char = String.fromCharCode(byte);
    out +=
      byte < 0x80 && ATTR_CHAR.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<RFC 5987>` (RFC 6266): the
 * fallback keeps printable ASCII but quotes, backslashes and `%`, each replaced by `_`, so no
 * raw name ever reaches a header (no CR, LF or quote can split or end it).
 */
export function contentDisposition(name: string): string {
  let fallback = '';
  for (const char of name) {
    const code = char.codePointAt(0)!;
    fallback +=
      code >= 0x20 && code < 0x7f && char !== '"' && char !== '\\' && char !== '%' ? char : '_';
  }
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(name)}`;
}

/** The name as it stands in a link path segment: percent-encoded UTF-8. */
export function pathSegment(name: string): string {
  return encodeURIComponent(name);
}

/** Content types by extension; anything else is `application/octet-stream`. */
const TYPES: Readonly<Record<string, string>> = {
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  heic: 'image/heic',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  '7z': 'application/x-7z-compressed',
  iso: 'application/x-iso9660-image',
  mjs: 'text/javascript; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
};

/**
 * The Content-Type for a file name, from its extension. Every download is an attachment with
 * `nosniff` and a CSP that allows nothing, so even `text/html` is saved, never run as a page.
 */
export function contentType(name: string): string {
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  return TYPES[extension] ?? 'application/octet-stream';
}

/** A request path that cannot be decoded: 400 (a NUL, bad percent-encoding, invalid UTF-8). */
export class BadPath extends Error {}

/**
 * The decoded segments of a request target's path (`/t/abc/f/1/a%20b` → `['t', 'abc', 'f', '1',
 * 'a b']`), the query left out. Percent-encoding is decoded once per segment, so `%2f` is part
 * of a name, never a separator; invalid or over-long UTF-8 and NUL (raw or encoded) throw
 * {@link BadPath}. The segments are only ever compared with what is on offer, never joined into
 * a file system path.
 */
export function pathSegments(target: string): string[] {
  if (!target.startsWith('/')) throw new BadPath('not an origin-form path');
  const question = target.indexOf('?');
  const path = question < 0 ? target : target.slice(0, question);
  const segments = path.slice(1).split('/');
  return segments.map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new BadPath('undecodable percent-encoding or UTF-8');
    }
    if (decoded.includes('\0')) throw new BadPath('a NUL in the path');
    return decoded;
  });
}

/** An HTTP date (IMF-fixdate) of milliseconds since the epoch, to the second. */
export function httpDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString();
}
