import fs from 'node:fs/promises';
import path from 'node:path';
import { FrameType } from '@ferry/protocol';
import { describe, expect, inject, it } from 'vitest';
import { startFakeServer, startHostileSender, unusedPort } from '@ferry/testkit/fake-peers';
import {
  assertExit,
  finishReceiver,
  hashTree,
  type JsonEvent,
  listTree,
  makeTempDir,
  partialData,
  receiveAll,
  receiverMidTransfer,
  runReceiver,
  startSender,
  strayAfterCut,
  WAIT,
} from '@ferry/testkit/harness';

/** A source folder holding `Big/big.bin`, a hard link to the run's big file (no copy). */
async function bigFolder(): Promise<string> {
  const big = inject('bigFile');
  const src = await makeTempDir('src');
  await fs.mkdir(path.join(src, 'Big'));
  await fs.link(big.path, path.join(src, 'Big', 'big.bin'));
  return path.join(src, 'Big');
}

/** Events about `client` printed after `event`: a session that has ended must stay silent. */
function eventsAfter(events: readonly JsonEvent[], event: JsonEvent, client: number): JsonEvent[] {
  return events.slice(events.indexOf(event) + 1).filter((e) => e.client === client);
}

describe('ferry-receive given an address without a Ferry sender', () => {
  it('exits 1 saying the connection was refused when nothing listens', async () => {
    const port = await unusedPort();
    const out = await makeTempDir('out');

    const run = await receiveAll(`127.0.0.1:${port}`, out);

    assertExit(run, 1);
    expect(run.stderr).toMatch(
      new RegExp(`^ferry-receive: connection refused by 127\\.0\\.0\\.1:${port}`),
    );
    expect(run.last).toMatchObject({ event: 'error', code: 'ERR_CONNECTION_CLOSED' });
    expect(await listTree(out)).toEqual([]);
  });

  it('exits 1 saying it is not a Ferry sender when an HTTP server answers', async () => {
    const server = await startFakeServer((socket) => {
      socket.write('HTTP/1.1 400 Bad Request\r\n\r\n');
      socket.resume();
    });
    const out = await makeTempDir('out');

    const run = await receiveAll(server.address, out);

    assertExit(run, 1);
    expect(run.stderr).toMatch(/^ferry-receive: that address is not a Ferry sender/);
    expect(run.last).toMatchObject({ event: 'error', code: 'ERR_BAD_MAGIC' });
    expect(await listTree(out)).toEqual([]);
  });

  it('exits 1 saying it is not a Ferry sender when the server accepts and stays silent', async () => {
    // --timeout bounds the connection and then the greeting: 2 s here instead of 10.
    const server = await startFakeServer((socket) => socket.resume());
    const out = await makeTempDir('out');

    const run = await runReceiver(
      ['--yes', '--json', '--timeout', '2', '--out', out, server.address],
      { timeoutMs: 20_000 },
    );

    assertExit(run, 1);
    expect(run.stderr).toMatch(/^ferry-receive: that address is not a Ferry sender/);
    expect(run.last).toMatchObject({ event: 'error', code: 'ERR_TIMEOUT' });
    expect(server.sockets).toHaveLength(1);
    expect(await listTree(out)).toEqual([]);
  });
});

/**
 * A sender offering `inbox/`, `inbox/harmless.txt` and then `hostilePath` (`ABSOLUTE/...` means
 * an absolute path in a fresh folder) to a receiver with `--yes`: it must refuse the whole offer,
 * write nothing, and tell the sender why.
 */
async function refusesHostileOffer(hostilePath: string, encryption: boolean): Promise<void> {
  const parent = await makeTempDir('parent');
  const out = path.join(parent, 'out');
  await fs.mkdir(out);
  const offered = hostilePath.startsWith('ABSOLUTE/')
    ? path.join(parent, hostilePath.slice('ABSOLUTE/'.length))
    : hostilePath;
  // A harmless folder and file first: the offer must be refused as a whole, before any write.
  const sender = await startHostileSender(
    [
      { kind: 'dir', path: 'inbox' },
      { kind: 'file', path: 'inbox/harmless.txt', size: 5 },
      { kind: 'file', path: offered, size: 5 },
    ],
    { encryption },
  );

  const run = await receiveAll(sender.address, out, {
    ...(encryption ? { code: sender.code() } : { args: ['--no-encryption'] }),
  });
  await sender.closed;

  assertExit(run, 1);
  // Encrypted, the receiver paired with the code first: a sender it authenticated is still refused.
  expect(run.events.find((e) => e.event === 'secured')).toMatchObject(
    encryption ? { encrypted: true, method: 'code' } : { encrypted: false },
  );
  expect(run.last).toMatchObject({ event: 'error', code: 'ERR_UNSAFE_OFFER' });
  expect(run.events.some((e) => e.event === 'start')).toBe(false);
  expect(await listTree(parent)).toEqual(['out']);
  const types = sender.frames.map((frame) => frame.type);
  expect(types).toEqual([FrameType.HELLO, FrameType.ERROR]);
  expect(sender.frames[1]?.message).toMatchObject({ code: 'ERR_UNSAFE_OFFER' });
}

describe('a hostile sender', () => {
  it.each([['../escape'], ['inbox/../../escape'], ['ABSOLUTE/escape']])(
    'offering %s makes the receiver exit 1 having written nothing at all',
    (hostilePath) => refusesHostileOffer(hostilePath, true),
  );

  it('offering ../escape in clear (--no-encryption on both sides) makes the receiver exit 1 having written nothing at all', () =>
    refusesHostileOffer('../escape', false));
});

