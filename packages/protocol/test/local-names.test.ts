import { describe, expect, it } from 'vitest';
import { localNameFor, localNamesFor } from '../src/local-names.ts';
import { validateOffer } from '../src/names.ts';

type Entry = Parameters<typeof validateOffer>[0][number];
const file = (path: string): Entry => ({ kind: 'file', path, size: 1 });
const dir = (path: string): Entry => ({ kind: 'dir', path });

describe('localNamesFor', () => {
  it('U8: on Linux and macOS every name is stored as offered, and nothing is renamed', () => {
    const offer = validateOffer([file('a:b.txt'), file('CON.txt'), file('trailing '), dir('x?y')]);
    for (const platform of ['linux', 'darwin']) {
      expect(localNamesFor(offer.entries, platform)).toEqual({ paths: ['a:b.txt', 'CON.txt', 'trailing ', 'x?y'], renamed: [] });
    }
  });

  it('U8: on Windows lists each renamed entry with the name it is stored under', () => {
    const offer = validateOffer([file('a:b.txt'), file('ok.txt'), dir('CON'), file('CON/x.txt'), file('trailing ')]);
    expect(localNamesFor(offer.entries, 'win32')).toEqual({
      paths: ['a_b.txt', 'ok.txt', 'CON_', 'CON_/x.txt', 'trailing_'],
      renamed: [
        { offered: 'a:b.txt', local: 'a_b.txt' },
        { offered: 'CON', local: 'CON_' },
        { offered: 'CON/x.txt', local: 'CON_/x.txt' },
        { offered: 'trailing ', local: 'trailing_' },
      ],
    });
  });

  it('U8: a renamed name never takes a name offered as it is, nor another renamed one: it is numbered', () => {
    const offer = validateOffer([file('a:b.txt'), file('A_B.txt'), file('a?b.txt'), file('d/x|y'), file('d/x_y (2)')]);
    const { paths } = localNamesFor(offer.entries, 'win32');
    expect(paths).toEqual(['a_b (2).txt', 'A_B.txt', 'a_b (3).txt', 'd/x_y', 'd/x_y (2)']);
  });

  it('U8: a renamed folder is renamed once for everything below it', () => {
    const offer = validateOffer([file('q:/a.txt'), file('q:/b/c.txt'), file('q_/z.txt')]);
    expect(localNamesFor(offer.entries, 'win32').paths).toEqual(['q_ (2)/a.txt', 'q_ (2)/b/c.txt', 'q_/z.txt']);
  });

  it('U8: localNameFor says whether a single path changes', () => {
    expect(localNameFor('a/b:c/d', 'win32')).toEqual({ path: 'a/b_c/d', changed: true });
    expect(localNameFor('a/b:c/d', 'linux')).toEqual({ path: 'a/b:c/d', changed: false });
  });
});
