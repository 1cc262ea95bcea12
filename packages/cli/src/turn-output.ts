import type { OutputStream } from './io.ts';

/** Text held at most before it is written at once, whatever the turn. */
const MAX_HELD_CHARS = 64 * 1024;

/**
 * Output written once per turn of the event loop: what an app writes during one turn goes out
 * in one write at its end (or at once past MAX_HELD_CHARS), in order. A JSON event per file
 * was a system call per file, and a wake-up of whoever reads the pipe; for a script reading
 * `--json` the lines are the same. Only for output that no person watches as it is drawn
 * (neither stdin nor stdout a terminal, see {@link processIo}): prompts write to the terminal
 * themselves, and would overtake text held here.
 */
export class TurnOutput implements OutputStream {
  readonly isTTY = false;
  readonly #target: OutputStream;
  #held: string[] = [];
  #heldChars = 0;
  #scheduled = false;

  constructor(target: OutputStream) {
    this.#target = target;
  }

  write(text: string): true {
    if (text.length === 0) return true;
    this.#held.push(text);
    this.#heldChars += text.length;
    if (this.#heldChars >= MAX_HELD_CHARS) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /** Writes what is held now. */
  flush(): void {
    if (this.#held.length === 0) return;
    const text = this.#held.length === 1 ? this.#held[0]! : this.#held.join('');
    this.#held = [];
    this.#heldChars = 0;
    this.#target.write(text);
  }
}
