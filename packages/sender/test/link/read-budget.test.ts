import { describe, expect, it } from 'vitest';
import { ReadBudget } from '../../src/link/read-budget.ts';
import { LINK_LIMITS } from '../../src/link/server.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('the read buffers of a link’s downloads (L8)', () => {
  it('L8: a download alone reads in the largest buffers; many share the budget down to the floor', () => {
    const budget = new ReadBudget(8 * MiB, 2, MiB, 64 * KiB);
    const pools = Array.from({ length: 12 }, () => budget.take());
    expect(pools.slice(0, 4).map((pool) => pool.size)).toEqual([MiB, MiB, MiB, MiB]);
    // The budget is spent: every further download gets the floor.
    expect(pools.slice(4).map((pool) => pool.size)).toEqual(Array(8).fill(64 * KiB));
    for (const pool of pools) budget.release(pool);
    expect(budget.take().size).toBe(MiB);
  });

  it('L8: a download takes the largest power of two that still fits what is left', () => {
    const budget = new ReadBudget(3.5 * MiB, 2, MiB, 64 * KiB);
    expect(budget.take().size).toBe(MiB); // 1.5 MiB left
    expect(budget.take().size).toBe(512 * KiB); // 0.5 MiB left
    expect(budget.take().size).toBe(256 * KiB); // none left
    expect(budget.take().size).toBe(64 * KiB);
  });

  it(`L8: with the link's limits, 200 downloads at once hold at most ${LINK_LIMITS.readBudgetBytes / MiB} MiB plus the floor each`, () => {
    const budget = new ReadBudget(
      LINK_LIMITS.readBudgetBytes,
      LINK_LIMITS.readBuffers,
      LINK_LIMITS.readBufferBytes,
      LINK_LIMITS.minReadBufferBytes,
    );
    let held = 0;
    for (let i = 0; i < 200; i++) held += budget.take().size * LINK_LIMITS.readBuffers;
    expect(held).toBeLessThanOrEqual(
      LINK_LIMITS.readBudgetBytes + 200 * LINK_LIMITS.readBuffers * LINK_LIMITS.minReadBufferBytes,
    );
    expect(held).toBeGreaterThanOrEqual(LINK_LIMITS.readBudgetBytes);
  });

  it('the next download reads into the buffers of the last one, once none is in use', async () => {
    const budget = new ReadBudget(8 * MiB, 2, MiB, 64 * KiB);
    const first = budget.take();
    const a = await first.acquire();
    const b = await first.acquire();
    budget.release(first);
    // A write of `b` is still under way: nothing is handed on yet.
    first.release(a);
    expect(budget.spareBuffers).toBe(0);
    first.release(b);
    expect(budget.spareBuffers).toBe(2);
    const second = budget.take();
    // The same buffers (by identity, not by content), in either order.
    const again = [await second.acquire(), await second.acquire()];
    expect(again[0] === a ? again[1] === b : again[0] === b && again[1] === a).toBe(true);
    expect(budget.spareBuffers).toBe(0);
    // A download beside it gets buffers of its own.
    const third = budget.take();
    const c = await third.acquire();
    expect(c).not.toBe(a);
    expect(c).not.toBe(b);
  });

  it('keeps the buffers of one download at most, and none of a smaller size', () => {
    const budget = new ReadBudget(2.5 * MiB, 2, MiB, 64 * KiB);
    const large = [budget.take(), budget.take()];
    const small = budget.take();
    expect(small.size).toBeLessThan(MiB);
    budget.release(small);
    expect(budget.spareBuffers).toBe(0);
    for (const pool of large) budget.release(pool);
    expect(budget.spareBuffers).toBe(2);
  });
});
