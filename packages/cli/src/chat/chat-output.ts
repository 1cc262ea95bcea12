import { wrapLine } from '../fit.ts';
import type { OutputStream } from '../io.ts';
import type { ChatScreen } from './screen.ts';

/** What the status line draws with: a return and an erased line. */
const REDRAW = /\r\x1b\[2K/g;

/**
 * An output an app's other views write to (the listener's addresses, codes and pairing lines):
 * straight to the terminal until a conversation's screen is up, then as whole lines printed
 * above its input, so nothing is ever drawn into the line being typed.
 */
export class ChatOutput implements OutputStream {
  readonly #target: OutputStream;
  #screen: ChatScreen | undefined;
  #partial = '';

  constructor(target: OutputStream) {
    this.#target = target;
  }

  /** A terminal until the screen takes over; then lines are wrapped here, to the screen's width. */
  get isTTY(): boolean | undefined {
    return this.#screen ? false : this.#target.isTTY;
  }

  get columns(): number | undefined {
    return this.#target.columns;
  }

  write(text: string): unknown {
    const screen = this.#screen;
    if (!screen) return this.#target.write(text);
    const lines = (this.#partial + text.replace(REDRAW, '')).split('\n');
    this.#partial = lines.pop() ?? '';
    const width = screen.width;
    screen.print(width === undefined ? lines : lines.flatMap((line) => wrapLine(line, width)));
    return true;
  }

  /** Prints through `screen` from now on; undefined writes to the terminal again. */
  route(screen: ChatScreen | undefined): void {
    if (!screen && this.#partial !== '') this.#target.write(this.#partial);
    this.#partial = '';
    this.#screen = screen;
  }
}
