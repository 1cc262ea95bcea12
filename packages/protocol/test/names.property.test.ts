/**
 * Property tests of name validation (HOSTILE-INPUTS.md B1–B13): names built from a grammar of
 * dangerous pieces, mixed with arbitrary strings. Whatever checkRelativePath and validateOffer
 * accept, joined below a destination by resolveInside, stays strictly inside it under POSIX
 * and Windows rules alike (path.posix and path.win32, so both run on any host).
 */
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, UnsafeOfferError } from '../src/errors.ts';
import { localNameFor, localNamesFor } from '../src/local-names.ts';
import { checkRelativePath, collisionKey, validateOffer } from '../src/names.ts';
import { resolveInside } from '../src/node/paths.ts';

type Entry = Parameters<typeof validateOffer>[0][number];

const PLATFORMS = [
  { name: 'posix', api: path.posix, roots: ['/dl', '/dl/parent', '/home/u/My Downloads', '/'] },
  { name: 'win32', api: path.win32, roots: ['C:\\dl', 'C:\\dl\\parent', '\\\\server\\share\\dl', 'C:\\', '\\\\?\\C:\\dl'] },
] as const;

/** Pieces that have broken some tool's name handling, one row of the catalog or another. */
const DANGEROUS = [
  // B1, B12: traversal and the destination itself.
  '..', '.', '', '/', '../', '/..', './',
  // B2, B3: roots, drives, UNC and device paths, and the other separator.
  '\\', '\\\\', 'C:', 'c:', 'C:\\', 'C:/', '\\\\?\\', '//?/', '\\\\.\\', '//./', '\\\\server\\share', '//server/share',
  // B4, B5: NUL, controls, bidi and zero-width characters.
  '\u0000', '\x1b[1A', '\r', '\n', '\t', '\x7f', '\x85', '\x9b', '\u202e', '\u202a', '\u2066', '\u200b', '\u200c', '\u200d',
  '\ufeff', '\u2028', '\u2029', '\ud800', '\udfff',
  // B7: device names, trailing dots and spaces, streams, forbidden characters.
  'CON', 'con', 'nul.txt', 'NUL', 'PRN', 'aux', 'COM1', 'com9', 'LPT1', 'COM¹', 'LPT³', 'CONIN$', 'conout$', 'CLOCK$',
  ' ', '. ', ' .', '...', ':', ':stream', '::$DATA', '<', '>', '"', '|', '?', '*',
  // B8, B9: normalisation and case folding.
  'é', 'e\u0301', 'Å', 'A\u030a', 'ß', 'SS', 'ﬀ', 'FF', 'ſ', 'S', '\u212a', 'K', 'İ', 'ı',
  // B6: long UTF-8 components.
  'a'.repeat(255), 'a'.repeat(256), '日'.repeat(85), '😀'.repeat(64), 'é'.repeat(128),
];

/** Ordinary pieces, so that a fair share of names is valid. */
const ORDINARY = ['a', 'b', 'Z', 'file', 'x.txt', 'Fotos', 'notes', '-rf', '.bashrc', '~', '$HOME', '日本', '😀', '1', 'a b'];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** One piece of a name: dangerous, ordinary, or arbitrary text (full Unicode, surrogates too). */
const piece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...DANGEROUS) },
  { weight: 4, arbitrary: fc.constantFrom(...ORDINARY) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(fc.constantFrom('a', '.', '/', '\\', ':'), loneSurrogate), maxLength: 4 }) },
);

/** A hostile name: pieces glued together, with `/` between some of them. */
const hostileName = fc
  .array(fc.tuple(piece, fc.constantFrom('', '', '/', '\\')), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.map(([text, glue]) => text + glue).join(''));

/** Names that are likely valid: ordinary pieces with the odd dangerous one in between. */
const mostlyOrdinaryName = fc
  .array(fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ORDINARY) }, { weight: 1, arbitrary: piece }), {
    minLength: 1,
    maxLength: 3,
  }).map((parts) => parts.join('')), { minLength: 1, maxLength: 4 })
  .map((components) => components.join('/'));

const anyName = fc.oneof(hostileName, mostlyOrdinaryName);

/** The components `name` is accepted with, or undefined when it is refused (checked typed). */
function accepted(name: string): string[] | undefined {
  try {
    return checkRelativePath(name);
  } catch (error) {
    expect(error).toBeInstanceOf(UnsafeOfferError);
    expect(error).toMatchObject({ code: ErrorCode.UNSAFE_OFFER, path: name });
    return undefined;
  }
}

