import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { encodePreamble, FrameType, PAIRING, PreambleFlag } from '@ferry/protocol';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFakeServer } from '@ferry/testkit/fake-peers';
import {
  clientHello,
  connectRawReceiver,
  frameBytes,
  memoryOf,
  type Phases,
  phasesOf,
  seededRandom,
  spawnWithMount,
  startFaultRelay,
  startFlood,
  startTricklingSender,
  trickle,
  waitForFile,
} from '@ferry/testkit/faults';
import {
  assertExit,
  cliEnv,
  finishReceiver,
  hashTree,
  type JsonEvent,
  listTree,
  makeTempDir,
  RECEIVE_BIN,
  type ReceiverRun,
  type RunningSender,
  receiveAll,
  runReceiver,
  startReceiver,
  strayAfterCut,
  startSender,
  WAIT,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/harness';

const MiB = 1024 * 1024;
/** Every wait that --timeout bounds is 2 s in these tests: a fault is noticed quickly. */
const TIMEOUT = ['--timeout', '2'];
/** Well under the 60 s default: a run that takes longer did not honour --timeout. */
const CUT_WITHIN_MS = 20_000;

/** A failed `--json` run: exit 1, one typed `error` event last, one line for people first. */
function expectCleanFailure(run: ReceiverRun, codes?: readonly string[]): string {
  assertExit(run, 1);
  const last = run.last;
  expect(last, run.report('the last event is not an error')).toMatchObject({ event: 'error' });
  const code = String(last?.code);
  expect(code).toMatch(/^ERR_[A-Z_]+$/);
  if (codes) expect(codes, run.report(`unexpected code ${code}`)).toContain(code);
  expect(run.stderr.split('\n')[0]).toMatch(/^ferry-receive: \S/);
  return code;
}

/** Waits for the sender to report `client`'s session as failed; returns its code. */
async function sessionFailure(sender: RunningSender, client: unknown): Promise<string> {
  const failed = await sender.waitForEvent('session-failed', (e) => e.client === client, CUT_WITHIN_MS);
  return String(failed.code);
}

/** Clients that connected after the first `since` events of the sender. */
function clientsSince(sender: RunningSender, since: number): unknown[] {
  return sender.events.slice(since).filter((e) => e.event === 'connected').map((e) => e.client);
}

/** An honest receiver, straight to the sender: it must get every file intact. */
async function expectStillServing(sender: RunningSender, source: string): Promise<void> {
  const out = await makeTempDir('honest');
  const run = await receiveAll(sender, out, { timeoutMs: WAIT.bigTransferMs });
  assertExit(run, 0);
  expect(await hashTree(out)).toEqual(await hashTree(path.dirname(source)).then((tree) => pick(tree, path.basename(source))));
  expect(sender.process.running).toBe(true);
}

/** The part of a tree under `top` (the top-level item), keyed as the receiver saves it. */
function pick<T>(tree: Record<string, T>, top: string): Record<string, T> {
  return Object.fromEntries(Object.entries(tree).filter(([key]) => key === top || key.startsWith(`${top}/`)));
}

/** A folder `top` holding a random file `data.bin` of `size` bytes; returns the folder. */
async function sourceFolder(top: string, size: number): Promise<string> {
  const root = await makeTempDir('src');
  await writeRandomFile(path.join(root, top, 'data.bin'), size);
  return path.join(root, top);
}

const PHASES = ['preamble', 'tls', 'auth', 'hello', 'offer', 'request', 'file'] as const;
const PHASE_NAMES: Record<(typeof PHASES)[number], string> = {
  preamble: 'the preamble',
  tls: 'the TLS handshake',
  auth: 'authentication (SPAKE2)',
  hello: 'HELLO',
  offer: 'the OFFER',
  request: 'the REQUEST',
  file: 'the file data',
};
/** Where in each phase the connection is reset: seeded, so every run cuts at the same place. */
const random = seededRandom(0xf1);
const FRACTIONS = Object.fromEntries(PHASES.map((phase) => [phase, random()])) as Record<(typeof PHASES)[number], number>;

describe('F1: resets at seeded byte offsets between a real ferry-send and ferry-receive', () => {
  let sender: RunningSender;
  let source: string;
  let phases: Phases;

  beforeAll(async () => {
    source = await sourceFolder('f1', 8 * MiB);
    sender = await startSender([source], TIMEOUT);
    // Calibration: an untouched session through the same relay shows where each phase lies.
    const relay = await startFaultRelay(sender.port, Number.POSITIVE_INFINITY, 'reset');
    const out = await makeTempDir('f1-calibration');
    const run = await receiveAll(relay.address, out, { code: sender, args: TIMEOUT });
    assertExit(run, 0);
    phases = phasesOf(relay.turns);
  });
  afterAll(() => sender?.stop());

  it.each(PHASES.map((phase) => [PHASE_NAMES[phase], Math.round(FRACTIONS[phase] * 100), phase] as const))(
    'F1: a reset during %s (%i%% in) fails both sides with a typed error and leaves nothing under a final name',
    async (_name, _percent, phase) => {
      const [start, end] = phases[phase];
      // Mid-file: away from the very first and last bytes, which other phases already cover.
      const margin = phase === 'file' ? 64 * 1024 : 0;
      const offset = start + margin + Math.floor(FRACTIONS[phase] * (end - start - 2 * margin));
      const since = sender.events.length;
      const relay = await startFaultRelay(sender.port, offset, 'reset');
      const out = await makeTempDir('f1-out');

      // --retry 0: a cut ends the transfer (reconnecting is tested in resume-reconnect).
      const run = await receiveAll(relay.address, out, {
        code: sender,
        args: [...TIMEOUT, '--retry', '0'],
      });
      await relay.reached;

      const code = expectCleanFailure(run);
      expect(relay.forwarded()).toBe(offset);
      if (phase === 'request' || phase === 'file') {
        // Cut after REQUEST: the partial folder stays to resume from; nothing under a final name.
        expect(await strayAfterCut(out)).toEqual([]);
      } else {
        // Nothing at all: no file, no temporary file, no folder it created.
        expect(await listTree(out)).toEqual([]);
      }
      const [client] = clientsSince(sender, since);
      const senderCode = await sessionFailure(sender, client);
      expect(senderCode).toMatch(/^ERR_[A-Z_]+$/);
      expect(sender.process.running).toBe(true);
      console.info(`F1 ${phase}: reset at byte ${offset} of [${start}, ${end}); receiver ${code}, sender ${senderCode}`);
    },
  );

  it('F1: after every reset the same ferry-send still serves an honest receiver byte-identical files', async () => {
    await expectStillServing(sender, source);
  });
});

describe('F2: a peer that stalls with the connection open', () => {
  let sender: RunningSender;
  let source: string;

  beforeAll(async () => {
    source = await sourceFolder('f2', 32 * MiB);
    sender = await startSender([source], TIMEOUT);
  });
  afterAll(() => sender?.stop());

  it.each([
    ['before authentication (inside the TLS handshake)', 40],
    ['after authentication (mid-file)', 8 * MiB],
  ])('F2: a link that goes silent %s ends both sides with ERR_TIMEOUT after --timeout', async (_when, at) => {
    const since = sender.events.length;
    const relay = await startFaultRelay(sender.port, at, 'hold');
    const out = await makeTempDir('f2-out');
    const started = performance.now();

    // --retry 0: a timeout mid-file ends the transfer (reconnecting is tested in resume-reconnect).
    const run = await receiveAll(relay.address, out, {
      code: sender,
      args: [...TIMEOUT, '--retry', '0'],
      timeoutMs: CUT_WITHIN_MS,
    });
    const [client] = clientsSince(sender, since);
    const senderCode = await sessionFailure(sender, client);

    expectCleanFailure(run, ['ERR_TIMEOUT']);
    expect(senderCode).toBe('ERR_TIMEOUT');
    // Mid-file, the partial folder stays to resume from; nothing is ever under a final name.
    if (at > 40) expect(await strayAfterCut(out)).toEqual([]);
    else expect(await listTree(out)).toEqual([]);
    console.info(`F2 at byte ${at}: both sides gave up after ${Math.round(performance.now() - started)} ms`);
  });

  it('F2: a transfer slower than --timeout that keeps making progress is cut by neither side', async () => {
    const since = sender.events.length;
    // 32 MiB at 6 MiB/s: several times --timeout, with the receiver silent until the file ends.
    const relay = await startFaultRelay(sender.port, Number.POSITIVE_INFINITY, 'hold', { senderBytesPerSecond: 6 * MiB });
    const out = await makeTempDir('f2-slow');
    const started = performance.now();

    const run = await receiveAll(relay.address, out, { code: sender, args: TIMEOUT });

    assertExit(run, 0);
    expect(await hashTree(out)).toEqual(pick(await hashTree(path.dirname(source)), 'f2'));
    const [client] = clientsSince(sender, since);
    await sender.waitForEvent('session-complete', (e) => e.client === client);
    console.info(`F2 slow transfer: ${Math.round(performance.now() - started)} ms with --timeout 2`);
  });

  it('F2: the same ferry-send still serves an honest receiver after both stalls', async () => {
    await expectStillServing(sender, source);
  });
});

describe('A12: slow-loris peers that trickle bytes', () => {
  it('A12: ferry-send cuts a stranger trickling its preamble and ClientHello at the handshake deadline, whatever it sends', async () => {
    const source = await sourceFolder('a12', 1024);
    const sender = await startSender([source], TIMEOUT);
    const bytes = Buffer.concat([encodePreamble(1, PreambleFlag.TLS), await clientHello()]);
    const socket = net.connect({ host: '127.0.0.1', port: sender.port });
    socket.on('error', () => {});
    socket.resume();
    const started = performance.now();

    // One byte every 150 ms: steady progress, but the whole greeting would take over 30 s.
    const sent = await trickle(socket, bytes, 150);
    const code = await sessionFailure(sender, 1);

    expect(code).toBe('ERR_TIMEOUT');
    expect(sent).toBeLessThan(bytes.byteLength);
    console.info(`A12 pre-auth: cut after ${sent} of ${bytes.byteLength} bytes, ${Math.round(performance.now() - started)} ms`);
    await expectStillServing(sender, source);
  });

  it('A12: ferry-receive cuts a server trickling the Ferry preamble at its greeting deadline', async () => {
    const preamble = encodePreamble(1, PreambleFlag.TLS);
    const server = await startFakeServer((socket) => {
      socket.resume();
      void trickle(socket, preamble, 300);
    });
    const out = await makeTempDir('a12-out');

    const run = await runReceiver(['--yes', '--json', ...TIMEOUT, '--out', out, server.address], { timeoutMs: CUT_WITHIN_MS });

    expectCleanFailure(run, ['ERR_TIMEOUT']);
    expect(await listTree(out)).toEqual([]);
  });

  it('A12: ferry-send cuts an authenticated receiver trickling its REQUEST at the frame deadline, and keeps serving', async () => {
    const source = await sourceFolder('a12', 1024);
    const sender = await startSender([source], TIMEOUT);
    const peer = await connectRawReceiver(sender.port, await sender.freshCode());
    peer.send(FrameType.HELLO, { software: 'loris/1', name: 'loris', features: [] });
    expect((await peer.next()).type).toBe(FrameType.OFFER);

    const request = frameBytes(FrameType.REQUEST, { files: [{ id: 1, offset: 0 }] });
    const sent = await trickle(peer.socket, request, 150);
    const code = await sessionFailure(sender, 1);

    expect(code).toBe('ERR_TIMEOUT');
    expect(sent).toBeLessThan(request.byteLength);
    await expectStillServing(sender, source);
  });

  it('A12: ferry-receive cuts an authenticated sender trickling a DATA frame (steady progress, never complete) at the frame deadline', async () => {
    const size = 64 * 1024;
    const hostile = await startTricklingSender(size, 50);
    const out = await makeTempDir('a12-out');
    const code = hostile.code();
    if (!code) throw new Error('the trickling sender shows no code');
    const started = performance.now();

    const run = await runReceiver(['--yes', '--json', ...TIMEOUT, '--out', out, hostile.address], {
      code,
      timeoutMs: CUT_WITHIN_MS,
    });
    const trickled = await hostile.closed;

    expectCleanFailure(run, ['ERR_TIMEOUT']);
    // Bytes kept arriving, so only an absolute deadline on the frame could end it.
    expect(run.events.filter((e) => e.event === 'progress').length).toBeGreaterThan(0);
    expect(trickled).toBeLessThan(size);
    expect(await listTree(out)).toEqual([]);
    console.info(`A12 post-auth DATA: cut after ${trickled} bytes, ${Math.round(performance.now() - started)} ms`);
  });
});

describe('E1: a flood of connections that never authenticate', () => {
  it('E1: 300+ unauthenticated connections from other addresses leave a running transfer intact, are refused at once beyond the cap, and keep memory bounded', async () => {
    const big = inject('bigFile');
    const sender = await startSender([big.path], TIMEOUT);
    const before = memoryOf(sender.process.pid);
    const out = await makeTempDir('e1-out');
    const transfer = await startReceiver(['--yes', '--json', ...TIMEOUT, '--out', out, sender.address], { code: sender });
    await transfer.waitForEvent('progress', WAIT.startMs);

    // Fewer addresses than pre-auth slots: the slots are shared fairly between addresses (E2),
    // so such a flood cannot keep a receiver at another address out.
    const sources = Array.from({ length: PAIRING.maxPending / 2 }, (_, i) => `127.0.0.${i + 2}`);
    const flood = startFlood(sender.port, 300, sources, 250);
    let peakKb = 0;
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, memoryOf(sender.process.pid).rssKb);
    }, 100);
    try {
      const run = await finishReceiver(transfer, WAIT.bigTransferMs);
      assertExit(run, 0);
      expect(await hashTree(out)).toEqual({ 'big.bin': { kind: 'file', size: big.size, sha256: big.sha256 } });

      // E2: a new receiver from 127.0.0.1 while the flood holds every pre-auth slot still gets in,
      // taking the place of a flooding connection.
      const during = await makeTempDir('e1-during');
      const latecomer = await receiveAll(sender, during, { args: TIMEOUT, timeoutMs: WAIT.bigTransferMs });
      assertExit(latecomer, 0);
      expect(await hashTree(during)).toEqual({ 'big.bin': { kind: 'file', size: big.size, sha256: big.sha256 } });
      expect(sender.events.some((e) => e.event === 'refused' && String(e.reason).startsWith('dropped to make room'))).toBe(true);
    } finally {
      clearInterval(sampler);
      await flood.stop();
    }
    const after = memoryOf(sender.process.pid);
    // The flood's connections, as the sender saw them: from any address but 127.0.0.1.
    const flooding = (e: JsonEvent) => !String(e.peer).startsWith('127.0.0.1:');
    const refused = sender.events.filter((e) => e.event === 'refused' && flooding(e)).length;
    const admitted = sender.events.filter((e) => e.event === 'connected' && flooding(e)).length;
    const lifetimes = [...flood.stats.lifetimes].sort((a, b) => a - b);
    const median = lifetimes[Math.floor(lifetimes.length / 2)] ?? 0;
    const longest = lifetimes.at(-1) ?? 0;
    console.info(
      `E1: ${flood.stats.opened} connections from ${sources.length} addresses: ${refused} refused at accept, ${admitted} admitted ` +
        `as pending and cut at the handshake deadline; ${flood.stats.answered} got the sender's preamble; lifetime median ` +
        `${Math.round(median)} ms, longest ${Math.round(longest)} ms. Sender RSS ${Math.round(before.rssKb / 1024)} MB ` +
        `(VmHWM ${Math.round(before.peakKb / 1024)} MB) before, sampled peak ${Math.round(peakKb / 1024)} MB, VmHWM ${Math.round(after.peakKb / 1024)} MB`,
    );
    expect(flood.stats.opened).toBeGreaterThanOrEqual(300);
    expect(refused).toBeGreaterThan(flood.stats.opened / 2);
    // A refused connection gets nothing at all; an admitted one only the sender's preamble.
    expect(flood.stats.answered).toBeLessThanOrEqual(admitted);
    // Most are refused at accept, at no cost: only a connection from an address holding fewer
    // than the busiest one is admitted, and a balanced flood gets nothing.
    expect(refused).toBeGreaterThan(admitted * 10);
    // Held connections end at the handshake deadline (2 s here), never much later.
    expect(longest).toBeLessThan(CUT_WITHIN_MS);
    expect(after.peakKb).toBeLessThan(300 * 1024);
    expect(sender.process.running).toBe(true);
    // With the flood gone, a receiver gets in again.
    const later = await makeTempDir('e1-later');
    const run = await receiveAll(sender, later, { timeoutMs: WAIT.bigTransferMs });
    assertExit(run, 0);
    expect(await hashTree(later)).toEqual({ 'big.bin': { kind: 'file', size: big.size, sha256: big.sha256 } });
  });
});

