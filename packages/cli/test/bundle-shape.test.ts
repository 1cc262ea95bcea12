/**
 * What Ferry's bundles are made of and how they start, for the memory of every run: the source
 * V8 holds is ASCII (one byte a character, not two), the launcher's source map lies beside its
 * bundle instead of inside it, and both shapes set Ferry's V8 heap flags before their own code
 * runs. Characters outside ASCII in strings, regular expressions and comments still mean what
 * they meant.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { bundle, isFresh } from '../build-single.mjs';

const execFileAsync = promisify(execFile);
const RECIPE = fileURLToPath(new URL('../build-single.mjs', import.meta.url));
const LAUNCHER = new URL('../launcher.mjs', import.meta.url).href;

/**
 * A program that keeps 300,000 young objects alive, then prints the size of V8's young
 * generation. By default V8 doubles it on such survival, to 32 MiB; with Ferry's flags it stays
 * at its first size, at most 2 MiB (two halves of 1 MiB).
 */
const YOUNG_GENERATION_PROBE = [
  "import v8 from 'node:v8';",
  'const kept: object[] = [];',
  "for (let i = 0; i < 300_000; i++) kept.push({ i, text: 'x' + i });",
  "const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');",
  'console.log(JSON.stringify({ young: young?.space_size, kept: kept.length }));',
].join('\n');

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * Bundles an entry of `lines` (in a fresh folder, `dir`) as the launcher does, then runs it:
 * the bundle's path and text, and what it printed.
 */
async function bundleAndRun(
  lines: string[],
): Promise<{ out: string; code: string; stdout: string }> {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bundle-'));
  const entry = path.join(dir, 'entry.ts');
  await writeFile(entry, lines.join('\n'));
  const out = path.join(dir, 'out', 'entry.mjs');
  await bundle(entry, out);
  const { stdout } = await execFileAsync(process.execPath, [out], { timeout: 30_000 });
  return { out, code: await readFile(out, 'utf8'), stdout };
}

describe("the launcher's bundle", () => {
  it('is ASCII, links its source map beside it, and counts its recipe among its inputs', async () => {
    // A comment esbuild keeps (inside a class body), a string, regular expressions (with
    // identity escapes, and with the u flag) and characters outside the Basic Multilingual
    // Plane.
    const { out, code, stdout } = await bundleAndRun([
      'class Note {',
      '  /** Kept by esbuild: see PROTOCOL.md §12, naïve café, a \\é in a comment. */',
      "  readonly text: string = 'déjà vu 🚢';",
      '}',
      'const matches = [',
      "  /^[à-ü]+$/.test('éü'),",
      "  /^\\é$/.test('é'),",
      "  /^[\\é]$/.test('é'),",
      "  /^\\\\é$/.test('\\\\é'),",
      "  /^🚢$/u.test('🚢'),",
      "  /^[🚢😀]$/u.test('😀'),",
      "  /^[🚢]$/.test('🚢'),",
      '];',
      'console.log(JSON.stringify({ text: new Note().text, matches }));',
    ]);
    expect(code).toMatch(/^[\x00-\x7f]*$/);
    expect(code).toContain('PROTOCOL.md \\u00a712');
    expect(code).not.toContain('data:application/json');
    expect(code.trimEnd().endsWith('//# sourceMappingURL=entry.mjs.map')).toBe(true);
    const map = JSON.parse(await readFile(`${out}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.some((source) => source.endsWith('entry.ts'))).toBe(true);
    expect(JSON.parse(stdout)).toEqual({
      text: 'déjà vu 🚢',
      matches: [true, true, true, true, true, true, false],
    });
    const inputs = JSON.parse(await readFile(`${out}.inputs.json`, 'utf8')) as string[];
    expect(inputs).toContain(RECIPE);
    expect(await isFresh(out)).toBe(true);
    // A bundle whose inputs do not name the recipe (made by an older one) is stale.
    await writeFile(`${out}.inputs.json`, JSON.stringify(inputs.filter((i) => i !== RECIPE)));
    expect(await isFresh(out)).toBe(false);
  }, 60_000);

  it('keeps the raw text of tagged templates as written: there an escape would change it', async () => {
    const { stdout } = await bundleAndRun([
      'const tag = (strings: TemplateStringsArray) => strings.raw[0];',
      'console.log(JSON.stringify([String.raw`é🚢\\é`, tag`§`]));',
    ]);
    expect(JSON.parse(stdout)).toEqual(['é🚢\\é', '§']);
  }, 60_000);

  it("runs under Ferry's heap flags when launched: the young generation keeps its first size", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bundle-'));
    await mkdir(path.join(dir, 'src'));
    const entry = path.join(dir, 'src', 'bin.ts');
    await writeFile(entry, YOUNG_GENERATION_PROBE);
    const runner = path.join(dir, 'run.mjs');
    await writeFile(
      runner,
      `import { launch } from ${JSON.stringify(LAUNCHER)};\nawait launch(${JSON.stringify(pathToFileURL(entry).href)}, 'probe');\n`,
    );
    const launched = await execFileAsync(process.execPath, [runner], { timeout: 60_000 });
    const underLauncher = JSON.parse(launched.stdout);
    expect(underLauncher.kept).toBe(300_000);
    expect(underLauncher.young).toBeLessThanOrEqual(2 * 1024 * 1024);
    // The same bundle run by Node alone: the probe does make the young generation grow.
    const cached = path.join(dir, 'node_modules', '.cache', 'ferry', 'probe.mjs');
    const alone = await execFileAsync(process.execPath, [cached], { timeout: 60_000 });
    expect(JSON.parse(alone.stdout).young).toBeGreaterThan(2 * 1024 * 1024);
    // A user's own setting for the young generation wins over Ferry's.
    const theirs = await execFileAsync(process.execPath, [runner], {
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=32' },
    });
    expect(JSON.parse(theirs.stdout).young).toBeGreaterThan(2 * 1024 * 1024);
  }, 60_000);

  it("runs under Ferry's heap flags as a single file", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bundle-'));
    const entry = path.join(dir, 'bin.ts');
    await writeFile(entry, YOUNG_GENERATION_PROBE);
    const out = path.join(dir, 'dist', 'probe.mjs');
    await bundle(entry, out, { singleFile: true });
    const code = await readFile(out, 'utf8');
    expect(code).toMatch(/^[\x00-\x7f]*$/);
    const { stdout } = await execFileAsync(process.execPath, [out], { timeout: 60_000 });
    const single = JSON.parse(stdout);
    expect(single.kept).toBe(300_000);
    expect(single.young).toBeLessThanOrEqual(2 * 1024 * 1024);
  }, 60_000);
});
