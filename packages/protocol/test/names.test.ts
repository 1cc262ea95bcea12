import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS, type Limits } from '../src/constants.ts';
import { ErrorCode, UnsafeOfferError } from '../src/errors.ts';
import { localComponent, localNameFor } from '../src/local-names.ts';
import { checkRelativePath, collisionKey, validateOffer } from '../src/names.ts';
import { thrown, utf8Bytes } from './helpers.ts';

type Entry = Parameters<typeof validateOffer>[0][number];

const file = (path: string, size = 1): Entry => ({ kind: 'file', path, size });
const dir = (path: string): Entry => ({ kind: 'dir', path });

/** Asserts that `path` is refused as an unsafe name, on its own and inside an otherwise good offer. */
function expectRefused(path: string): void {
  const error = thrown(() => checkRelativePath(path));
  expect(error).toBeInstanceOf(UnsafeOfferError);
  expect(error).toMatchObject({ code: ErrorCode.UNSAFE_OFFER, path });
  expectOfferRefused([file('fine.txt'), file(path)]);
}

/** Asserts that a whole offer is refused (all or nothing). */
function expectOfferRefused(entries: readonly Entry[], limits?: Limits): void {
  const error = thrown(() => validateOffer(entries, limits));
  expect(error).toBeInstanceOf(UnsafeOfferError);
  expect(error).toMatchObject({ code: ErrorCode.UNSAFE_OFFER });
}