describe('E7: the receiving disk fails', () => {
  it('E7: a disk that fills mid-file gives ERR_NO_SPACE, deletes the temporary file, tells the sender, which keeps serving', async () => {
    const source = await sourceFolder('e7', 3 * MiB + 512 * 1024);
    const sender = await startSender([source], TIMEOUT);
    const relay = await startFaultRelay(sender.port, 1 * MiB, 'hold');
    const mountPoint = await makeTempDir('e7-tmpfs');
    const scratch = await makeTempDir('e7-scratch');
    const filled = path.join(scratch, 'filled');
    const listing = path.join(scratch, 'listing');
    const code = await sender.freshCode();
    const since = sender.events.length;

    const receiver = spawnWithMount(
      RECEIVE_BIN,
      ['--yes', '--json', ...TIMEOUT, '--out', mountPoint, relay.address],
      { dir: mountPoint, options: 'size=4m', fillThenTouch: filled, listing },
      cliEnv({ FERRY_CODE: code }),
    );
    // Hold the transfer after its first MiB until the disk is full, then let it go on.
    await relay.reached;
    await waitForFile(filled, CUT_WITHIN_MS);
    relay.release();
    const run = await finishReceiver(receiver, WAIT.transferMs);

    const failure = run.events.find((e) => e.event === 'error' || e.event === 'file-failed');
    expect(failure, run.report('no failure reported')).toMatchObject({ code: 'ERR_NO_SPACE' });
    expectCleanFailure(run, ['ERR_NO_SPACE']);
    // Inside the tmpfs at exit: only the filler; no temporary file, nothing under a final name.
    expect((await fs.readFile(listing, 'utf8')).split('\n').filter(Boolean)).toEqual(['./.filler']);
    const [client] = clientsSince(sender, since);
    expect(await sessionFailure(sender, client)).toBe('ERR_NO_SPACE');
    await expectStillServing(sender, source);
  });

  it('E7: a read-only destination folder is refused before connecting, with exit 2, and the sender is never contacted', async () => {
    const source = await sourceFolder('e7', 64 * 1024);
    const sender = await startSender([source], TIMEOUT);
    const mountPoint = await makeTempDir('e7-ro');
    const listing = path.join(await makeTempDir('e7-scratch'), 'listing');
    const since = sender.events.length;

    const receiver = spawnWithMount(
      RECEIVE_BIN,
      ['--yes', '--json', ...TIMEOUT, '--out', mountPoint, sender.address],
      { dir: mountPoint, options: 'ro,size=1m', listing },
      cliEnv({ FERRY_CODE: await sender.freshCode() }),
    );
    const run = await finishReceiver(receiver, WAIT.transferMs);

    // The folder is checked when it is named (U3): a bad --out is a usage error, found before a
    // pairing code is spent on a transfer that could not be saved.
    assertExit(run, 2);
    expect(run.events.map((e) => e.event)).toEqual(['error']);
    expect(run.last).toMatchObject({ event: 'error', code: 'ERR_USAGE' });
    expect(run.stderr.split('\n')[0]).toMatch(/^ferry-receive: --out: .* is not writable$/);
    expect(await fs.readFile(listing, 'utf8')).toBe('');
    await expectStillServing(sender, source);
    expect(sender.events.slice(since).filter((e) => e.event === 'connected')).toHaveLength(1);
  });
});

