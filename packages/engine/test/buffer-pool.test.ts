import { describe, expect, it } from 'vitest';
import { BufferPool } from '../src/buffer-pool.ts';

describe('BufferPool', () => {
  it('hands its buffers out and waits for one to come back when all are out', async () => {
    const pool = new BufferPool(2, 16);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(a).not.toBe(b);
    let third: Buffer | undefined;
    void pool.acquire().then((buffer) => {
      third = buffer;
    });
    await Promise.resolve();
    expect(third).toBeUndefined();
    pool.release(a);
    await Promise.resolve();
    expect(third).toBe(a);
  });

  it('starts from reused buffers of its size, and refuses one of another size', async () => {
    const kept = [Buffer.alloc(16), Buffer.alloc(16)];
    const pool = new BufferPool(2, 16, kept);
    expect(new Set([await pool.acquire(), await pool.acquire()])).toEqual(new Set(kept));
    expect(() => new BufferPool(2, 16, [Buffer.alloc(8)])).toThrow(RangeError);
  });

  it('a retired pool hands its buffers on only once every one is back and nobody waits', async () => {
    const pool = new BufferPool(2, 16);
    const a = await pool.acquire();
    const b = await pool.acquire();
    // A read still waiting for a buffer, as a reader's read-ahead may be at the end.
    const waiting = pool.acquire();
    const handedOn: Buffer[][] = [];
    pool.retire((buffers) => handedOn.push(buffers));
    pool.release(a);
    // The waiting read got `a`: it is still in use.
    expect(await waiting).toBe(a);
    expect(handedOn).toEqual([]);
    pool.release(b);
    expect(handedOn).toEqual([]);
    pool.release(a);
    expect(handedOn).toEqual([[b, a]]);
  });

  it('a retired pool whose buffers are all back hands them on at once', () => {
    const pool = new BufferPool(2, 16);
    const handedOn: Buffer[][] = [];
    pool.retire((buffers) => handedOn.push(buffers));
    expect(handedOn).toHaveLength(1);
    expect(handedOn[0]).toHaveLength(2);
  });
});
