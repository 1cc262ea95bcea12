/**
 * Offer validation on the deep and wide offers a hostile sender can fit under the OFFER cap
 * (PROTOCOL.md §11.11 K1): memory stays bounded, measured as the growth of the process's
 * resident size with a generous bound, never as time. Its own file, so its own process.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../src/constants.ts';
import { UnsafeOfferError } from '../src/errors.ts';
import { MAX_KEY_EXPANSION } from '../src/name-tree.ts';
import { validateOffer } from '../src/names.ts';

type Entry = Parameters<typeof validateOffer>[0][number];

const MiB = 1024 * 1024;
/** Generous: the old validation grew by gigabytes on these offers. */
const GROWTH_BOUND = 512 * MiB;

/** Runs `validate`, returning its outcome and how much the process's resident size grew. */
function measured(validate: () => unknown): { outcome: unknown; growth: number } {
  const before = process.memoryUsage().rss;
  let outcome: unknown;
  try {
    outcome = validate();
  } catch (error) {
    outcome = error;
  }
  return { outcome, growth: process.memoryUsage().rss - before };
}

/** `count` paths of `depth` components, each component `unit` repeated to fill `componentChars`. */
function deepPaths(
  count: number,
  depth: number,
  unit: string,
  componentChars: number,
  shared: boolean,
): string[] {
  const component = unit.repeat(Math.max(1, Math.floor(componentChars / unit.length)));
  const below = Array<string>(depth - 1)
    .fill(component)
    .join('/');
  // Distinct tops make every folder prefix distinct; a shared chain ends in distinct names.
  return Array.from({ length: count }, (_, i) =>
    shared ? `${below}/f${i}` : `f${i}${component}/${below}`,
  );
}

describe('K1: offer validation is linear in the offer', () => {
  it('K1: 8,200 dir entries 64 levels deep of U+FDFA (33 MB) are refused, growing the process by far less than a gigabyte', () => {
    const paths = deepPaths(8200, 64, '\ufdfa', 20, false);
    expect(new TextEncoder().encode(JSON.stringify(paths)).byteLength).toBeGreaterThan(
      32 * 1000 * 1000,
    );
    const entries: Entry[] = paths.map((path) => ({ kind: 'dir', path }));
    const { outcome, growth } = measured(() => validateOffer(entries));
    expect(outcome).toBeInstanceOf(UnsafeOfferError);
    expect((outcome as UnsafeOfferError).message).toMatch(/normalisation/);
    expect(growth).toBeLessThan(GROWTH_BOUND);
  });

  it('K1: 200,000 entries 64 levels deep in ASCII (31 MB), every folder distinct, are refused past maxFolders within bounded memory', () => {
    const entries: Entry[] = deepPaths(LIMITS.maxEntries, 64, 'ab', 2, false).map((path) => ({
      kind: 'dir',
      path,
    }));
    const { outcome, growth } = measured(() => validateOffer(entries));
    expect(outcome).toBeInstanceOf(UnsafeOfferError);
    expect((outcome as UnsafeOfferError).message).toMatch(/folders/);
    expect(growth).toBeLessThan(GROWTH_BOUND);
  }, 60_000);

  it('K1: 200,000 files 64 levels deep in ASCII below one shared chain are accepted within bounded memory', () => {
    const entries: Entry[] = deepPaths(LIMITS.maxEntries, 64, 'ab', 2, true).map((path) => ({
      kind: 'file',
      path,
      size: 1,
    }));
    const { outcome, growth } = measured(() => validateOffer(entries));
    expect(outcome).toMatchObject({ fileCount: LIMITS.maxEntries, folderCount: 63 });
    expect(growth).toBeLessThan(GROWTH_BOUND);
  }, 120_000);

  it('K1: deep and wide offers of any alphabet validate or are refused within bounded memory (property)', () => {
    const offers = fc.record({
      count: fc.integer({ min: 1, max: 5000 }),
      depth: fc.integer({ min: 1, max: LIMITS.maxDepth }),
      unit: fc.constantFrom(
        'a',
        'ß',
        'ẞ',
        '\ufdfa',
        '\ufdfb',
        '\u3300',
        'ﬃ',
        '日',
        '😀',
        'e\u0301',
      ),
      componentChars: fc.integer({ min: 1, max: 60 }),
      shared: fc.boolean(),
    });
    fc.assert(
      fc.property(offers, ({ count, depth, unit, componentChars, shared }) => {
        const entries: Entry[] = deepPaths(count, depth, unit, componentChars, shared).map(
          (path) => ({ kind: 'dir', path }),
        );
        const { outcome, growth } = measured(() => validateOffer(entries));
        if (outcome instanceof Error) expect(outcome).toBeInstanceOf(UnsafeOfferError);
        else expect(outcome).toMatchObject({ folderCount: expect.any(Number) });
        expect(growth).toBeLessThan(GROWTH_BOUND);
      }),
      { numRuns: 20 },
    );
  }, 120_000);
});

describe('K1: what normalisation may add', () => {
  it(`K1: accepts a component whose key is ${MAX_KEY_EXPANSION} times its UTF-8 bytes, and refuses more`, () => {
    // U+3300 (3 bytes) is アパート (12 bytes) under NFKC: exactly 4 times. U+FDFB grows 5 times.
    expect(validateOffer([{ kind: 'dir', path: 'x/\u3300\u3300' }]).folderCount).toBe(2);
    expect(() => validateOffer([{ kind: 'dir', path: 'x/\ufdfb' }])).toThrow(UnsafeOfferError);
    expect(() => validateOffer([{ kind: 'file', path: '\ufdfa.txt', size: 0 }])).toThrow(
      UnsafeOfferError,
    );
  });
});