describe('a transfer that is cut off', () => {
  it("D9: with --retry 0, ends with the lost connection's error and keeps only its partial folder (state.json and .part files), nothing under a final name, when the sender is killed mid-transfer", async () => {
    const big = inject('bigFile');
    const sender = await startSender([big.path]);
    const out = await makeTempDir('out');
    // Without reconnecting: the failure itself is what is pinned here.
    const receiver = await receiverMidTransfer(sender, out, ['--retry', '0']);

    sender.process.signal('SIGKILL');
    const run = await finishReceiver(receiver, WAIT.reactMs);

    assertExit(run, 1);
    expect(run.last).toMatchObject({ event: 'error' });
    expect(['ERR_TRUNCATED', 'ERR_CONNECTION_CLOSED']).toContain(run.last?.code);
    expect(run.events.some((e) => e.event === 'file-saved')).toBe(false);
    expect(run.events.some((e) => e.event === 'reconnecting')).toBe(false);
    const kept = await partialData(out);
    expect(run.events.find((e) => e.event === 'partial-kept')).toMatchObject({
      dir: path.join(out, kept.dirs[0]!),
      files: 1,
      heldBytes: kept.bytes,
    });
    expect(await strayAfterCut(out)).toEqual([]);
    expect(kept.dirs).toHaveLength(1);
  });

  it('keeps only its partial folder and the folders it created, nothing under a final name, on Ctrl-C (SIGINT) mid-transfer, and exits 130', async () => {
    const folder = await bigFolder();
    const sender = await startSender([folder]);
    const out = await makeTempDir('out');
    const receiver = await receiverMidTransfer(sender, out);

    receiver.signal('SIGINT');
    const run = await finishReceiver(receiver, WAIT.reactMs);

    assertExit(run, 130);
    expect(run.last).toMatchObject({ event: 'error', code: 'ERR_CANCELLED' });
    expect(await strayAfterCut(out)).toEqual([]);
    expect((await partialData(out)).dirs).toHaveLength(1);
    const failed = await sender.waitForEvent('session-failed', (e) => e.client === 1, WAIT.reactMs);
    expect(sender.process.running).toBe(true);
    expect(eventsAfter(sender.events, failed, 1), JSON.stringify(sender.events)).toEqual([]);
  });

  it('reports a receiver killed mid-transfer and then serves the next receiver completely', async () => {
    const big = inject('bigFile');
    const sender = await startSender([big.path]);
    const [outA, outB] = [await makeTempDir('out-a'), await makeTempDir('out-b')];
    const doomed = await receiverMidTransfer(sender, outA);

    doomed.signal('SIGKILL');
    expect(await doomed.waitForExit(WAIT.reactMs)).toEqual({ code: null, signal: 'SIGKILL' });
    const failed = await sender.waitForEvent('session-failed', (e) => e.client === 1, WAIT.reactMs);
    const second = await receiveAll(sender, outB, { timeoutMs: WAIT.bigTransferMs });

    expect(failed).toMatchObject({ client: 1 });
    assertExit(second, 0);
    expect(await hashTree(outB)).toEqual({
      'big.bin': { kind: 'file', size: big.size, sha256: big.sha256 },
    });
    // A killed receiver cannot clean up; but nothing may sit under the final name.
    expect(await strayAfterCut(outA, { killed: true })).toEqual([]);
    await sender.waitForEvent('session-complete', (e) => e.client === 2, WAIT.reactMs);
    expect(eventsAfter(sender.events, failed, 1), JSON.stringify(sender.events)).toEqual([]);
    expect(sender.process.running).toBe(true);
    expect(await sender.stop()).toEqual({ code: 130, signal: null });
  });
});

describe('ferry-send interrupted with SIGINT', () => {
  it('exits 130 with "stopped" last when idle', async () => {
    const src = await makeTempDir('src');
    await fs.writeFile(path.join(src, 'x.txt'), 'x');
    const sender = await startSender([path.join(src, 'x.txt')]);

    const exit = await sender.stop();

    expect(exit, sender.process.log.report('unexpected exit')).toEqual({ code: 130, signal: null });
    expect(sender.events.at(-1)).toEqual({ event: 'stopped', reason: 'interrupted' });
  });

  it('exits 130 mid-transfer, and the receiver (--retry 0) exits 1 keeping only its partial data', async () => {
    const big = inject('bigFile');
    const sender = await startSender([big.path]);
    const out = await makeTempDir('out');
    // Without reconnecting: the receiver's failure is what is pinned here.
    const receiver = await receiverMidTransfer(sender, out, ['--retry', '0']);

    const exit = await sender.stop();
    const run = await finishReceiver(receiver, WAIT.reactMs);

    expect(exit, sender.process.log.report('unexpected exit')).toEqual({ code: 130, signal: null });
    expect(sender.events.at(-1), sender.process.log.report('"stopped" is not last')).toEqual({
      event: 'stopped',
      reason: 'interrupted',
    });
    assertExit(run, 1);
    expect(await strayAfterCut(out)).toEqual([]);
    expect((await partialData(out)).dirs).toHaveLength(1);
  });
});

describe('ferry-receive without --json', () => {
  it('prints one line "ferry-receive: <message>" to stderr on failure', async () => {
    const port = await unusedPort();
    const out = await makeTempDir('out');

    const run = await runReceiver(['--yes', '--out', out, `127.0.0.1:${port}`]);

    assertExit(run, 1);
    const [first] = run.stderr.split('\n');
    expect(first).toBe(
      `ferry-receive: connection refused by 127.0.0.1:${port}: no ferry-send is listening there`,
    );
    expect(run.stdout).toBe('');
  });
});
