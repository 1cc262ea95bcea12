/** Where an app writes its user-facing output. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

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

/**
 * A single status line redrawn in place on a terminal. Ordinary lines printed through
 * `print` first clear it, so progress and messages never interleave.
 */
export class StatusLine {
  #out: OutputStream;
  #shown = false;

  constructor(out: OutputStream) {
    this.#out = out;
  }

  /** Replaces the status line. */
  show(text: string): void {
    this.#out.write(`\r\x1b[2K${text}`);
    this.#shown = true;
  }

  /** Removes the status line. */
  clear(): void {
    if (this.#shown) this.#out.write('\r\x1b[2K');
    this.#shown = false;
  }

  /** Prints a whole line above the status line. */
  print(line: string): void {
    this.clear();
    this.#out.write(`${line}\n`);
  }
}
