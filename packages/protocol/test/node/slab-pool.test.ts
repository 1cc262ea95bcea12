import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlabPool } from '../../src/node/slab-pool.ts';

type Emitted = { bytes: Uint8Array; release: () => void };

function collect(): { out: Emitted[]; emit: (bytes: Uint8Array, release: () => void) => void } {
  const out: Emitted[] = [];
  return { out, emit: (bytes, release) => out.push({ bytes: Buffer.from(bytes), release }) };
}

describe('SlabPool', () => {
  it('hands out every appended byte, in order, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 30 }), fc.boolean(), (chunks, releaseAsWeGo) => {
        const pool = new SlabPool(16, 4, () => {});
        const { out, emit } = collect();
        for (const chunk of chunks) {
          pool.append(chunk, emit);
          pool.flush(emit);
          if (releaseAsWeGo) for (const item of out) item.release();
        }
        const expected = Buffer.concat(chunks);
        expect(Buffer.concat(out.map((item) => item.bytes)).equals(expected)).toBe(true);
      }),
    );
  });

  it('reports low before its slabs run out, and calls back once memory is released', () => {
    let available = 0;
    const pool = new SlabPool(8, 4, () => available++);
    const { out, emit } = collect();
    pool.append(new Uint8Array(16), emit);
    expect(pool.low).toBe(false);
    pool.append(new Uint8Array(8), emit);
    pool.flush(emit);
    expect(pool.low).toBe(true);
    for (const item of out) item.release();
    expect(available).toBeGreaterThan(0);
    expect(pool.low).toBe(false);
  });

  it('ignores a second release of the same bytes', () => {
    const pool = new SlabPool(8, 4, () => {});
    const { out, emit } = collect();
    pool.append(new Uint8Array(20), emit);
    pool.flush(emit);
    for (const item of out) {
      item.release();
      item.release();
    }
    expect(pool.low).toBe(false);
  });
});
