/**
 * A conversation that heals and resumes (PROTOCOL.md §13.11), with real processes scripted
 * through `--json`: a relay between listener and joiner resets the connection mid-transfer and
 * the joiner reconnects by itself; a joiner killed mid-receive and run again resumes from its
 * partial folder when it accepts the same files into the same folder; a changed source starts
 * over; a file already there is reported and not written again.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  joinJson,
  type JsonChatter,
  type JsonListener,
  startJsonListener,
} from '@ferry/testkit/chat';
import { killAt, startCutRelay } from '@ferry/testkit/cut-relay';
import {
  hashTree,
  type JsonEvent,
  makeTempDir,
  WAIT,
  writeRandomFile,
} from '@ferry/testkit/harness';
import { describe, expect, it } from 'vitest';

const MiB = 1024 * 1024;
/** Each way at once: big enough that a cut lands well inside both files. */
const FILE_BYTES = 64 * MiB;
/** What one cut may cost at most per file: bytes in flight and not yet on disk, sent again. */
const PER_FILE_BYTES = 8 * MiB;

/** One random file of `bytes` in a folder of its own. */
async function randomFile(label: string, bytes: number) {
  const dir = await makeTempDir(`${label}-src`);
  const file = path.join(dir, `${label}.bin`);
  await writeRandomFile(file, bytes);
  return { dir, file };
}

/** The first `transfer-done` of `direction` that is not a pause, after `after` events. */
function finished(side: JsonChatter, direction: 'in' | 'out', after = 0): Promise<JsonEvent> {
  return side.waitForEvent(
    'transfer-done',
    (e) => e.direction === direction && e.suspended === undefined,
    { after, timeoutMs: WAIT.bigTransferMs },
  );
}

/**
 * Joins `alice` as bob through a relay, has alice send `file` to bob, and kills bob (SIGKILL)
 * once a third of it has gone through the relay, as a crash would.
 */
async function killedMidReceive(alice: JsonListener, bobIn: string, file: string) {
  const relay = await startCutRelay(alice.sender.port);
  const first = await joinJson({ ...alice.sender, address: relay.address }, 'bob', {
    args: ['--out', bobIn, '--yes'],
  });
  await alice.waitForEvent('joined', (e) => e.name === 'bob');
  alice.command({ cmd: 'send', paths: [file], to: 'bob' });
  await killAt(first.process, relay.passed(FILE_BYTES / 3, WAIT.bigTransferMs));
  return first;
}

