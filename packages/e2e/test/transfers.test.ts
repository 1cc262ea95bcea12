import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import {
  assertExit,
  hashFile,
  hashTree,
  makeTempDir,
  receiveAll,
  startSender,
  WAIT,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/harness';

/** Offers every top-level entry of `srcDir`, receives it all into a new folder, and returns that folder. */
async function transferAll(srcDir: string, timeoutMs: number = WAIT.transferMs): Promise<string> {
  const names = (await fs.readdir(srcDir)).sort();
  const sender = await startSender(names.map((name) => path.join(srcDir, name)));
  const outDir = await makeTempDir('out');
  const run = await receiveAll(sender, outDir, { timeoutMs });
  assertExit(run, 0);
  expect(run.last?.event, run.report('the last event is not "done"')).toBe('done');
  await sender.waitForEvent('session-complete');
  return outDir;
}

describe('a transfer with --yes --out --json', () => {
  it.each([
    ['an empty file', 0],
    ['a 1-byte file', 1],
    ['a 1 MiB random file', 1024 * 1024],
  ])('delivers %s byte for byte', async (_label, size) => {
    const src = await makeTempDir('src');
    await writeRandomFile(path.join(src, 'data.bin'), size);
    const out = await transferAll(src);
    const received = await hashTree(out);
    expect(received).toEqual(await hashTree(src));
    expect(received['data.bin']).toMatchObject({ size });
  });

  it('delivers a 256 MiB random file byte for byte', async () => {
    const big = inject('bigFile');
    const out = await transferAll(big.dir, WAIT.bigTransferMs);
    expect(await hashTree(out)).toEqual({
      'big.bin': { kind: 'file', size: big.size, sha256: big.sha256 },
    });
  });

  it(
    'delivers a file larger than 4 GiB byte for byte (sizes and offsets past 32 bits)',
    async () => {
      const src = await makeTempDir('src');
      const file = path.join(src, 'over-4-GiB.bin');
      const size = 2 ** 32 + 4097;
      // Sparse, so it costs no disk on the sending side; random bytes where 32-bit arithmetic
      // would go wrong: the start, both sides of 2^32, and the very end.
      const handle = await fs.open(file, 'w');
      try {
        await handle.truncate(size);
        for (const at of [0, 2 ** 32 - 65_536, 2 ** 32, size - 4097])
          await handle.write(
            randomBytes(65_536).subarray(0, Math.min(65_536, size - at)),
            0,
            undefined,
            at,
          );
      } finally {
        await handle.close();
      }
      const out = await transferAll(src, WAIT.hugeTransferMs);
      expect(await hashTree(out)).toEqual(await hashTree(src));
    },
    WAIT.hugeTransferMs * 2,
  );

  it('U8: delivers a:b.txt, CON.txt and "trailing space " inside a folder and named on the command line, between two Linux machines', async () => {
    const src = await makeTempDir('src');
    for (const name of ['a:b.txt', 'CON.txt', 'trailing space '])
      await writeFileAt(src, name, `${name}\n`);
    await writeFileAt(src, 'Share/a:b.txt', 'inside\n');
    await writeFileAt(src, 'Share/CON.txt', 'inside\n');
    await writeFileAt(src, 'Share/x.', 'inside\n');

    const out = await transferAll(src);

    expect(await hashTree(out)).toEqual(await hashTree(src));
    expect((await fs.readdir(path.join(out, 'Share'))).sort()).toEqual([
      'CON.txt',
      'a:b.txt',
      'x.',
    ]);
  });

  it('recreates nested folders with Unicode names, and empty folders', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'Fotos/Ünïcödé 日本語/naïve café.txt', 'Grüße aus Köln ☕\n');
    await writeFileAt(src, 'Fotos/Ünïcödé 日本語/写真 1.bin', randomBytes(10_000));
    // The same letter decomposed (NFD): it must arrive under exactly these code points.
    await writeFileAt(src, 'Fotos/cafe\u0301 NFD.txt', 'decomposed\n');
    await writeFileAt(src, 'Fotos/Ελληνικά/Кириллица/עברית.txt', '');
    await fs.mkdir(path.join(src, 'Fotos', 'leer'));
    await fs.mkdir(path.join(src, 'Fotos', 'Ünïcödé 日本語', 'auch leer', 'ganz leer'), {
      recursive: true,
    });
    await fs.mkdir(path.join(src, 'Leerer Ordner'));

    const out = await transferAll(src);

    expect(await hashTree(out)).toEqual(await hashTree(src));
    expect((await fs.stat(path.join(out, 'Leerer Ordner'))).isDirectory()).toBe(true);
    expect(await fs.readdir(path.join(out, 'Fotos', 'leer'))).toEqual([]);
    expect(
      await fs.readdir(path.join(out, 'Fotos', 'Ünïcödé 日本語', 'auch leer', 'ganz leer')),
    ).toEqual([]);
    expect(await fs.readdir(path.join(out, 'Fotos'))).toContain('cafe\u0301 NFD.txt');
  });

  it('delivers 2,000 small files (0 to 8 KiB) in nested folders', async () => {
    const src = await makeTempDir('src');
    let count = 0;
    for (let a = 0; a < 10; a++) {
      for (let b = 0; b < 10; b++) {
        for (let c = 0; c < 20; c++) {
          // Every 25th file is empty and every 25th is exactly 8 KiB: both edges occur.
          const size = count % 25 === 0 ? 0 : count % 25 === 1 ? 8192 : randomInt(0, 8193);
          await writeFileAt(src, `small/set ${a}/part-${b}/file-${c}.dat`, randomBytes(size));
          count++;
        }
      }
    }
    expect(count).toBe(2000);

    const out = await transferAll(src);

    const received = await hashTree(out);
    expect(Object.values(received).filter((entry) => entry.kind === 'file')).toHaveLength(2000);
    expect(received).toEqual(await hashTree(src));
  });

  it('sends a symlink to a file inside the offered folder as that file, and skips links that lead out', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'secret.txt', 'not offered\n');
    await writeFileAt(src, 'Share/real.txt', 'real content\n');
    await writeFileAt(src, 'Share/sub/deep.txt', 'deep\n');
    await fs.symlink('real.txt', path.join(src, 'Share', 'link.txt'));
    await fs.symlink('../secret.txt', path.join(src, 'Share', 'outside.txt'));
    await fs.symlink('sub', path.join(src, 'Share', 'dirlink'));
    const sender = await startSender([path.join(src, 'Share')]);
    const out = await makeTempDir('out');

    assertExit(await receiveAll(sender, out), 0);

    const real = await hashFile(path.join(src, 'Share', 'real.txt'));
    expect(await hashTree(out)).toEqual({
      Share: { kind: 'dir' },
      'Share/link.txt': real,
      'Share/real.txt': real,
      'Share/sub': { kind: 'dir' },
      'Share/sub/deep.txt': await hashFile(path.join(src, 'Share', 'sub', 'deep.txt')),
    });
    const skipped = sender.listening.skipped as { path: string }[];
    expect(skipped.map((s) => s.path).sort()).toEqual(['Share/dirlink', 'Share/outside.txt']);
  });

  it('stops after the first receiver with --once (exit 0, "stopped" last)', async () => {
    const src = await makeTempDir('src');
    await writeRandomFile(path.join(src, 'once.bin'), 4096);
    const sender = await startSender([path.join(src, 'once.bin')], ['--once']);
    const out = await makeTempDir('out');

    assertExit(await receiveAll(sender, out), 0);
    const exit = await sender.process.waitForExit(WAIT.reactMs);

    expect(exit, sender.process.log.report('unexpected exit')).toEqual({ code: 0, signal: null });
    expect(sender.events.at(-1)).toEqual({ event: 'stopped', reason: 'once' });
    expect(await hashTree(out)).toEqual(await hashTree(src));
  });
});