describe('checkRelativePath', () => {
  it.each(['../x', 'a/../../x', '..', 'a/..', '../', '....//x'])('B1: refuses traversal %j', (path) => {
    expectRefused(path);
  });

  it.each([
    '/etc/x',
    '////home/u/.bashrc',
    'C:\\x',
    'C:..\\x',
    '\\\\server\\share\\x',
    '\\\\?\\C:\\x',
    '//?/X:/y',
    '//server/share/x',
  ])('B2: refuses absolute, drive-relative and UNC path %j', (path) => {
    expectRefused(path);
  });

  it.each(['..\\..\\x', 'dir\\file', 'a\\', '\\'])('B3: refuses backslash in %j', (path) => {
    expectRefused(path);
  });

  it.each(['a\u0000.txt', '\u0000', 'dir/\u0000/x'])('B4: refuses NUL in %j', (path) => {
    expectRefused(path);
  });

  it('B4: refuses a lone surrogate (what invalid UTF-16 from a JSON escape looks like)', () => {
    expectRefused('a\ud800.txt');
    expectRefused('a\udfff.txt');
  });

  it.each([
    ['an ANSI escape', '\x1b[1A\rharmless'],
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['TAB', 'a\tb'],
    ['DEL', 'a\x7fb'],
    ['C1 CSI', 'a\x9bb'],
    ['C1 NEL', 'a\x85b'],
    ['a bidi override U+202E', 'invoice\u202Etxt.exe'],
    ['a bidi isolate U+2066', 'a\u2066b'],
    ['a zero-width space U+200B', 'zero\u200bwidth'],
    ['a zero-width joiner U+200D', 'a\u200db'],
    ['a byte-order mark U+FEFF', '\ufeffa.txt'],
    ['a line separator U+2028', 'a\u2028b'],
    ['a paragraph separator U+2029', 'a\u2029b'],
  ])('B5: refuses %s', (_, path) => {
    expectRefused(path);
  });

  it('B6: accepts a component of exactly 255 UTF-8 bytes, counting bytes not UTF-16 units', () => {
    for (const name of ['a'.repeat(255), `${'é'.repeat(127)}a`, '日'.repeat(85), `${'😀'.repeat(63)}abc`]) {
      expect(utf8Bytes(name).byteLength).toBe(255);
      expect(checkRelativePath(`dir/${name}`)).toEqual(['dir', name]);
    }
  });

  it('B6: refuses a component of 256 UTF-8 bytes, even when it is far fewer UTF-16 units', () => {
    for (const name of ['a'.repeat(256), 'é'.repeat(128), `${'日'.repeat(85)}a`, '😀'.repeat(64)]) {
      expect(utf8Bytes(name).byteLength).toBe(256);
      expect(name.length).toBeLessThanOrEqual(256);
      expectRefused(`dir/${name}`);
    }
  });

  it('B6: accepts a path of exactly maxPathBytes and refuses one byte more', () => {
    const base = Array(20).fill('a'.repeat(200)).join('/');
    const atLimit = `${base}/${'b'.repeat(LIMITS.maxPathBytes - utf8Bytes(base).byteLength - 1)}`;
    expect(utf8Bytes(atLimit).byteLength).toBe(LIMITS.maxPathBytes);
    expect(checkRelativePath(atLimit)).toHaveLength(21);
    expectRefused(`${atLimit}b`);
  });

  it.each([
    ['CON', 'CON_'],
    ['con.txt', 'con_.txt'],
    ['NUL.tar.gz', 'NUL_.tar.gz'],
    ['COM1', 'COM1_'],
    ['lpt³.txt', 'lpt³_.txt'],
    ['CLOCK$', 'CLOCK$_'],
    ['CON .txt', 'CON _.txt'],
    ['dir/CON', 'dir/CON_'],
    ['CON/file', 'CON_/file'],
    ['trailing.', 'trailing_'],
    ['trailing ', 'trailing_'],
    ['dir./x', 'dir_/x'],
    ['a..', 'a__'],
    ['...', '___'],
    ['a:b.txt', 'a_b.txt'],
    ['C:x', 'C_x'],
    ['file.txt:stream', 'file.txt_stream'],
    ['a<b>c"d|e?f*', 'a_b_c_d_e_f_'],
  ])('B7, U8: %j travels, and a Windows receiver stores it as %j', (path, windows) => {
    expect(checkRelativePath(path)).toEqual(path.split('/'));
    expect(validateOffer([file(path)]).entries[0]?.path).toBe(path);
    expect(localNameFor(path, 'win32')).toEqual({ path: windows, changed: true });
    for (const platform of ['linux', 'darwin', 'freebsd']) expect(localNameFor(path, platform)).toEqual({ path, changed: false });
  });

  it.each(['CONSOLE', 'CONFIG.sys', 'COM10', 'LPT', 'NULL.txt', 'CON_1', 'xCON', 'auxiliary'])(
    'B7: accepts %j, which only looks like a reserved name, and stores it as it is everywhere',
    (path) => {
      expect(checkRelativePath(path)).toEqual([path]);
      expect(localNameFor(path, 'win32')).toEqual({ path, changed: false });
    },
  );

  it.each(['a//b', 'a/', './dup', 'a/./b', 'a/.'])('B10: refuses non-canonical path %j outright', (path) => {
    expectRefused(path);
  });

  it.each(['', '.', '/', '//'])('B12: refuses %j', (path) => {
    expectRefused(path);
  });

  it.each(['.bashrc', '.ssh/authorized_keys', 'Startup/x.lnk', '-rf', '--help', '$HOME', '~', 'a b', ' leading'])(
    'B14: accepts sensitive-looking but valid name %j',
    (path) => {
      expect(checkRelativePath(path)).toEqual(path.split('/'));
    },
  );

  it('B15: accepts 64 levels and refuses 65', () => {
    expect(checkRelativePath(Array(64).fill('a').join('/'))).toHaveLength(64);
    expectRefused(Array(65).fill('a').join('/'));
  });

  it('B15: refuses a 10 000-level depth bomb', () => {
    expectRefused(`${'a/'.repeat(10_000)}x`);
  });

  it('B15: honours a lowered maxDepth exactly at the limit and one past it', () => {
    const limits: Limits = { ...LIMITS, maxDepth: 3 };
    expect(checkRelativePath('a/b/c', limits)).toEqual(['a', 'b', 'c']);
    expect(thrown(() => checkRelativePath('a/b/c/d', limits))).toBeInstanceOf(UnsafeOfferError);
  });

  it.each([
    'Fotos/Ünïcödé 日本語/naïve café.txt',
    'Привет/мир.txt',
    'emoji 😀🎉.png',
    '❤️ heart.txt',
    '👍🏽.txt',
    '🇩🇪 flag.txt',
    'e\u0301.txt',
    'ﬀ.txt',
    'ß',
    'a.b.c',
    '.hidden',
    'x',
  ])('accepts valid Unicode name %j and returns its components', (path) => {
    expect(checkRelativePath(path)).toEqual(path.split('/'));
  });
});

