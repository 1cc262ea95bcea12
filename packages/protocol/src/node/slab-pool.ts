/** Receives a copied run of DATA bytes and the function that gives its memory back. */
export type EmitData = (bytes: Uint8Array, release: () => void) => void;

interface Slab {
  readonly buffer: Buffer;
  /** First byte not yet handed out. */
  start: number;
  fill: number;
  /** Views handed out and not yet released. */
  refs: number;
  sealed: boolean;
}

/**
 * Copies DATA bytes out of a socket's single, reused read buffer into a few large reusable
 * slabs, and hands out views of them. A view's memory returns to the pool when its `release`
 * is called (after the bytes reach the file), so receiving allocates nothing per read, and
 * the bytes held are bounded: `low` tells the reader to pause the socket before it runs out.
 */
export class SlabPool {
  readonly slabBytes: number;
  readonly maxSlabs: number;
  #free: Buffer[] = [];
  #inUse = 0;
  #current: Slab | undefined;
  #onAvailable: () => void;

  constructor(slabBytes: number, maxSlabs: number, onAvailable: () => void) {
    this.slabBytes = slabBytes;
    this.maxSlabs = maxSlabs;
    this.#onAvailable = onAvailable;
  }

  /** True when fewer than two free slabs remain: one more read could need both. */
  get low(): boolean {
    return this.#inUse > this.maxSlabs - 2;
  }

  /** Copies `bytes` in, emitting a view each time a slab fills up. */
  append(bytes: Uint8Array, emit: EmitData): void {
    let offset = 0;
    while (offset < bytes.byteLength) {
      let slab = this.#current;
      if (!slab || slab.fill === slab.buffer.byteLength) {
        if (slab) this.#seal(slab, emit);
        slab = this.#take();
        this.#current = slab;
      }
      const count = Math.min(bytes.byteLength - offset, slab.buffer.byteLength - slab.fill);
      slab.buffer.set(bytes.subarray(offset, offset + count), slab.fill);
      slab.fill += count;
      offset += count;
    }
  }

  /** Emits whatever was copied in and not yet handed out. */
  flush(emit: EmitData): void {
    const slab = this.#current;
    if (!slab || slab.fill === slab.start) return;
    const view = slab.buffer.subarray(slab.start, slab.fill);
    slab.start = slab.fill;
    slab.refs++;
    let released = false;
    emit(view, () => {
      if (released) return;
      released = true;
      this.#release(slab);
    });
  }

  #seal(slab: Slab, emit: EmitData): void {
    this.flush(emit);
    slab.sealed = true;
    if (slab.refs === 0) this.#giveBack(slab);
  }

  #take(): Slab {
    this.#inUse++;
    const buffer = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.slabBytes);
    return { buffer, start: 0, fill: 0, refs: 0, sealed: false };
  }

  #release(slab: Slab): void {
    slab.refs--;
    if (slab.refs > 0) return;
    if (slab.sealed) this.#giveBack(slab);
    else if (slab === this.#current && slab.start === slab.fill) slab.start = slab.fill = 0;
    this.#onAvailable();
  }

  #giveBack(slab: Slab): void {
    this.#inUse--;
    if (this.#free.length < this.maxSlabs) this.#free.push(slab.buffer);
  }
}
