import { Writable } from 'node:stream';

/**
 * Just enough of a terminal to see what a line prompt draws: printable characters with
 * deferred wrapping, CR, LF (as CR LF, like a tty's output), and the CSI sequences readline
 * draws with (cursor up/down/left/right, to a column, erase line, erase below).
 */
export class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns: number;
  #rows: string[][] = [[]];
  #row = 0;
  #col = 0;
  #waiters: (() => void)[] = [];

  constructor(columns: number) {
    super({ decodeStrings: false });
    this.columns = columns;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.feed(String(chunk));
    done();
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** Resolves after the next write reaches the screen. */
  nextWrite(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The screen's lines, trailing blanks removed. */
  lines(): string[] {
    const lines = this.#rows.map((row) =>
      Array.from(row, (c) => c ?? ' ')
        .join('')
        .trimEnd(),
    );
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  /** Where the cursor is: row and column. */
  cursor(): { row: number; col: number } {
    return { row: this.#row, col: this.#col };
  }

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (char === '\x1b' && text[i + 1] === '[') {
        const match = /^\x1b\[([0-9;]*)([A-Za-z])/.exec(text.slice(i))!;
        this.#csi(match[1] === '' ? undefined : Number(match[1]), match[2]!);
        i += match[0].length - 1;
      } else if (char === '\r') this.#col = 0;
      else if (char === '\n') {
        this.#col = 0;
        this.#down(1);
      } else {
        if (this.#col >= this.columns) {
          this.#col = 0;
          this.#down(1);
        }
        this.#line()[this.#col++] = char;
      }
    }
  }

  #line(): string[] {
    while (this.#rows.length <= this.#row) this.#rows.push([]);
    return this.#rows[this.#row]!;
  }

  #down(n: number): void {
    this.#row += n;
    this.#line();
  }

  #csi(n: number | undefined, op: string): void {
    switch (op) {
      case 'A':
        this.#row = Math.max(0, this.#row - (n ?? 1));
        return;
      case 'B':
        this.#down(n ?? 1);
        return;
      case 'C':
        this.#col = Math.min(this.columns - 1, this.#col + (n ?? 1));
        return;
      case 'D':
        this.#col = Math.max(0, this.#col - (n ?? 1));
        return;
      case 'G':
        this.#col = (n ?? 1) - 1;
        return;
      case 'K': {
        const line = this.#line();
        if (n === 2) line.length = 0;
        else if (n === 1) line.fill(' ', 0, this.#col + 1);
        else line.length = Math.min(line.length, this.#col);
        return;
      }
      case 'J':
        this.#line().length = Math.min(this.#line().length, this.#col);
        this.#rows.length = this.#row + 1;
        return;
      default:
        throw new Error(`the fake terminal does not know CSI ${op}`);
    }
  }
}