/** A folder `c7` with `a-changing.bin` (64 MiB, random) and `b-after.txt`. */
async function changingFolder(): Promise<{ folder: string; changing: string; after: string }> {
  const root = await makeTempDir('c7-src');
  const changing = path.join(root, 'c7', 'a-changing.bin');
  await writeRandomFile(changing, 64 * MiB);
  const after = await writeFileAt(root, 'c7/b-after.txt', 'the file after the one that changed\n');
  return { folder: path.join(root, 'c7'), changing, after };
}

const CHANGES: [string, (file: string) => Promise<void>][] = [
  ['shrinks (truncated to half)', (file) => fs.truncate(file, 32 * MiB)],
  ['grows (1 MiB appended)', (file) => fs.appendFile(file, Buffer.alloc(MiB, 1))],
  ['vanishes (unlinked)', (file) => fs.unlink(file)],
  [
    'is rewritten in place at the same size',
    async (file) => {
      const handle = await fs.open(file, 'r+');
      try {
        await handle.write(Buffer.alloc(8 * MiB, 0x5a), 0, 8 * MiB, 56 * MiB);
      } finally {
        await handle.close();
      }
    },
  ],
];

describe('C7: a source file that changes while it is sent', () => {
  it.each(CHANGES)(
    'C7: a file that %s mid-send is aborted with ERR_SOURCE_CHANGED, nothing of it is kept, and the next file arrives',
    async (_change, change) => {
      const { folder, changing, after } = await changingFolder();
      const sender = await startSender([folder], TIMEOUT);
      const relay = await startFaultRelay(sender.port, 8 * MiB, 'hold');
      const out = await makeTempDir('c7-out');

      const receiver = await startReceiver(['--yes', '--json', ...TIMEOUT, '--out', out, relay.address], { code: sender });
      await relay.reached;
      await change(changing);
      relay.release();
      const run = await finishReceiver(receiver, WAIT.bigTransferMs);

      assertExit(run, 1);
      expect(run.events.find((e) => e.event === 'file-failed')).toMatchObject({ offered: 'c7/a-changing.bin', code: 'ERR_SOURCE_CHANGED' });
      expect(run.last).toMatchObject({ event: 'done', failures: [expect.objectContaining({ code: 'ERR_SOURCE_CHANGED' })] });
      expect(await hashTree(out)).toEqual({
        c7: { kind: 'dir' },
        'c7/b-after.txt': await hashTreeEntry(after),
      });
      await sender.waitForEvent('file-failed', (e) => e.path === 'c7/a-changing.bin' && e.code === 'ERR_SOURCE_CHANGED');
      await sender.waitForEvent('session-complete', (e) => e.failed === 1);
      expect(sender.process.running).toBe(true);
    },
  );
});

