import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import {
  assertExit,
  finishReceiver,
  hashTree,
  makeTempDir,
  receiveAll,
  receiverMidTransfer,
  startReceiver,
  startSender,
  WAIT,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/harness';

const MiB = 1024 * 1024;

describe('one sender serving two receivers', () => {
  it('serves two receivers started at the same time, each a complete copy', async () => {
    const src = await makeTempDir('src');
    for (let i = 0; i < 3; i++)
      await writeRandomFile(path.join(src, 'Videos', `clip-${i}.mp4`), 16 * MiB + i);
    for (let i = 0; i < 200; i++)
      await writeFileAt(src, `Docs/${i % 10}/page-${i}.txt`, randomBytes(randomInt(0, 4097)));
    await fs.mkdir(path.join(src, 'Docs', 'empty'));
    const sender = await startSender([path.join(src, 'Videos'), path.join(src, 'Docs')]);
    const [outA, outB] = [await makeTempDir('out-a'), await makeTempDir('out-b')];

    // A pairing code pairs one receiver. Both start now: the first with the code, the second
    // waiting for a code on stdin, which it gets as soon as the sender shows the next one.
    const first = await startReceiver(['--yes', '--json', '--out', outA, sender.address], {
      code: sender,
    });
    const second = await startReceiver(
      ['--yes', '--json', '--code-stdin', '--out', outB, sender.address],
      { stdin: 'pipe' },
    );
    const next = await sender.waitForEvent('code', (e) => e.reason === 'used');
    second.child.stdin!.end(`${next.code}\n`);
    const [runA, runB] = await Promise.all([
      finishReceiver(first, WAIT.transferMs),
      finishReceiver(second, WAIT.transferMs),
    ]);

    assertExit(runA, 0);
    assertExit(runB, 0);
    const expected = await hashTree(src);
    expect(await hashTree(outA)).toEqual(expected);
    expect(await hashTree(outB)).toEqual(expected);
    await sender.waitForEvent('session-complete', (e) => e.client === 1);
    await sender.waitForEvent('session-complete', (e) => e.client === 2);
    expect(sender.events.filter((e) => e.event === 'session-failed')).toEqual([]);
  });

  it('J5: two receivers saving the same file into one folder at once both finish, one under "name (1)", neither overwritten', async () => {
    const src = await makeTempDir('src');
    const file = path.join(src, 'clip.mp4');
    await writeRandomFile(file, 8 * MiB);
    await writeFileAt(src, 'notes/a.txt', 'alpha');
    const sender = await startSender([file, path.join(src, 'notes')]);
    const out = await makeTempDir('shared-out');

    const first = await startReceiver(['--yes', '--json', '--out', out, sender.address], { code: sender });
    const second = await startReceiver(['--yes', '--json', '--code-stdin', '--out', out, sender.address], {
      stdin: 'pipe',
    });
    const next = await sender.waitForEvent('code', (e) => e.reason === 'used');
    second.child.stdin!.end(`${next.code}\n`);
    const [runA, runB] = await Promise.all([finishReceiver(first, WAIT.transferMs), finishReceiver(second, WAIT.transferMs)]);

    assertExit(runA, 0);
    assertExit(runB, 0);
    const copy = (await hashTree(src))['clip.mp4'];
    const note = (await hashTree(src))['notes/a.txt'];
    // Each name was claimed once: the loser of each race took the next free alternative.
    expect(await hashTree(out)).toEqual({
      'clip.mp4': copy,
      'clip (1).mp4': copy,
      notes: { kind: 'dir' },
      'notes/a.txt': note,
      'notes (1)': { kind: 'dir' },
      'notes (1)/a.txt': note,
    });
  });

  it('keeps serving a second receiver while the first is stalled mid-transfer', async () => {
    const big = inject('bigFile');
    const sender = await startSender([big.path]);
    const [outA, outB] = [await makeTempDir('out-a'), await makeTempDir('out-b')];
    const slow = await receiverMidTransfer(sender, outA);
    // A receiver that stops reading (SIGSTOP) while its session is open and its file half sent.
    slow.signal('SIGSTOP');
    try {
      // With the next code: the first receiver used up the one it paired with.
      const fast = await receiveAll(sender, outB, { timeoutMs: WAIT.bigTransferMs });
      assertExit(fast, 0);
      expect(slow.running).toBe(true);
      await sender.waitForEvent('session-complete', (e) => e.client === 2);
      expect(sender.events.some((e) => e.event === 'session-complete' && e.client === 1)).toBe(
        false,
      );
    } finally {
      slow.signal('SIGCONT');
    }
    assertExit(await finishReceiver(slow, WAIT.bigTransferMs), 0);

    const expected = { 'big.bin': { kind: 'file', size: big.size, sha256: big.sha256 } };
    expect(await hashTree(outA)).toEqual(expected);
    expect(await hashTree(outB)).toEqual(expected);
  });
});
