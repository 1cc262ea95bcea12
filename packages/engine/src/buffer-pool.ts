/**
 * A fixed set of equal buffers handed out and given back. Reading a file into recycled
 * buffers avoids a fresh 1 MiB allocation (and its page faults) per chunk, and bounds the
 * bytes a session holds in flight to `count * size`.
 */
export class BufferPool {
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
