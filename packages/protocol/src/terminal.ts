/**
 * Serialises an event as one JSON line. JSON already escapes C0 controls; this also escapes
 * DEL, C1 controls and invisible or reordering format characters, so a line printed raw
 * cannot disturb a terminal either.
 */
export function toJsonLine(event: string, fields: object): string {
  const json = JSON.stringify({ event, ...fields });
  const escapeUnits = (text: string) =>
    Array.from({ length: text.length }, (_, i) => `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
  return `${json.replace(INVISIBLE, escapeUnits)}\n`;
}

/** Controls, format characters (bidi, zero-width, tags, ...), separators and lone surrogates. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;