/** Asserts that `target` lies strictly inside `root` by components, under `api`'s rules. */
function expectStrictlyInside(api: typeof path.posix, root: string, target: string, components: readonly string[]): void {
  const relative = api.relative(root, target);
  expect(relative).not.toBe('');
  expect(api.isAbsolute(relative)).toBe(false);
  expect(relative.split(api.sep)[0]).not.toBe('..');
  expect(relative.split(api.sep)).toEqual(components);
}

/** Counts how often a property met its interesting case, so it cannot pass vacuously. */
function counter() {
  let hits = 0;
  return { hit: () => hits++, get hits() { return hits; } };
}

describe('checkRelativePath with resolveInside, hostile names', () => {
  describe.each(PLATFORMS)('under path.$name', ({ api, roots }) => {
    it('B1, B2, B3, B13: every accepted name joined below the destination stays strictly inside it', () => {
      const seen = counter();
      fc.assert(
        fc.property(fc.constantFrom(...roots), anyName, (root, offered) => {
          if (!accepted(offered)) return;
          // A receiver stores the name its own system can hold (U8): on Windows, a mapped one.
          const name = localNameFor(offered, api === path.win32 ? 'win32' : 'linux').path;
          const components = name.split('/');
          seen.hit();
          const target = resolveInside(root, components, api);
          expect(target).toBe(api.join(root, ...components));
          expectStrictlyInside(api, root, target, components);
          // Joined as one string, with the platform's own parsing of separators, it lands in the same place.
          expect(api.resolve(root, name)).toBe(api.resolve(target));
          // A sibling sharing the destination as a string prefix is never reached (B13).
          if (!/[\\/]$/.test(root)) expect(api.relative(`${root}2`, target).split(api.sep)[0]).toBe('..');
        }),
        { numRuns: 1000 },
      );
      expect(seen.hits).toBeGreaterThan(100);
    });

    it('B1, B2: resolveInside itself refuses raw components that climb out or name the destination', () => {
      const rawComponents = fc.array(fc.constantFrom('..', '.', '', 'a', 'b', '..\\..', 'C:', '/', '\\'), { maxLength: 6 });
      fc.assert(
        fc.property(fc.constantFrom(...roots), rawComponents, (root, components) => {
          let target: string;
          try {
            target = resolveInside(root, components, api);
          } catch (error) {
            expect(error).toMatchObject({ code: ErrorCode.UNSAFE_OFFER });
            return;
          }
          const relative = api.relative(root, target);
          expect(relative).not.toBe('');
          expect(api.isAbsolute(relative)).toBe(false);
          expect(relative.split(api.sep)[0]).not.toBe('..');
        }),
        { numRuns: 1000 },
      );
    });
  });

  it('B2, B3, B7, H10: an accepted name has no root, drive, stream or separator other than "/" on any platform', () => {
    fc.assert(
      fc.property(anyName, (offered) => {
        if (!accepted(offered)) return;
        const name = localNameFor(offered, 'win32').path;
        const components = name.split('/');
        expect(path.posix.isAbsolute(offered)).toBe(false);
        expect(path.win32.isAbsolute(name)).toBe(false);
        expect(path.win32.parse(name).root).toBe('');
        expect(offered).not.toMatch(/\\/);
        expect(name).not.toMatch(/[<>:"|?*\\]/);
        expect(name).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/u);
        for (const component of components) {
          expect(['', '.', '..']).not.toContain(component);
          expect(component).not.toMatch(/[. ]$/);
          expect(Buffer.byteLength(component, 'utf8')).toBeLessThanOrEqual(255);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('B10: an accepted name is canonical: neither platform would spell it differently', () => {
    fc.assert(
      fc.property(anyName, (offered) => {
        const offeredComponents = accepted(offered);
        if (!offeredComponents) return;
        expect(offeredComponents.join('/')).toBe(offered);
        expect(path.posix.normalize(offered)).toBe(offered);
        expect(path.posix.join('/dl', offered)).toBe(`/dl/${offered}`);
        const name = localNameFor(offered, 'win32').path;
        const components = name.split('/');
        // Joined below a folder, Windows rules change nothing but the separator. (Node's own
        // win32.normalize puts ".\\" before a bare relative name such as "NULa" or "COM10",
        // which Windows does not reserve; a joined path is not affected.)
        expect(path.win32.join('C:\\dl', name)).toBe(`C:\\dl\\${components.join('\\')}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('B7, U8: every spelling of a Windows device name travels, and a Windows receiver stores it under another name', () => {
    const device = fc.constantFrom(
      'CON', 'PRN', 'AUX', 'NUL', 'CONIN$', 'CONOUT$', 'CLOCK$',
      ...[...'0123456789¹²³'].flatMap((digit) => [`COM${digit}`, `LPT${digit}`]),
    );
    const anyCase = device.chain((base) =>
      fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }).map((upper) =>
        [...base].map((char, i) => (upper[i] ? char.toUpperCase() : char.toLowerCase())).join(''),
      ),
    );
    const reserved = fc
      .tuple(
        fc.constantFrom('', 'dir/', 'a/b/'),
        anyCase,
        fc.constantFrom('', ' ', '  '),
        fc.constantFrom('', '.txt', '.tar.gz', '.', '.x.'),
        fc.constantFrom('', '/child', '/a/b.txt'),
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(reserved, (name) => {
        expect(accepted(name)).toEqual(name.split('/'));
        const local = localNameFor(name, 'win32');
        expect(local.changed).toBe(true);
        for (const component of local.path.split('/')) {
          const base = component.split('.')[0]!.trimEnd().toUpperCase();
          expect(/^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|CLOCK\$|COM[0-9¹²³]|LPT[0-9¹²³])$/.test(base)).toBe(false);
          expect(component).not.toMatch(/[. ]$/);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('B1, B2, B3, B4, B5: refuses any name holding a dangerous piece as a whole component or separator', () => {
    const mustFail = fc.constantFrom(
      '..', '.', '', '\\', 'C:\\', '\\\\?\\', '//?/', '\u0000', '\x1b', '\r', '\u202e', '\u200b', '\ufeff', '\ud800',
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ORDINARY), { maxLength: 3 }), mustFail, fc.array(fc.constantFrom(...ORDINARY), { maxLength: 3 }), (before, bad, after) => {
        expect(accepted([...before, bad, ...after].join('/'))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same answer when asked twice, and for an equal string built anew', () => {
    fc.assert(
      fc.property(anyName, (name) => {
        const first = accepted(name);
        expect(accepted(name)).toEqual(first);
        expect(accepted([...name].join(''))).toEqual(first);
        expect(accepted(name.split('/').join('/'))).toEqual(first);
      }),
      { numRuns: 1000 },
    );
  });
});

/** Spellings of a name that some file system would store as the same file. */
function variants(name: string): string[] {
  return [
    name.toUpperCase(),
    name.toLowerCase(),
    name.normalize('NFC'),
    name.normalize('NFD'),
    name.normalize('NFKC'),
    name.replaceAll('ß', 'SS').replaceAll('ſ', 's').replaceAll('ﬀ', 'ff').replaceAll('\u212a', 'k'),
    name.replaceAll('SS', 'ß').replaceAll('s', 'ſ').replaceAll('ff', 'ﬀ').replaceAll('K', '\u212a'),
    name.replaceAll('é', 'e\u0301').replaceAll('Å', 'A\u030a'),
    name.replaceAll('e\u0301', 'é').replaceAll('A\u030a', 'Å'),
  ];
}

/** An offer from hostile names, as files and folders, sizes small. */
const offerEntries = fc.array(
  fc.tuple(anyName, fc.boolean(), fc.nat({ max: 1000 })).map(([name, isFile, size]): Entry => (isFile ? { kind: 'file', path: name, size } : { kind: 'dir', path: name })),
  { maxLength: 8 },
);

/** A mostly valid offer: ordinary names under few top-level folders, with spelling variants mixed in. */
const collidingEntries = fc
  .array(fc.tuple(mostlyOrdinaryName, fc.boolean(), fc.nat({ max: 8 })), { minLength: 1, maxLength: 6 })
  .map((picks) =>
    picks.map(([name, isFile, variant]): Entry => {
      const spelled = variant < 8 ? variants(name)[variant]! : name;
      return isFile ? { kind: 'file', path: spelled, size: 1 } : { kind: 'dir', path: spelled };
    }),
  );

function offerOutcome(entries: readonly Entry[]) {
  try {
    return validateOffer(entries);
  } catch (error) {
    expect(error).toBeInstanceOf(UnsafeOfferError);
    expect(error).toMatchObject({ code: ErrorCode.UNSAFE_OFFER });
    return undefined;
  }
}

describe('validateOffer, hostile offers', () => {
  it('B8, B9: never accepts two spellings of one name that meet under NFC, NFKC or case folding', () => {
    const seen = counter();
    fc.assert(
      fc.property(mostlyOrdinaryName, fc.nat({ max: 8 }), fc.constantFrom<Entry['kind']>('file', 'dir'), fc.constantFrom<Entry['kind']>('file', 'dir'), (name, which, kindA, kindB) => {
        const other = variants(name)[which]!;
        if (other === name || !accepted(name) || !accepted(other)) return;
        const entry = (kind: Entry['kind'], spelled: string): Entry => (kind === 'file' ? { kind, path: spelled, size: 1 } : { kind, path: spelled });
        if (collisionKey(name) !== collisionKey(other)) return;
        seen.hit();
        expect(offerOutcome([entry(kindA, name), entry(kindB, other)])).toBeUndefined();
        expect(offerOutcome([entry(kindB, other), entry(kindA, name)])).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
    expect(seen.hits).toBeGreaterThan(50);
  });

  it('B8, B9, B11: in an accepted offer no two entries, and no file and folder, meet under the collision key', () => {
    const seen = counter();
    fc.assert(
      fc.property(fc.oneof(offerEntries, collidingEntries), (entries) => {
        const offer = offerOutcome(entries);
        if (!offer) return;
        seen.hit();
        const keys = offer.entries.map((entry) => collisionKey(entry.path));
        expect(new Set(keys).size).toBe(keys.length);
        const fileKeys = new Set(offer.entries.filter((entry) => entry.kind === 'file').map((entry) => collisionKey(entry.path)));
        const folderSpelling = new Map<string, string>();
        for (const entry of offer.entries) {
          for (let depth = 1; depth < entry.components.length; depth++) {
            const folder = entry.components.slice(0, depth).join('/');
            expect(fileKeys.has(collisionKey(folder))).toBe(false);
            const spelled = folderSpelling.get(collisionKey(folder)) ?? folder;
            expect(spelled).toBe(folder);
            folderSpelling.set(collisionKey(folder), folder);
          }
        }
      }),
      { numRuns: 1000 },
    );
    expect(seen.hits).toBeGreaterThan(50);
  });

  describe.each(PLATFORMS)('under path.$name', ({ api, roots }) => {
    it('B1, B2, B13, U8: every entry of an accepted offer, under its local name, lands strictly inside the destination, each at its own place', () => {
      fc.assert(
        fc.property(fc.constantFrom(...roots), fc.oneof(offerEntries, collidingEntries), (root, entries) => {
          const offer = offerOutcome(entries);
          if (!offer) return;
          // Stored under the names this platform can hold (U8): on Windows, mapped ones.
          const local = localNamesFor(offer.entries, api === path.win32 ? 'win32' : 'linux');
          const targets = local.paths.map((localPath) => {
            const components = localPath.split('/');
            const target = resolveInside(root, components, api);
            expectStrictlyInside(api, root, target, components);
            return collisionKey(target);
          });
          expect(new Set(targets).size).toBe(targets.length);
        }),
        { numRuns: 500 },
      );
    });
  });

  it('is all or nothing: adding any refused name to an accepted offer refuses the whole offer', () => {
    const seen = counter();
    fc.assert(
      fc.property(collidingEntries, anyName, fc.nat(), (entries, bad, seed) => {
        if (accepted(bad) || !offerOutcome(entries)) return;
        seen.hit();
        const at = seed % (entries.length + 1);
        const hostile: Entry[] = [...entries.slice(0, at), { kind: 'file', path: bad, size: 1 }, ...entries.slice(at)];
        expect(offerOutcome(hostile)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
    expect(seen.hits).toBeGreaterThan(50);
  });

  it('gives the same answer when asked twice', () => {
    fc.assert(
      fc.property(fc.oneof(offerEntries, collidingEntries), (entries) => {
        expect(offerOutcome(entries)).toEqual(offerOutcome(entries));
      }),
      { numRuns: 500 },
    );
  });
});

describe('collisionKey properties', () => {
  /** Text rich in what case mapping and normalisation change: sharp s, sigma, ligatures, marks. */
  const caseText = fc.string({
    unit: fc.oneof(
      fc.constantFrom('ẞ', 'ß', 's', 'S', 'Σ', 'σ', 'ς', 'İ', 'ı', 'i', 'I', 'ﬀ', 'ﬃ', 'ſ', 'K', '\u212a', 'ǅ', 'ŉ', 'ΐ', '\u0301', '\u0308', '\u0345', '/', '.', ' ', "'"),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
    maxLength: 12,
  });

  it('K11: the key of a key is the key itself', () => {
    fc.assert(
      fc.property(fc.oneof(caseText, anyName), (text) => {
        const key = collisionKey(text);
        expect(collisionKey(key)).toBe(key);
      }),
      { numRuns: 20_000 },
    );
  });

  it('K11: two names collide exactly when their keys do, so collision is an equivalence', () => {
    fc.assert(
      fc.property(caseText, caseText, (a, b) => {
        expect(collisionKey(collisionKey(a)) === collisionKey(b)).toBe(collisionKey(a) === collisionKey(b));
      }),
      { numRuns: 5000 },
    );
  });
});
