import type { OutputStream } from './io.ts';

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
