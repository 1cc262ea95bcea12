/** Where a {@link ChunkReader} takes the buffers it reads into, and gives them back. */
export interface ReadBuffers {
  readonly size: number;
  acquire(): Promise<Buffer>;
  release(buffer: Buffer): void;
}

/**
 * A fixed set of equal buffers handed out and given back. Reading a file into recycled
 * buffers avoids a fresh 1 MiB allocation (and its page faults) per chunk, and bounds the
 * bytes a session holds in flight to `count * size`.
 */
export class BufferPool implements ReadBuffers {
  readonly size: number;
  readonly #count: number;
  #free: Buffer[] = [];
  #waiters: ((buffer: Buffer) => void)[] = [];
  #onIdle: ((buffers: Buffer[]) => void) | undefined;

  /** `count` buffers of `size` bytes: those of `reuse` first (each of `size` bytes), then new ones. */
  constructor(count: number, size: number, reuse: readonly Buffer[] = []) {
    this.size = size;
    this.#count = count;
    for (const buffer of reuse.slice(0, count)) {
      if (buffer.byteLength !== size) throw new RangeError('a reused buffer is not of the size');
      this.#free.push(buffer);
    }
    while (this.#free.length < count) this.#free.push(Buffer.allocUnsafeSlow(size));
  }

  /**
   * Ends the pool's use: once every buffer is back and nobody waits for one (now, or when the
   * last comes back), `onIdle` gets them all, once, for another pool. A buffer that never comes
   * back (a socket destroyed with it) keeps them all from being handed on.
   */
  retire(onIdle: (buffers: Buffer[]) => void): void {
    this.#onIdle = onIdle;
    this.#handOnIfIdle();
  }

  /** A free buffer, waiting for one to come back if all are in use. */
  acquire(): Promise<Buffer> {
    const buffer = this.#free.pop();
    if (buffer) return Promise.resolve(buffer);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Gives a buffer back; it must not be used afterwards. */
  release(buffer: Buffer): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(buffer);
    else this.#free.push(buffer);
    this.#handOnIfIdle();
  }

  #handOnIfIdle(): void {
    const onIdle = this.#onIdle;
    if (!onIdle || this.#waiters.length > 0 || this.#free.length < this.#count) return;
    this.#onIdle = undefined;
    const buffers = this.#free;
    this.#free = [];
    onIdle(buffers);
  }
}

/**
 * A new buffer for every read, never taken back: for chunks handed to a consumer that keeps them
 * for as long as it likes (a stream's reader), where a pool could not know when one is free.
 */
export class FreshBuffers implements ReadBuffers {
  readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  acquire(): Promise<Buffer> {
    return Promise.resolve(Buffer.allocUnsafe(this.size));
  }

  release(): void {}
}