async function hashTreeEntry(file: string): Promise<unknown> {
  const tree = await hashTree(path.dirname(file));
  return tree[path.basename(file)];
}

describe('I4: offered files deleted or replaced before they are requested', () => {
  it('I4: each such file fails with its own code and the others arrive intact', async () => {
    const root = await makeTempDir('i4-src');
    const gone = await writeFileAt(root, 'i4/a-gone.txt', 'deleted after the offer\n');
    const linked = await writeFileAt(root, 'i4/b-linked.txt', 'replaced by a symlink after the offer\n');
    const kept = await writeFileAt(root, 'i4/c-kept.txt', 'still here\n');
    const sender = await startSender([path.join(root, 'i4')], TIMEOUT);
    await fs.unlink(gone);
    await fs.unlink(linked);
    await fs.symlink(kept, linked);
    const out = await makeTempDir('i4-out');

    const run = await receiveAll(sender, out, { args: TIMEOUT });

    assertExit(run, 1);
    const failed = run.events.filter((e): e is JsonEvent => e.event === 'file-failed');
    expect(failed.map((e) => [e.offered, e.code])).toEqual([
      ['i4/a-gone.txt', 'ERR_SOURCE_UNREADABLE'],
      ['i4/b-linked.txt', 'ERR_SOURCE_UNREADABLE'],
    ]);
    expect(await hashTree(out)).toEqual({ i4: { kind: 'dir' }, 'i4/c-kept.txt': await hashTreeEntry(kept) });
    await sender.waitForEvent('session-complete', (e) => e.failed === 2 && e.files === 1);
  });
});

