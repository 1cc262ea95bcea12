import { describe, expect, inject, it } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  assertExit,
  finishReceiver,
  hashTree,
  listTree,
  makeTempDir,
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
  it('U5: confirms on a line of its own what it kept and that the partial file was removed', async () => {
    const big = inject('bigFile');
    const src = await makeTempDir('src');
    await fs.writeFile(path.join(src, 'a.txt'), 'first, small\n');
    await fs.link(big.path, path.join(src, 'big.bin'));
    const sender = await startSender([path.join(src, 'a.txt'), path.join(src, 'big.bin')]);
    const out = await makeTempDir('out');
    const receiver = await startReceiver(['--yes', '--out', out, sender.address], { code: sender });

    // a.txt is sent first; once it is acknowledged the big file is under way.
    await sender.process.waitForEvent('file-sent', WAIT.startMs);
    receiver.signal('SIGINT');
    const run = await finishReceiver(receiver, WAIT.reactMs);

    assertExit(run, 130);
    expect(run.stderr).toBe(
      `ferry-receive: interrupted: kept the 1 file already saved and verified in ${out}; any partly received file was removed\n`,
    );
    expect(await listTree(out)).toEqual(['a.txt']);
  });
});
