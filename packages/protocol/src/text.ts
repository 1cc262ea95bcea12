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