describe('I5/E6: a receiver that never reads', () => {
  it('I5: ferry-send keeps its memory bounded against a zero window and gives up at --timeout', async () => {
    const big = inject('bigFile');
    const sender = await startSender([big.path], TIMEOUT);
    const before = memoryOf(sender.process.pid);
    const peer = await connectRawReceiver(sender.port, await sender.freshCode());
    peer.send(FrameType.HELLO, { software: 'stone/1', name: 'stone', features: [] });
    expect((await peer.next()).type).toBe(FrameType.OFFER);
    const started = performance.now();

    // Ask for the whole file, then never read again: the TCP window closes.
    peer.socket.pause();
    peer.tcp.pause();
    peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    let peakKb = 0;
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, memoryOf(sender.process.pid).rssKb);
    }, 50);
    const code = await sessionFailure(sender, 1).finally(() => clearInterval(sampler));

    const after = memoryOf(sender.process.pid);
    console.info(
      `I5: sender gave up (${code}) after ${Math.round(performance.now() - started)} ms; RSS ${Math.round(before.rssKb / 1024)} MB ` +
        `(VmHWM ${Math.round(before.peakKb / 1024)} MB) before, sampled peak ${Math.round(peakKb / 1024)} MB, VmHWM ${Math.round(after.peakKb / 1024)} MB after; ` +
        `${(peer.tcp.bytesRead / MiB).toFixed(1)} MiB reached the receiver's socket`,
    );
    expect(code).toBe('ERR_TIMEOUT');
    expect(after.peakKb).toBeLessThan(300 * 1024);
    expect(sender.process.running).toBe(true);
  });
});
