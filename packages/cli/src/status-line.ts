import { DEFAULT_COLUMNS, truncate, wrapLine } from './fit.ts';
import type { OutputStream } from './io.ts';

const lines = new WeakMap<OutputStream, StatusLine>();

/**
 * A single status line redrawn in place on a terminal. Whole lines printed through `print`
 * first clear it, and on a terminal are wrapped to its width; anything else written to the
 * same terminal (an error, a log line) goes through `above`, so nothing is ever glued to the
 * end of a progress line or drawn over it.
 */
export class StatusLine {
  #out: OutputStream;
  #shown: string | undefined;

  constructor(out: OutputStream) {
    this.#out = out;
  }

  /** The one status line of `out`, shared by everything that writes to that terminal. */
  static for(out: OutputStream): StatusLine {
    let line = lines.get(out);
    if (!line) {
      line = new StatusLine(out);
      lines.set(out, line);
    }
    return line;
  }

  /** Columns to fit on a terminal; undefined when the output is not one (nothing is wrapped). */
  get width(): number | undefined {
    if (!this.#out.isTTY) return undefined;
    const columns = this.#out.columns;
    return columns !== undefined && columns > 0 ? columns : DEFAULT_COLUMNS;
  }

  /** Replaces the status line (cut to the terminal's width, so it never wraps). */
  show(text: string): void {
    const width = this.width;
    const fitted = width === undefined ? text : truncate(text, width - 1);
    this.#out.write(`\r\x1b[2K${fitted}`);
    this.#shown = fitted;
  }

  /** Removes the status line. */
  clear(): void {
    if (this.#shown !== undefined) this.#out.write('\r\x1b[2K');
    this.#shown = undefined;
  }

  /** Prints a whole line above the status line, wrapped to the terminal's width. */
  print(line: string): void {
    this.clear();
    const width = this.width;
    const fitted =
      width === undefined ? [line] : line.split('\n').flatMap((part) => wrapLine(part, width));
    this.#out.write(`${fitted.join('\n')}\n`);
  }

  /** Runs `write` (output to this terminal by another route) with the status line out of the way, then redraws it. */
  above(write: () => void): void {
    const shown = this.#shown;
    this.clear();
    write();
    if (shown !== undefined) this.show(shown);
  }
}
