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
  #free: Buffer[] = [];
  #waiters: ((buffer: Buffer) => void)[] = [];

  constructor(count: number, size: number) {
    this.size = size;
    for (let i = 0; i < count; i++) this.#free.push(Buffer.allocUnsafeSlow(size));
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