describe('a conversation that heals and resumes', () => {
  it('D9: a cut while both send at once: the joiner reconnects by itself and both files arrive whole', async () => {
    const aliceIn = await makeTempDir('alice-in');
    const bobIn = await makeTempDir('bob-in');
    const down = await randomFile('down', FILE_BYTES);
    const up = await randomFile('up', FILE_BYTES);
    const alice = await startJsonListener({ args: ['--out', aliceIn, '--yes'] });
    // The relay resets the connection once a third of alice's file has gone through it.
    const relay = await startCutRelay(alice.sender.port, [FILE_BYTES / 3]);
    const bob = await joinJson({ ...alice.sender, address: relay.address }, 'bob', {
      args: ['--out', bobIn, '--yes', '--retry', '30'],
    });
    await alice.waitForEvent('joined', (e) => e.name === 'bob');
    alice.command({ cmd: 'send', paths: [down.file] });
    bob.command({ cmd: 'send', paths: [up.file] });
    await relay.cutFired(0);

    // Bob says what happened, reconnects without a code, and both transfers go on.
    expect(await bob.waitForEvent('reconnecting')).toMatchObject({ by: 'alice', seconds: 30 });
    expect(
      await bob.waitForEvent('reconnected', undefined, { timeoutMs: WAIT.reactMs }),
    ).toMatchObject({
      by: 'alice',
      self: { name: 'bob' },
    });
    const paused = (side: JsonChatter) => side.all('transfer-done').filter((e) => e.suspended);
    for (const side of [alice, bob]) {
      const resumed = [
        await side.waitForEvent('transfer-resumed', (e) => e.direction === 'in'),
        await side.waitForEvent('transfer-resumed', (e) => e.direction === 'out'),
      ];
      for (const event of resumed) {
        const before = paused(side).find((e) => e.offer === event.previous);
        expect(before, JSON.stringify(side.events)).toMatchObject({ direction: event.direction });
        expect(event.files).toBe(1);
      }
      // The receiving side held the bytes that reached its disk before the cut.
      const incoming = resumed[0]!;
      expect(Number(incoming.heldBytes)).toBeGreaterThan(0);
      expect(Number(incoming.bytes)).toBeLessThan(FILE_BYTES);
    }
    for (const side of [alice, bob]) {
      expect(await finished(side, 'in')).toMatchObject({ files: 1, failed: 0 });
      expect(await finished(side, 'out')).toMatchObject({ files: 1, failed: 0 });
    }
    expect(await hashTree(bobIn)).toEqual(await hashTree(down.dir));
    expect(await hashTree(aliceIn)).toEqual(await hashTree(up.dir));
    // One connection cut, one more made; no more than 8 MiB of each file went twice.
    expect(relay.connections.length).toBe(2);
    expect(relay.fromSender()).toBeLessThan(FILE_BYTES + PER_FILE_BYTES);
    expect(relay.fromReceiver()).toBeLessThan(FILE_BYTES + PER_FILE_BYTES);
    // No pairing code was used for the reconnection.
    expect(bob.all('code-needed')).toEqual([]);
    bob.say('after the heal');
    expect(await alice.waitForMessage('after the heal')).toMatchObject({ from: 'bob' });
    alice.say('welcome back');
    expect(await bob.waitForMessage('welcome back')).toMatchObject({ from: 'alice' });
    expect((await bob.quit()).code).toBe(0);
    expect((await alice.quit()).code).toBe(0);
  });

  it('D2: a joiner killed mid-receive and run again resumes into the same folder; then it is already there', async () => {
    const bobIn = await makeTempDir('bob-in');
    const down = await randomFile('down', FILE_BYTES);
    const alice = await startJsonListener();
    await killedMidReceive(alice, bobIn, down.file);
    await alice.waitForEvent('left', (e) => e.name === 'bob' && e.reason === 'lost');

    // Run again (a new pairing): the same file, accepted into the same folder, resumes.
    const again = await joinJson(alice, 'bob', { args: ['--out', bobIn, '--yes'] });
    let after = alice.events.length;
    alice.command({ cmd: 'send', paths: [down.file], to: 'bob' });
    const start = await again.waitForEvent('transfer-start', (e) => e.direction === 'in');
    expect(Number(start.bytes)).toBeGreaterThan(0);
    expect(Number(start.bytes)).toBeLessThan(FILE_BYTES);
    // The user is told what resumes: what was held is not sent again.
    expect(Number(start.bytes) + Number(start.heldBytes)).toBe(FILE_BYTES);
    const sent = await alice.waitForEvent('transfer-start', (e) => e.direction === 'out', {
      after,
    });
    expect(Number(sent.bytes)).toBeLessThan(FILE_BYTES);
    expect(await finished(again, 'in')).toMatchObject({ files: 1, failed: 0 });
    expect(await hashTree(bobIn)).toEqual(await hashTree(down.dir));

    // Sent once more: already there, reported, and nothing written.
    const saved = path.join(bobIn, 'down.bin');
    const before = await fs.stat(saved);
    const ready = again.events.length;
    after = alice.events.length;
    alice.command({ cmd: 'send', paths: [down.file], to: 'bob' });
    const present = await again.waitForEvent('file-saved', undefined, { after: ready });
    expect(present).toMatchObject({ offered: 'down.bin', path: saved, present: true });
    expect(await finished(again, 'in', ready)).toMatchObject({ files: 1, failed: 0 });
    const now = await fs.stat(saved);
    expect([now.ino, now.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(await hashTree(bobIn)).toEqual(await hashTree(down.dir));
    expect(
      (await alice.waitForEvent('transfer-start', (e) => e.direction === 'out', { after })).bytes,
    ).toBe(0);
    expect((await again.quit()).code).toBe(0);
    expect((await alice.quit()).code).toBe(0);
  });

  it('D4: a source changed between the runs starts over and arrives as the new content', async () => {
    const bobIn = await makeTempDir('bob-in');
    const down = await randomFile('down', FILE_BYTES);
    const alice = await startJsonListener();
    await killedMidReceive(alice, bobIn, down.file);
    await alice.waitForEvent('left', (e) => e.name === 'bob' && e.reason === 'lost');
    // The same name and size, other bytes.
    await fs.rm(down.file);
    await writeRandomFile(down.file, FILE_BYTES);

    const again = await joinJson(alice, 'bob', { args: ['--out', bobIn, '--yes'] });
    const after = alice.events.length;
    alice.command({ cmd: 'send', paths: [down.file], to: 'bob' });
    const restarted = await again.waitForEvent('file-restarted');
    expect(restarted).toMatchObject({ direction: 'in', offered: 'down.bin' });
    expect(await alice.waitForEvent('file-restarted', undefined, { after })).toMatchObject({
      direction: 'out',
      offered: 'down.bin',
    });
    expect(await finished(again, 'in')).toMatchObject({ files: 1, failed: 0 });
    expect(await hashTree(bobIn)).toEqual(await hashTree(down.dir));
    expect((await again.quit()).code).toBe(0);
    expect((await alice.quit()).code).toBe(0);
  });
});