describe('collisionKey', () => {
  it.each([
    ['é.txt', 'e\u0301.txt'],
    ['README', 'readme'],
    ['ß', 'SS'],
    ['ß', 'ss'],
    ['ﬀ', 'FF'],
    ['ſ', 'S'],
    ['Ä/x', 'a\u0308/X'],
  ])('B8, B9: maps %j and %j to the same key', (a, b) => {
    expect(collisionKey(a)).toBe(collisionKey(b));
  });

  it.each([
    ['a', 'b'],
    ['a.txt', 'a.txt '],
    ['é', 'e'],
  ])('keeps %j and %j apart', (a, b) => {
    expect(collisionKey(a)).not.toBe(collisionKey(b));
  });
});

describe('K1: a component whose key is a separator, "." or ".."', () => {
  it('K1: U8: refuses a／b (U+FF0F, keyed a/b) beside a/b, in either order', () => {
    for (const entries of [
      [file('a\uff0fb'), file('a/b')],
      [file('a/b'), file('a\uff0fb')],
    ]) {
      const error = thrown(() => validateOffer(entries));
      expect(error).toBeInstanceOf(UnsafeOfferError);
      expect((error as UnsafeOfferError).path).toBe('a\uff0fb');
    }
  });

  it('K1: U8: refuses components that NFKC turns into a separator, "." or ".."', () => {
    for (const path of ['a\uff0fb', 'x/a\uff3cb', '\uff0e\uff0e/x', '\u2025', 'd/\u2024', 'd/\uff0e', '\ufe68']) {
      expect(() => checkRelativePath(path), path).toThrow(/normalisation turns into a separator/);
    }
  });

  it('K1: U8: still accepts names that only look like these (∕ U+2215, …) and dotted names', () => {
    for (const path of ['a\u2215b', '\u2026', '\uff0e\uff0e\uff0e', 'caf\u00e9/na\u00efve.txt']) {
      expect(checkRelativePath(path)).toEqual(path.split('/'));
    }
  });
});

