/**
 * Escapes a string from a peer for display: control, format, separator and lone surrogate
 * characters become visible `\xNN` or `\u{...}` escapes, so nothing a peer sends can move the
 * cursor, recolour the terminal, reorder text (bidi overrides) or hide characters.
 */
export function escapeForDisplay(text: string): string {
  return text.replace(UNSAFE_FOR_DISPLAY, (char) => {
    const code = char.codePointAt(0)!;
    if (char === '\\') return '\\\\';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/**
 * Characters that must never reach a terminal raw: C0/C1 controls and DEL (Cc), format
 * characters such as bidi overrides and zero-width ones (Cf), line and paragraph separators,
 * lone surrogates, and the backslash that introduces our own escapes.
 */
const UNSAFE_FOR_DISPLAY = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\]|\p{Cs}/gu;

/** Characters never accepted in a name from a peer: the same classes, minus the backslash. */
export const FORBIDDEN_NAME_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/u;

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).byteLength <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = encoder.encode(char).byteLength;
    if (used + size > maxBytes) break;
    out += char;
    used += size;
  }
  return out;
}

/** UTF-8 bytes of a string, counted without encoding it (a lone surrogate counts 3, as U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * What chat text (a message, or a name in a conversation) may not contain (PROTOCOL.md §12.2):
 * C0 and C1 controls and DEL, line and paragraph separators, lone surrogates, and the
 * characters that reorder text (bidi marks, embeddings, overrides and isolates). Other format
 * characters, such as the zero-width joiner inside emoji, are allowed and escaped on display.
 */
const FORBIDDEN_CHAT_CHARS =
  /[\p{Cc}\p{Zl}\p{Zp}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

/** Why `text` is not valid chat text of at most `maxBytes` UTF-8 bytes, or undefined if it is. */
export function chatTextProblem(text: string, maxBytes: number): string | undefined {
  if (text.length === 0) return 'empty';
  if (utf8Length(text) > maxBytes) return `longer than ${maxBytes} UTF-8 bytes`;
  const bad = FORBIDDEN_CHAT_CHARS.exec(text);
  if (bad)
    return `contains the character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, which chat text may not hold`;
  return undefined;
}

/** Formats a byte count with binary prefixes: `0 B`, `1.5 KiB`, `3.21 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(bytes)} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}
