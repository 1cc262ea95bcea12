import { describe, expect, inject, it } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  assertExit,
  finishReceiver,
  hashTree,
  listTree,
  makeTempDir,
  partialData,
  startReceiver,
  startSender,
  WAIT,
  writeRandomFile,
} from '@ferry/testkit/harness';

describe('ferry-receive when nobody reads its output', () => {
  it('U2: a closed stdout (ferry-receive ... | head -1) stops the output, and the transfer completes and is saved', async () => {
    const src = await makeTempDir('src');
    await writeRandomFile(path.join(src, 'data.bin'), 3 * 1024 * 1024);
    const sender = await startSender([path.join(src, 'data.bin')]);
    const out = await makeTempDir('out');

    const receiver = await startReceiver(['--yes', '--out', out, sender.address], { code: sender });
    // The reading end goes away before the receiver has written anything, so every line it
    // writes meets a closed pipe, as after `head -1` has read its line.
    receiver.child.stdout!.destroy();
    const run = await finishReceiver(receiver, WAIT.transferMs);

    assertExit(run, 0);
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(await hashTree(out)).toEqual(await hashTree(src));
  });
});

describe('ferry-receive interrupted with Ctrl-C (SIGINT)', () => {
  it('U5: confirms on a line of its own what it kept, saved files and the partly received one to resume from', async () => {
    const big = inject('bigFile');
    const src = await makeTempDir('src');
    await fs.writeFile(path.join(src, 'a.txt'), 'first, small\n');
    await fs.link(big.path, path.join(src, 'big.bin'));
    const sender = await startSender([path.join(src, 'a.txt'), path.join(src, 'big.bin')]);
    const out = await makeTempDir('out');
    const receiver = await startReceiver(['--yes', '--out', out, sender.address], { code: sender });

    // a.txt is sent first; once a quarter of the big file went out, the receiver has taken (and
    // written) much more than its socket buffers hold: part of big.bin is on disk.
    await sender.process.waitForEvent('file-sent', WAIT.startMs);
    await sender.waitForEvent('progress', (e) => Number(e.bytes) >= big.size / 4);
    receiver.signal('SIGINT');
    const run = await finishReceiver(receiver, WAIT.reactMs);

    assertExit(run, 130);
    expect(run.stderr).toBe(
      `ferry-receive: interrupted: kept the 1 file already saved and verified in ${out}; the files partly received are kept: run the same command again to resume\n`,
    );
    const kept = await partialData(out);
    expect(kept).toMatchObject({ dirs: [expect.any(String)], files: 1 });
    expect(kept.bytes).toBeGreaterThan(0);
    expect(run.stdout).toContain(
      `1 file partly received is kept in ${path.join(out, kept.dirs[0]!)}: run the same command again to resume, or ferry-receive --clean ${out} to remove it.`,
    );
    // Nothing else: a.txt saved, and the partial folder holding only its record and part.
    const dir = kept.dirs[0]!;
    expect(await listTree(out)).toEqual([
      dir,
      expect.stringMatching(new RegExp(`^${dir}/[0-9a-f]{32}\\.part$`)),
      `${dir}/state.json`,
      'a.txt',
    ]);
  });
});