describe('K11: the collision key is idempotent', () => {
  const SHARP = ['ẞ.txt', 'ß.txt', 'ss.txt', 'SS.txt', 'sS.txt'];

  it('K11: ẞ.txt, ß.txt, ss.txt and SS.txt collide in every pair, in either order', () => {
    for (const a of SHARP) {
      for (const b of SHARP) {
        if (a === b) continue;
        expect(collisionKey(a)).toBe(collisionKey(b));
        const error = thrown(() => validateOffer([file(a), file(b)]));
        expect(error).toBeInstanceOf(UnsafeOfferError);
      }
    }
  });

  it('K11: taking the key of a key changes nothing, for every code point alone and after a letter', () => {
    const failures: string[] = [];
    for (let code = 0; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      for (const text of [String.fromCodePoint(code), `A${String.fromCodePoint(code)}`]) {
        const key = collisionKey(text);
        if (collisionKey(key) !== key) failures.push(code.toString(16));
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('validateOffer', () => {
  it('B1: refuses the whole offer for one bad name among good ones, however late it comes', () => {
    const entries = [...Array.from({ length: 50 }, (_, i) => file(`ok${i}.txt`)), file('../evil')];
    expectOfferRefused(entries);
  });

  it('B8: refuses NFC and NFD spellings of one name', () => {
    expectOfferRefused([file('é.txt'), file('e\u0301.txt')]);
    expectOfferRefused([dir('café'), file('cafe\u0301')]);
  });

  it.each([
    [file('README'), file('readme')],
    [dir('FOO'), file('foo')],
    [file('ß'), file('SS')],
    [file('ﬀ'), file('FF')],
    [file('ſ'), file('S')],
    [file('dir/Straße.txt'), file('DIR/STRASSE.TXT')],
  ])('B9: refuses case-fold collision %j / %j', (a, b) => {
    expectOfferRefused([a, b]);
  });

  it('B10: refuses the same path twice, as file or folder', () => {
    expectOfferRefused([file('dup'), file('dup')]);
    expectOfferRefused([dir('dup'), dir('dup')]);
    expectOfferRefused([file('dup'), dir('dup')]);
  });

  it('B10: refuses dup with ./dup and a/b with a//b, since non-canonical paths never pass', () => {
    expectOfferRefused([file('dup'), file('./dup')]);
    expectOfferRefused([file('a/b'), file('a//b')]);
  });

  it('B11: refuses a file that is also a parent folder, in either order and at any depth', () => {
    expectOfferRefused([file('parent'), file('parent/child')]);
    expectOfferRefused([file('parent/child'), file('parent')]);
    expectOfferRefused([file('a/parent'), dir('a/parent/b/c')]);
    expectOfferRefused([file('PARENT'), file('parent/child')]);
    expectOfferRefused([file('café'), file('cafe\u0301/child')]);
  });

  it('B9: refuses folders that differ only in case or normalisation, even when only implied by paths', () => {
    expectOfferRefused([file('d/A/x'), file('d/a/y')]);
    expectOfferRefused([file('A/x'), file('a/y')]);
    expectOfferRefused([dir('Photos'), file('photos/x')]);
    expectOfferRefused([file('caf\u00e9/x'), file('cafe\u0301/y')]);
  });

  it('accepts one folder spelled the same way in every path', () => {
    expect(validateOffer([file('d/A/x'), file('d/A/y'), dir('d/A'), dir('d')]).entries).toHaveLength(4);
  });

  it('B11: accepts a folder entry together with entries below it, in either order', () => {
    expect(validateOffer([dir('parent'), file('parent/child')]).entries).toHaveLength(2);
    expect(validateOffer([file('parent/child'), dir('parent')]).entries).toHaveLength(2);
  });

  it('B12: refuses an empty name', () => {
    expectOfferRefused([file('')]);
    expectOfferRefused([dir('.')]);
  });

  it('A14: accepts maxEntries entries and refuses one more', () => {
    const limits: Limits = { ...LIMITS, maxEntries: 3 };
    expect(validateOffer([file('a'), file('b'), dir('c')], limits).entries).toHaveLength(3);
    expectOfferRefused([file('a'), file('b'), dir('c'), dir('d')], limits);
  });

  it('A14: refuses maxEntries + 1 entries at the default limit before looking at any name', () => {
    const entries = Array.from({ length: LIMITS.maxEntries + 1 }, () => file('dup'));
    expectOfferRefused(entries);
  });

  it('C4: accepts a total exactly at maxTotalSize and refuses one byte more', () => {
    const limits: Limits = { ...LIMITS, maxTotalSize: 100 };
    expect(validateOffer([file('a', 60), file('b', 40)], limits).totalBytes).toBe(100);
    expectOfferRefused([file('a', 60), file('b', 41)], limits);
  });

  it('C4: refuses sizes that add up past 2^53 - 1 instead of losing precision', () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(validateOffer([file('a', max)]).totalBytes).toBe(max);
    expect(validateOffer([file('a', max - 1), file('b', 1)]).totalBytes).toBe(max);
    expectOfferRefused([file('a', max), file('b', 1)]);
    expectOfferRefused([file('a', max), file('b', max)]);
    expectOfferRefused([file('a', max - 1), file('b', 1), file('c', 1)]);
  });

  it('A4: refuses a file size beyond maxFileSize, negative, fractional or not finite', () => {
    const limits: Limits = { ...LIMITS, maxFileSize: 10 };
    expect(validateOffer([file('a', 10)], limits).totalBytes).toBe(10);
    expectOfferRefused([file('a', 11)], limits);
    for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) expectOfferRefused([file('a', size)]);
  });

  it('accepts an empty offer', () => {
    expect(validateOffer([])).toEqual({ entries: [], items: [], fileCount: 0, folderCount: 0, totalBytes: 0 });
  });

  it('numbers entries by their index and returns their components', () => {
    const offer = validateOffer([dir('a'), file('a/b.txt', 3)]);
    expect(offer.entries).toEqual([
      { id: 0, kind: 'dir', path: 'a', components: ['a'], size: 0 },
      { id: 1, kind: 'file', path: 'a/b.txt', components: ['a', 'b.txt'], size: 3 },
    ]);
  });

  it('groups entries under their top-level item, counting files and bytes', () => {
    const offer = validateOffer([
      dir('Fotos'),
      file('Fotos/Ünïcödé 日本語/naïve café.txt', 10),
      file('notes.txt', 5),
      dir('Fotos/empty'),
      file('Fotos/b.jpg', 20),
      dir('Empty'),
      file('Loose/x.bin', 7),
    ]);
    expect(offer.fileCount).toBe(4);
    expect(offer.totalBytes).toBe(42);
    expect(offer.items).toEqual([
      { name: 'Fotos', kind: 'dir', entryIds: [0, 1, 3, 4], fileCount: 2, bytes: 30 },
      { name: 'notes.txt', kind: 'file', entryIds: [2], fileCount: 1, bytes: 5 },
      { name: 'Empty', kind: 'dir', entryIds: [5], fileCount: 0, bytes: 0 },
      { name: 'Loose', kind: 'dir', entryIds: [6], fileCount: 1, bytes: 7 },
    ]);
  });
});

describe('checkRelativePath properties', () => {
  /** Components drawn from an alphabet rich in the characters that matter. */
  const component = fc
    .array(fc.constantFrom('a', 'Z', '.', ' ', '-', '\\', ':', '/', '\u0000', '\u202e', 'é', 'e\u0301', 'C', 'O', 'N', '$', '日', '😀'), {
      minLength: 0,
      maxLength: 8,
    })
    .map((chars) => chars.join(''));
  const anyPath = fc.array(component, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('/'));

  it('B1-B12, U8: accepts only canonical relative paths with no separator or control character, each storable on Windows once mapped', () => {
    fc.assert(
      fc.property(anyPath, (path) => {
        let components: string[];
        try {
          components = checkRelativePath(path);
        } catch (error) {
          expect(error).toBeInstanceOf(UnsafeOfferError);
          return;
        }
        expect(components.join('/')).toBe(path);
        for (const part of components) {
          expect(part).not.toBe('');
          expect(part).not.toBe('.');
          expect(part).not.toBe('..');
          expect(part).not.toMatch(/[\\\u0000\u202e/]/);
          // What Windows cannot store is mapped there to a name it can (U8).
          const windows = localComponent(part, 'win32');
          expect(windows).not.toMatch(/[<>:"|?*]|[. ]$/);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('K1: folders are counted and capped', () => {
  it('K1: counts the folders an offer creates, listed or implied, once each', () => {
    const offer = validateOffer([dir('a'), file('a/b/c.txt'), file('a/b/d.txt'), dir('e'), file('f.txt'), dir('a/b')]);
    expect(offer.folderCount).toBe(3);
  });

  it('K1: accepts exactly maxFolders folders and refuses one more, implied or listed', () => {
    const limits = { ...LIMITS, maxFolders: 3 };
    expect(validateOffer([file('a/b/c/x.txt')], limits).folderCount).toBe(3);
    expectOfferRefused([file('a/b/c/d/x.txt')], limits);
    expectOfferRefused([file('a/b/c/x.txt'), dir('z')], limits);
  });
});
