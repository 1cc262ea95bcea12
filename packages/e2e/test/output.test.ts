import { describe, expect, it } from 'vitest';
import path from 'node:path';
import {
  assertExit,
  finishReceiver,
  hashTree,
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
