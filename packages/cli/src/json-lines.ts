import { toJsonLine } from '@ferry/protocol';
import type { OutputStream } from './io.ts';

/** Batched lines held at most before they are written at once, whatever the turn. */
const MAX_HELD_CHARS = 64 * 1024;

/**
 * The `--json` lines of one output stream, in the order they were printed. Most go out at once.
 * Lines printed once per file (`file-saved`, `file-sent`) may be batched: held to the end of
 * the turn of the event loop and written together. One write per file was a system call per
 * file, and a wake-up of the script reading the pipe (10,000 files: 10,000 writes in each app).
 * A batched line is never overtaken: any line printed after it goes out after it, and the
 * lines that come before a stop (`done`, `stopped`, `error`) are printed at once, so they
 * write what is held first. What a batched line says is already true when it is printed; it
 * reaches the reader at most one turn later.
 */
class JsonLines {
  readonly #stream: OutputStream;
  #held: string[] = [];
  #heldChars = 0;
  #scheduled = false;

  constructor(stream: OutputStream) {
    this.#stream = stream;
  }

  print(line: string): void {
    this.flush();
    this.#stream.write(line);
  }

  batch(line: string): void {
    this.#held.push(line);
    this.#heldChars += line.length;
    if (this.#heldChars >= MAX_HELD_CHARS) {
      this.flush();
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    holding.add(this);
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    holding.delete(this);
    if (this.#held.length === 0) return;
    const text = this.#held.length === 1 ? this.#held[0]! : this.#held.join('');
    this.#held = [];
    this.#heldChars = 0;
    this.#stream.write(text);
  }
}

const perStream = new WeakMap<OutputStream, JsonLines>();
/** Streams with batched lines not yet written. */
const holding = new Set<JsonLines>();

function linesOf(stream: OutputStream): JsonLines {
  let lines = perStream.get(stream);
  if (!lines) {
    lines = new JsonLines(stream);
    perStream.set(stream, lines);
  }
  return lines;
}

/**
 * Prints one `--json` event on `stream` now, after any batched line still held for it. Every
 * JSON line an app prints goes through here or {@link printJsonBatched}, which keeps their order.
 */
export function printJson(stream: OutputStream, event: string, fields: object): void {
  linesOf(stream).print(toJsonLine(event, fields));
}

/**
 * Prints one `--json` event of which there is one per file: it may wait for the end of this turn
 * of the event loop, to be written with the others of the turn (see {@link JsonLines}).
 */
export function printJsonBatched(stream: OutputStream, event: string, fields: object): void {
  linesOf(stream).batch(toJsonLine(event, fields));
}

/** Writes every batched line still held, on every stream: for a process about to exit. */
export function flushJsonLines(): void {
  for (const lines of [...holding]) lines.flush();
}
