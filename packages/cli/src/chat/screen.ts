/**
 * Where a conversation is shown and typed: on a terminal, a line prompt whose input stays intact
 * while lines arrive above it; otherwise plain lines in, plain lines out.
 */
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { DEFAULT_COLUMNS, visibleLength } from '../fit.ts';
import type { OutputStream } from '../io.ts';
import { StatusLine } from '../status-line.ts';

/** What the user does at the screen. */
export interface ScreenInput {
  /** A whole line was typed (or read). */
  line(text: string): void;
  /** Ctrl-C at the prompt. */
  interrupt(): void;
  /** The input ended (Ctrl-D, or the end of a pipe). */
  end(): void;
}

/** A screen a conversation prints on and reads from. */
export interface ChatScreen {
  /** Columns to fit; undefined when the output is not a terminal (plain lines). */
  readonly width: number | undefined;
  /** Prints whole lines above the input. */
  print(lines: readonly string[]): void;
  /** Replaces the status line (progress), or removes it with undefined. */
  status(text: string | undefined): void;
  /** Stops reading and leaves the terminal as it found it. */
  close(): void;
}

/** A terminal's output as readline needs it. */
type TerminalOutput = Writable & { readonly isTTY?: boolean; readonly columns?: number };

/**
 * A line prompt on a terminal (readline). Lines from elsewhere are printed above the status
 * line, which stays just above the input; the text being typed is redrawn as it was, the
 * cursor where it was.
 */
export class LinePrompt implements ChatScreen {
  readonly #rl: readline.Interface;
  readonly #out: TerminalOutput;
  #status: string | undefined;
  #closed = false;

  constructor(input: Readable, output: TerminalOutput, events: ScreenInput, prompt = '> ') {
    this.#out = output;
    this.#rl = readline.createInterface({
      input,
      output,
      prompt,
      terminal: true,
      historySize: 100,
    });
    this.#rl.on('line', (line) => {
      this.#commit(`${prompt}${line}`);
      events.line(line);
      if (!this.#closed) this.#rl.prompt();
    });
    // With a listener here, Ctrl-C at the prompt is ours to handle rather than a pause.
    this.#rl.on('SIGINT', () => events.interrupt());
    this.#rl.on('close', () => {
      if (this.#closed) return;
      this.#closed = true;
      events.end();
    });
    this.#rl.prompt();
  }

  get width(): number {
    const columns = this.#out.columns;
    return columns !== undefined && columns > 0 ? columns : DEFAULT_COLUMNS;
  }

  print(lines: readonly string[]): void {
    if (lines.length === 0) return;
    this.#redraw(lines);
  }

  status(text: string | undefined): void {
    if (text === this.#status) return;
    this.#redraw([], { status: text });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // What is left of the input line stays on screen; what comes next starts below it.
    this.#clearInput();
    this.#out.write(this.#status === undefined ? '' : `${this.#status}\n`);
    this.#rl.close();
  }

  /** Clears the input (and the status line above it), prints `lines`, then redraws both. */
  #redraw(lines: readonly string[], next?: { status: string | undefined }): void {
    const status = next ? next.status : this.#status;
    if (this.#closed) {
      for (const line of lines) this.#out.write(`${line}\n`);
      return;
    }
    this.#clearInput();
    for (const line of lines) this.#out.write(`${line}\n`);
    this.#status = status;
    if (status !== undefined) this.#out.write(`${status}\n`);
    // The cursor is where the prompt starts now: readline's redraw must not move up from it.
    (this.#rl as unknown as { prevRows: number }).prevRows = 0;
    this.#rl.prompt(true);
  }

  /**
   * After Enter the typed line stays on screen, but below the status line: it is moved above
   * it, so the status line stays just above the next prompt.
   */
  #commit(typed: string): void {
    if (this.#status === undefined) return;
    const rows = Math.max(1, Math.ceil(visibleLength(typed) / this.width));
    readline.moveCursor(this.#out, 0, -rows - 1);
    readline.cursorTo(this.#out, 0);
    readline.clearScreenDown(this.#out);
    this.#out.write(`${typed}\n${this.#status}\n`);
  }

  /** Moves to where the status line (or the prompt) starts and clears everything below. */
  #clearInput(): void {
    const { rows } = this.#rl.getCursorPos();
    readline.moveCursor(this.#out, 0, -rows - (this.#status === undefined ? 0 : 1));
    readline.cursorTo(this.#out, 0);
    readline.clearScreenDown(this.#out);
  }
}

/**
 * Plain lines: without a terminal to type at (a pipe, a script). Input is read line by line; on
 * a terminal output the status line is redrawn in place (StatusLine), elsewhere it is a line.
 * With `raw` (JSON lines) every line is written as it is, never wrapped, and there is no status.
 */
export class PlainScreen implements ChatScreen {
  readonly #rl: readline.Interface | undefined;
  readonly #out: OutputStream;
  readonly #line: StatusLine;
  readonly #raw: boolean;
  #closed = false;

  /** `input`: a stream, or lines already being read from one. */
  constructor(
    input: Readable | AsyncIterator<string>,
    output: OutputStream,
    events: ScreenInput,
    raw = false,
  ) {
    this.#out = output;
    this.#raw = raw;
    this.#line = StatusLine.for(output);
    const ended = () => {
      if (this.#closed) return;
      this.#closed = true;
      events.end();
    };
    if (!('on' in input)) {
      this.#rl = undefined;
      void this.#read(input, events).then(ended, ended);
      return;
    }
    this.#rl = readline.createInterface({
      input,
      terminal: false,
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    this.#rl.on('line', (line) => {
      if (!this.#closed) events.line(line);
    });
    this.#rl.on('close', ended);
  }

  async #read(lines: AsyncIterator<string>, events: ScreenInput): Promise<void> {
    for (let next = await lines.next(); !next.done && !this.#closed; next = await lines.next()) {
      events.line(next.value);
    }
  }

  get width(): number | undefined {
    return this.#raw ? undefined : this.#line.width;
  }

  print(lines: readonly string[]): void {
    for (const line of lines) {
      if (this.#raw) this.#out.write(`${line}\n`);
      else this.#line.print(line);
    }
  }

  status(text: string | undefined): void {
    if (this.#raw) return;
    if (text === undefined) this.#line.clear();
    else if (this.#out.isTTY) this.#line.show(text);
    else this.#line.print(text);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#line.clear();
    this.#rl?.close();
  }
}
