import { describe, expect, it } from 'vitest';
import { ReadBudget } from '../../src/link/read-budget.ts';
import { LINK_LIMITS } from '../../src/link/server.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('the read buffers of a link’s downloads (L8)', () => {
  it('L8: a download alone reads in the largest buffers; many share the budget down to the floor', () => {
    const budget = new ReadBudget(8 * MiB, 2, MiB, 64 * KiB);
    const sizes = Array.from({ length: 12 }, () => budget.take());
    expect(sizes.slice(0, 4)).toEqual([MiB, MiB, MiB, MiB]);
    // The budget is spent: every further download gets the floor.
    expect(sizes.slice(4)).toEqual(Array(8).fill(64 * KiB));
    for (const size of sizes) budget.release(size);
    expect(budget.take()).toBe(MiB);
  });

  it('L8: a download takes the largest power of two that still fits what is left', () => {
    const budget = new ReadBudget(3.5 * MiB, 2, MiB, 64 * KiB);
    expect(budget.take()).toBe(MiB); // 1.5 MiB left
    expect(budget.take()).toBe(512 * KiB); // 0.5 MiB left
    expect(budget.take()).toBe(256 * KiB); // none left
    expect(budget.take()).toBe(64 * KiB);
  });

  it(`L8: with the link's limits, 200 downloads at once hold at most ${LINK_LIMITS.readBudgetBytes / MiB} MiB plus the floor each`, () => {
    const budget = new ReadBudget(
      LINK_LIMITS.readBudgetBytes,
      LINK_LIMITS.readBuffers,
      LINK_LIMITS.readBufferBytes,
      LINK_LIMITS.minReadBufferBytes,
    );
    let held = 0;
    for (let i = 0; i < 200; i++) held += budget.take() * LINK_LIMITS.readBuffers;
    expect(held).toBeLessThanOrEqual(
      LINK_LIMITS.readBudgetBytes + 200 * LINK_LIMITS.readBuffers * LINK_LIMITS.minReadBufferBytes,
    );
    expect(held).toBeGreaterThanOrEqual(LINK_LIMITS.readBudgetBytes);
  });
});
