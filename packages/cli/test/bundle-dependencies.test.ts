/**
 * The apps' launcher bundles leave npm packages to node_modules, where Node looks them up from
 * the app's own folder. With pnpm, a package is there only if the app depends on it itself: a
 * dependency of one of Ferry's packages (the window's `open`, say) must be one of the app's too.
 * This builds each app's bundle as its launcher does and imports every package it names, from
 * the app's folder. It also checks that the bundle embeds the window's page and is ASCII.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { CLIENT_ENTRY } from '@ferry/window/build-client';
import { describe, expect, it } from 'vitest';
import { bundle } from '../build-single.mjs';

const execFileAsync = promisify(execFile);
const PACKAGES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe("the apps' launcher bundles", () => {
  for (const app of ['sender', 'receiver']) {
    it(`${app}: every npm package the bundle imports is found from the app's folder, the page is inside, and it is ASCII`, async () => {
      const dir = path.join(PACKAGES, app);
      const out = path.join(
        dir,
        'node_modules',
        '.cache',
        'ferry-test',
        `bundle-${process.pid}.mjs`,
      );
      try {
        await bundle(path.join(dir, 'src', 'bin.ts'), out);
        const code = await readFile(out, 'utf8');
        const specifiers = new Set<string>();
        // esbuild writes imports with double quotes: static ones at the start of a line.
        const found = [
          ...code.matchAll(/^import\b[^;]*?["']([^"']+)["'];$/gm),
          ...code.matchAll(/\bimport\("([^"]+)"\)/g),
        ];
        for (const [, specifier] of found) {
          if (!/^(node:|\.|\/)/.test(specifier!)) specifiers.add(specifier!);
        }
        expect(specifiers.size).toBeGreaterThan(0);
        const script = `await Promise.all(${JSON.stringify([...specifiers])}.map((s) => import(s).catch((e) => { console.log(s, e.code); process.exitCode = 1; })));`;
        const { stdout } = await execFileAsync(
          process.execPath,
          ['--input-type=module', '-e', script],
          { cwd: dir, timeout: 60_000 },
        ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
        expect(stdout.trim(), `not found from ${dir}`).toBe('');
        const inputs = JSON.parse(await readFile(`${out}.inputs.json`, 'utf8')) as string[];
        expect(inputs).toContain(CLIENT_ENTRY);
        expect(code).not.toContain('FERRY_WINDOW_ASSETS');
        // ASCII only: one other character makes V8 hold the whole source as UTF-16.
        expect(code.match(/[^\x00-\x7f].{0,40}/g) ?? []).toEqual([]);
      } finally {
        await rm(path.dirname(out), { recursive: true, force: true });
      }
    }, 120_000);
  }
});
