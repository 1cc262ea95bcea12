/**
 * The read buffers of all downloads of a link, drawn from one budget. A download alone reads in
 * large buffers: fewer reads and writes per byte, so it goes as fast as the disk and socket
 * allow. Many downloads at once share the budget, each down to a floor, so the memory they hold
 * stays bounded whatever the number of downloaders (PROTOCOL.md §15.4).
 */
export class ReadBudget {
  readonly #largest: number;
  readonly #smallest: number;
  readonly #buffers: number;
  #free: number;

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
   * The buffer size of a new download: the largest power of two, at most `largest`, whose
   * buffers fit in what is left of the budget, or `smallest` when none does. Give it back with
   * {@link release} when the download ends.
   */
  take(): number {
    let size = this.#largest;
    while (size > this.#smallest && size * this.#buffers > this.#free) size /= 2;
    this.#free -= size * this.#buffers;
    return size;
  }

  /** Gives back what {@link take} returned, once the download holds none of its buffers. */
  release(size: number): void {
    this.#free += size * this.#buffers;
  }
}
