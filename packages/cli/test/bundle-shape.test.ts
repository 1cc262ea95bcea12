/**
 * What the launcher's bundles are made of, for the memory of every run: the source V8 holds
 * is ASCII (one byte a character, not two), and the source map lies beside the bundle instead
 * of inside it. Characters outside ASCII in strings, regular expressions and comments still
 * mean what they meant.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { bundle } from '../build-single.mjs';

const execFileAsync = promisify(execFile);
const RECIPE = fileURLToPath(new URL('../build-single.mjs', import.meta.url));

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("the launcher's bundle", () => {
  it('is ASCII, links its source map beside it, and counts its recipe among its inputs', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bundle-'));
    const entry = path.join(dir, 'entry.ts');
    // A comment esbuild keeps (inside a class body), a string, a regular expression and a
    // character outside the Basic Multilingual Plane.
    await writeFile(
      entry,
      [
        'class Note {',
        '  /** Kept by esbuild: see PROTOCOL.md §12, naïve café. */',
        "  readonly text: string = 'déjà vu 🚢';",
        '}',
        "const matches = /^[à-ü]+$/.test('éü');",
        'console.log(JSON.stringify({ text: new Note().text, matches }));',
      ].join('\n'),
    );
    const out = path.join(dir, 'out', 'entry.mjs');
    await bundle(entry, out);
    const code = await readFile(out, 'utf8');
    expect(code).toMatch(/^[\x00-\x7f]*$/);
    expect(code).toContain('PROTOCOL.md \\u00a712');
    expect(code).not.toContain('data:application/json');
    expect(code.trimEnd().endsWith('//# sourceMappingURL=entry.mjs.map')).toBe(true);
    const map = JSON.parse(await readFile(`${out}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.some((source) => source.endsWith('entry.ts'))).toBe(true);
    const { stdout } = await execFileAsync(process.execPath, [out], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ text: 'déjà vu 🚢', matches: true });
    const inputs = JSON.parse(await readFile(`${out}.inputs.json`, 'utf8')) as string[];
    expect(inputs).toContain(RECIPE);
  }, 60_000);
});
