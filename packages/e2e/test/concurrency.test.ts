import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import {
  assertExit,
  finishReceiver,
  hashTree,
  makeTempDir,
  partialData,
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

  it('J5: two receivers saving the same file into one folder at once both finish, under "name (1)" and "name (2)", nothing overwritten', async () => {
    const src = await makeTempDir('src');
    const file = path.join(src, 'clip.mp4');
    await writeRandomFile(file, 8 * MiB);
    await writeFileAt(src, 'notes/a.txt', 'alpha');
    const sender = await startSender([file, path.join(src, 'notes')]);
    const out = await makeTempDir('shared-out');
    // Files of the same names with other content are there already (one of the same size, so
    // it is asked about by its digest first): neither receiver finds its files already there,
    // and both race for the next free names.
    await writeRandomFile(path.join(out, 'clip.mp4'), 8 * MiB);
    await writeFileAt(out, 'notes/a.txt', 'older notes');
    const before = await hashTree(out);

    const first = await startReceiver(['--yes', '--json', '--out', out, sender.address], {
      code: sender,
    });
    const second = await startReceiver(
      ['--yes', '--json', '--code-stdin', '--out', out, sender.address],
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
    const sent = await hashTree(src);
    // Each name was claimed once: the loser of each race took the next free alternative. No
    // partial folder is left.
    expect(await hashTree(out)).toEqual({
      ...before,
      'clip (1).mp4': sent['clip.mp4'],
      'clip (2).mp4': sent['clip.mp4'],
      'notes (1)': { kind: 'dir' },
      'notes (1)/a.txt': sent['notes/a.txt'],
      'notes (2)': { kind: 'dir' },
      'notes (2)/a.txt': sent['notes/a.txt'],
    });
    for (const run of [runA, runB])
      expect(run.events.filter((e) => e.event === 'file-present')).toEqual([]);
  });

  it('J5: a receiver started into the folder of another one mid-transfer never takes its partial folder: each keeps its own', async () => {
    const big = inject('bigFile');
    const sender = await startSender([big.path]);
    const out = await makeTempDir('shared-out');
    const first = await receiverMidTransfer(sender, out);
    // Held mid-transfer: its partial folder, with its record and part, is in use.
    first.signal('SIGSTOP');
    let second: Awaited<ReturnType<typeof receiveAll>>;
    try {
      expect((await partialData(out)).dirs).toHaveLength(1);
      second = await receiveAll(sender, out, { timeoutMs: WAIT.bigTransferMs });
    } finally {
      first.signal('SIGCONT');
    }
    const runA = await finishReceiver(first, WAIT.bigTransferMs);

    assertExit(second, 0);
    assertExit(runA, 0);
    // The second found nothing to resume from: the same sender's record was the first's.
    expect(second.events.filter((e) => e.event === 'resume-found')).toEqual([]);
    expect(second.events.find((e) => e.event === 'start')).toMatchObject({ resumedBytes: 0 });
    const copy = { kind: 'file', size: big.size, sha256: big.sha256 };
    expect(await hashTree(out)).toEqual({ 'big.bin': copy, 'big (1).bin': copy });
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
