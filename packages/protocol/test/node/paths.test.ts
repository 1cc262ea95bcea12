import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, UnsafeOfferError } from '../../src/errors.ts';
import { localNameFor } from '../../src/local-names.ts';
import { checkRelativePath } from '../../src/names.ts';
import { resolveInside } from '../../src/node/paths.ts';
import { thrown } from '../helpers.ts';

const PLATFORMS = [
  { name: 'posix', api: path.posix, roots: ['/dl', '/dl/parent', '/home/u/Downloads dir', '/'] },
  { name: 'win32', api: path.win32, roots: ['C:\\dl', 'C:\\dl\\parent', '\\\\server\\share\\dl', 'C:\\'] },
] as const;

/**
 * Names that pass checkRelativePath, drawn from an alphabet that includes every troublemaker;
 * `C:` and `b:` whole, so drive-relative components (`C:x`, which Windows reads as a path on
 * drive C) come up in every run, not once in a dozen.
 */
const acceptedNames = fc
  .array(
    fc
      .array(fc.constantFrom('a', 'B', '.', '..', ' ', '-', '~', '$', ':', '\\', '/', 'C', 'C:', 'b:', 'é', '日', '😀', '\u0000'), {
        minLength: 1,
        maxLength: 6,
      })
      .map((chars) => chars.join('')),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => parts.join('/'))
  .filter((candidate) => {
    try {
      checkRelativePath(candidate);
      return true;
    } catch {
      return false;
    }
  });

/** What a receiver on `api`'s system joins below its folder: the local name (U8, §6.4), never the raw one. */
function storedComponents(api: typeof path.posix, name: string): string[] {
  return localNameFor(name, api === path.win32 ? 'win32' : 'linux').path.split('/');
}

describe('resolveInside', () => {
  describe.each(PLATFORMS)('with path.$name', ({ api, roots }) => {
    it('U8: keeps every name that checkRelativePath accepts, stored under its local name, strictly inside the root', () => {
      let driveLike = 0;
      fc.assert(
        fc.property(fc.constantFrom(...roots), acceptedNames, (root, name) => {
          if (/(^|\/)[A-Za-z]:/.test(name)) driveLike++;
          const components = storedComponents(api, name);
          const target = resolveInside(root, components, api);
          const relative = api.relative(root, target);
          expect(relative).not.toBe('');
          expect(api.isAbsolute(relative)).toBe(false);
          expect(relative.split(api.sep)).not.toContain('..');
          expect(relative).toBe(components.join(api.sep));
          const prefix = root.endsWith(api.sep) ? root : root + api.sep;
          expect(target.startsWith(prefix)).toBe(true);
        }),
        { numRuns: 1000 },
      );
      expect(driveLike).toBeGreaterThan(50);
    });

    it('U8: a drive-relative component (B:/x, C:x) is joined under its local name and stays inside', () => {
      for (const name of ['B:/x', 'C:x', 'a/C:', 'b:']) {
        const components = storedComponents(api, name);
        const target = resolveInside(roots[0], components, api);
        expect(api.relative(roots[0], target)).toBe(components.join(api.sep));
      }
      expect(storedComponents(path.win32, 'B:/x')).toEqual(['B_', 'x']);
    });

    it('B13: refuses a sibling that shares the root as a string prefix', () => {
      const root = api.join(roots[0], 'parent');
      const error = thrown(() => resolveInside(root, ['..', 'parent2', 'x'], api));
      expect(error).toBeInstanceOf(UnsafeOfferError);
      expect(error).toMatchObject({ code: ErrorCode.UNSAFE_OFFER });
    });

    it.each([[['..']], [['a', '..', '..', 'x']], [['..', '..', 'etc', 'passwd']]])(
      'B1: refuses unvalidated components %j that climb out',
      (components) => {
        expect(thrown(() => resolveInside(roots[0], components, api))).toBeInstanceOf(UnsafeOfferError);
      },
    );

    it.each([[[]], [['.']], [['a', '..']], [['']]])('B12: refuses components %j that name the root itself', (components) => {
      expect(thrown(() => resolveInside(roots[0], components, api))).toBeInstanceOf(UnsafeOfferError);
    });

    it('accepts a name that merely starts with two dots', () => {
      expect(resolveInside(roots[0], ['..foo'], api)).toBe(api.join(roots[0], '..foo'));
    });
  });

  it('U8: B2: refuses a raw drive-relative component on Windows, which would leave the folder', () => {
    // path.win32.relative('C:\\dl', 'C:\\dl\\B:\\x') is `B:\\x`, a path on drive B.
    expect(thrown(() => resolveInside('C:\\dl', ['B:', 'x'], path.win32))).toBeInstanceOf(UnsafeOfferError);
  });

  it('B2: refuses a drive-absolute component on Windows', () => {
    expect(thrown(() => resolveInside('C:\\dl', ['..\\..\\Windows'], path.win32))).toBeInstanceOf(UnsafeOfferError);
  });

  it('uses the host platform path rules by default', () => {
    const root = path.resolve('dl');
    expect(resolveInside(root, ['a', 'b.txt'])).toBe(path.join(root, 'a', 'b.txt'));
  });
});