describe('a receiver saving into a folder that already has the name', () => {
  it('saves under "name (1).ext" and leaves the existing file untouched', async () => {
    const src = await makeTempDir('src');
    await writeRandomFile(path.join(src, 'report.pdf'), 50_000);
    const source = await hashFile(path.join(src, 'report.pdf'));
    const sender = await startSender([path.join(src, 'report.pdf')]);
    const out = await makeTempDir('out');
    // Another file of that name and size is there: asked about by its digest, it differs, so it
    // is not "already there", and the offered one gets a new name.
    const firstPath = path.join(out, 'report.pdf');
    await writeRandomFile(firstPath, 50_000);
    const existing = await hashFile(firstPath);
    const first = await fs.stat(firstPath);
    const second = await receiveAll(sender, out);
    assertExit(second, 0);

    expect(await hashTree(out)).toEqual({ 'report.pdf': existing, 'report (1).pdf': source });
    expect(second.events.filter((e) => e.event === 'file-present')).toEqual([]);
    const after = await fs.stat(firstPath);
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({
      ino: first.ino,
      mtimeMs: first.mtimeMs,
    });
    expect(second.last).toMatchObject({
      event: 'done',
      saved: [{ path: path.join(out, 'report (1).pdf'), offered: 'report.pdf' }],
    });
  });

  it('never replaces a different file or folder of the same name', async () => {
    const src = await makeTempDir('src');
    await writeRandomFile(path.join(src, 'notes.txt'), 3000);
    await writeFileAt(src, 'Album/a.jpg', randomBytes(2000));
    const out = await makeTempDir('out');
    await writeFileAt(out, 'notes.txt', 'mine, not the sender’s\n');
    await writeFileAt(out, 'Album/mine.jpg', 'my own picture\n');
    const before = await hashTree(out);
    const sender = await startSender([path.join(src, 'notes.txt'), path.join(src, 'Album')]);

    assertExit(await receiveAll(sender, out), 0);

    const received = await hashTree(out);
    const sent = await hashTree(src);
    expect(received).toEqual({
      ...before,
      'notes (1).txt': sent['notes.txt'],
      'Album (1)': { kind: 'dir' },
      'Album (1)/a.jpg': sent['Album/a.jpg'],
    });
  });

  it('saves a nested folder whole under "Name (1)" when its name is taken', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'Album/2024/summer/beach.jpg', randomBytes(3000));
    await writeFileAt(src, 'Album/cover.jpg', randomBytes(1000));
    const out = await makeTempDir('out');
    await fs.mkdir(path.join(out, 'Album'));
    const sender = await startSender([path.join(src, 'Album')]);

    assertExit(await receiveAll(sender, out), 0);

    const sent = await hashTree(src);
    const renamed = Object.fromEntries(
      Object.entries(sent).map(([p, e]) => [p.replace(/^Album/, 'Album (1)'), e]),
    );
    expect(await hashTree(out)).toEqual({ Album: { kind: 'dir' }, ...renamed });
  });

  it('never writes through an existing symlink that has the name of an offered folder', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'Album/a.jpg', randomBytes(2000));
    const out = await makeTempDir('out');
    const elsewhere = await makeTempDir('elsewhere');
    await fs.symlink(elsewhere, path.join(out, 'Album'));
    const sender = await startSender([path.join(src, 'Album')]);

    assertExit(await receiveAll(sender, out), 0);

    expect(await fs.readdir(elsewhere)).toEqual([]);
    const sent = await hashTree(src);
    expect(await hashTree(out)).toEqual({
      Album: { kind: 'other' },
      'Album (1)': { kind: 'dir' },
      'Album (1)/a.jpg': sent['Album/a.jpg'],
    });
  });
});
