import { describe, expect, it, vi } from 'vitest';

// Every name a Windows receiver tries is keyed once: counting keys counts the probes.
const keyed = vi.hoisted(() => ({ calls: 0 }));
vi.mock('../src/collision-key.ts', async (original) => {
  const actual = await original<typeof import('../src/collision-key.ts')>();
  return {
    collisionKey: (path: string) => {
      keyed.calls++;
      return actual.collisionKey(path);
    },
  };
});

const { localNamesFor } = await import('../src/local-names.ts');
const { UnsafeOfferError } = await import('../src/errors.ts');

const FORBIDDEN = ['<', '>', ':', '"', '|', '?', '*'];

/** `count` names, distinct under the collision key, that Windows all stores as `x_____`. */
function sameOnWindows(count: number, folder = ''): { path: string; components: string[] }[] {
  const entries: { path: string; components: string[] }[] = [];
  for (let i = 0; i < count; i++) {
    let name = 'x';
    for (let digit = 0, rest = i; digit < 5; digit++, rest = Math.floor(rest / 7))
      name += FORBIDDEN[rest % 7];
    entries.push({
      path: `${folder}${name}`,
      components: folder ? [folder.slice(0, -1), name] : [name],
    });
  }
  return entries;
}

describe('localNamesFor: work', () => {
  it('K1: U8: names Windows stores under one name are numbered in linear work, not from 2 each time', () => {
    const count = 4000;
    const entries = sameOnWindows(count);
    keyed.calls = 0;
    const { paths } = localNamesFor(entries, 'win32');
    expect(paths[0]).toBe('x_____');
    expect(paths[1]).toBe('x_____ (2)');
    expect(paths[count - 1]).toBe(`x_____ (${count})`);
    expect(new Set(paths.map((path) => path.toLowerCase())).size).toBe(count);
    // A key per node, one per unchanged name, and per changed name its counter and one probe:
    // numbering from 2 each time took count²/2 (8 million) probes here.
    expect(keyed.calls).toBeLessThanOrEqual(4 * count);
  });

  it('K1: U8: numbered names skip names offered as they are, still in linear work', () => {
    const count = 2000;
    const taken = Array.from({ length: count }, (_, i) => `x_____ (${i + 2})`).map((name) => ({
      path: name,
      components: [name],
    }));
    const entries = [...taken, ...sameOnWindows(count)];
    keyed.calls = 0;
    const { paths } = localNamesFor(entries, 'win32');
    expect(paths.slice(count, count + 2)).toEqual(['x_____', `x_____ (${count + 2})`]);
    expect(new Set(paths.map((path) => path.toLowerCase())).size).toBe(2 * count);
    expect(keyed.calls).toBeLessThanOrEqual(8 * count);
  });

  it('K1: U8: a numbered name longer than a name may be refuses the offer clearly', () => {
    const long = 'y'.repeat(252);
    const entries = [`${long}:`, `${long}?`].map((name) => ({ path: name, components: [name] }));
    expect(() => localNamesFor(entries, 'win32')).toThrow(UnsafeOfferError);
    expect(() => localNamesFor(entries, 'win32')).toThrow(/longer than 255 bytes/);
  });
});
