import { writeSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type ValidatedEntry, validateOffer } from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Destination } from '../src/destination.ts';
import { PartialStore } from '../src/partials.ts';
import { partialName } from '../src/resume-state.ts';
import { listTree, runCleanup, tempDir } from '@ferry/testkit/unit';

afterEach(runCleanup);

function files(...paths: string[]): ValidatedEntry[] {
  return [
    ...validateOffer(paths.map((p) => ({ kind: 'file' as const, path: p, size: 1 }))).entries,
  ];
}

describe('Destination temporary names', () => {
  it('K10: temporary names carry 128 random bits, with nothing shared from one to the next', async () => {
    const out = await tempDir();
    const destination = new Destination(out);
    const [a, b] = files('a.txt', 'b.txt');
    const first = await destination.openTemp(a!);
    const second = await destination.openTemp(b!);
    await first.handle.close();
    await second.handle.close();
    const names = [path.basename(first.tempPath), path.basename(second.tempPath)];
    for (const name of names) expect(name).toMatch(/^\.ferry-[0-9a-f]{32}\.part$/);
    expect(names[0]!.slice(0, 12)).not.toBe(names[1]!.slice(0, 12));
  });

  it('K10: links planted at every name guessable from an observed one do not stop the next file', async () => {
    const out = await tempDir();
    const destination = new Destination(out);
    const [a, b] = files('a.txt', 'b.txt');
    const first = await destination.openTemp(a!);
    await first.handle.close();
    // What another local user sees, and the names a counter would give next.
    const seen = path.basename(first.tempPath);
    const counted = /^(\.ferry-.*-)(\d+)\.part$/.exec(seen);
    const victim = path.join(await tempDir(), 'victim');
    await writeFile(victim, 'untouched');
    const guesses = counted
      ? [1, 2, 3, 4].map((n) => `${counted[1]}${Number(counted[2]) + n}.part`)
      : [`${seen.slice(0, -6)}${seen.at(-6) === '0' ? '1' : '0'}.part`];
    for (const guess of guesses) await symlink(victim, path.join(out, guess));
    const second = await destination.openTemp(b!);
    writeSync(second.handle.fd, 'b');
    await second.handle.close();
    expect(await destination.finalize(b!, second.tempPath)).toBe(path.join(out, 'b.txt'));
    expect(await readFile(victim, 'utf8')).toBe('untouched');
  });

  it('K10: a temporary name that exists is never opened through: a new random name is tried', async () => {
    const out = await tempDir();
    const victim = path.join(await tempDir(), 'victim');
    await writeFile(victim, 'untouched');
    await symlink(victim, path.join(out, '.ferry-planted.part'));
    const names = ['.ferry-planted.part', '.ferry-fresh.part'];
    const destination = new Destination(out, {
      tempName: () => names.shift() ?? '.ferry-spare.part',
    });
    const [a] = files('a.txt');
    const { handle, tempPath } = await destination.openTemp(a!);
    writeSync(handle.fd, 'a');
    await handle.close();
    expect(path.basename(tempPath)).toBe('.ferry-fresh.part');
    await destination.finalize(a!, tempPath);
    expect(await readFile(victim, 'utf8')).toBe('untouched');
    expect(await listTree(out)).toEqual(['.ferry-planted.part', 'a.txt']);
  });

  it('K10: a one-way transfer writes its files inside its 0700 partial folder (128 random bits), never beside their final name', async () => {
    const out = await tempDir();
    const store = await PartialStore.create(out);
    const destination = new Destination(out, { partials: store });
    const [a] = files('docs/a.txt');
    await destination.createDirs([a!]);
    const { handle, tempPath } = await destination.openTemp(a!);
    writeSync(handle.fd, 'a');
    await handle.close();
    expect(tempPath).toBe(path.join(store.dir, partialName('docs/a.txt')));
    expect(path.basename(store.dir)).toMatch(/^\.ferry-partial-[0-9a-f]{32}$/);
    expect(await listTree(path.join(out, 'docs'))).toEqual([]);
    expect(await destination.finalize(a!, tempPath)).toBe(path.join(out, 'docs', 'a.txt'));
    await destination.complete();
    expect(await listTree(out)).toEqual(['docs/', 'docs/a.txt']);
  });
});
