import { BufferPool } from '@ferry/engine';

/**
 * The read buffers of all downloads of a link, drawn from one budget. A download alone reads in
 * large buffers: fewer reads and writes per byte, so it goes as fast as the disk and socket
 * allow. Many downloads at once share the budget, each down to a floor, so the memory they hold
 * stays bounded whatever the number of downloaders (PROTOCOL.md §15.4).
 *
 * The buffers of one finished download of the largest size are kept for the next: memory the
 * system has just handed out is slow to touch the first time (a fault per page, slower still on
 * a virtual machine whose host took the pages back), and a download in fresh buffers spent
 * about 10 ms on that before its first byte.
 */
export class ReadBudget {
  readonly #largest: number;
  readonly #smallest: number;
  readonly #buffers: number;
  #free: number;
  /** Buffers of the largest size from a finished download, for the next. */
  #spare: Buffer[] = [];

  /**
   * `budget`: bytes all downloads may hold before each gets the floor; `buffers`: buffers per
   * download; `largest` and `smallest`: powers of two, the size of each buffer at most and at
   * least.
   */
  constructor(budget: number, buffers: number, largest: number, smallest: number) {
    this.#free = budget;
    this.#buffers = buffers;
    this.#largest = largest;
    this.#smallest = smallest;
  }

  /**
   * The buffers of a new download: the largest power of two, at most `largest`, whose buffers
   * fit in what is left of the budget, or `smallest` when none does. Give them back with
   * {@link release} when the download ends.
   */
  take(): BufferPool {
    let size = this.#largest;
    while (size > this.#smallest && size * this.#buffers > this.#free) size /= 2;
    this.#free -= size * this.#buffers;
    const reuse = size === this.#largest ? this.#spare : [];
    if (size === this.#largest) this.#spare = [];
    return new BufferPool(this.#buffers, size, reuse);
  }

  /**
   * Gives back what {@link take} returned, once the download is over: its share of the budget
   * at once, its buffers once none is in use any more.
   */
  release(pool: BufferPool): void {
    this.#free += pool.size * this.#buffers;
    if (pool.size !== this.#largest) return;
    pool.retire((buffers) => {
      if (this.#spare.length === 0) this.#spare = buffers;
    });
  }

  /** How many buffers are kept for the next download (for tests). */
  get spareBuffers(): number {
    return this.#spare.length;
  }
}
