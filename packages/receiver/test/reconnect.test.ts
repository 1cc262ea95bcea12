/**
 * The receiver's reconnect loop (PROTOCOL.md §13) against a scripted sender in clear: the link
 * cut mid-file heals by itself and the result is byte-identical; a sender that no longer knows
 * the transfer, an offer that changed, the window of --retry running out and Ctrl-C during the
 * backoff each stop it with a clear error.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AuthError,
  ConnectionClosedError,
  Emitter,
  ErrorCode,
  FerryError,
  FrameType,
  type MessageOf,
  PeerError,
  ProtocolError,
  normalizeCode,
  type OfferEntry,
} from '@ferry/protocol';
import { type Connection, loadOrCreateIdentity } from '@ferry/protocol/node';
import { startCutRelay } from '@ferry/testkit/cut-relay';
import { ResumeStoppedError } from '../src/errors.ts';
import { isConnectionLoss, type Round, transferWithReconnect } from '../src/reconnect.ts';
import { createReceiver } from '../src/receiver.ts';
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision, ReceiverEvents, ReceiverOptions } from '../src/receiver.ts';
import {
  clearReceiver,
  EventLog,
  type FakePeer,
  listTree,
  silentLogger,
  runCleanup,
  sha256,
  startFakeSender,
  tempDir,
  within,
  startEncryptedSender,
} from './helpers.ts';

afterEach(runCleanup);

const MiB = 1024 * 1024;
const SESSION = randomBytes(16).toString('hex');
const SENDER = { name: 'scripted', host: 'box' };
/** Fast backoff: the loop's timing is the same, only shorter. */
const BACKOFF = { firstMs: 20, maxMs: 80 };
const EVENTS = [
  'partial-kept',
  'connection-lost',
  'reconnecting',
  'resumed',
  'file-saved',
  'file-failed',
  'start',
] as const;

const first = Buffer.from('the first file, whole before the cut\n');
const second = randomBytes(300_000);
const ENTRIES: OfferEntry[] = [
  { path: 'a.txt', kind: 'file', size: first.byteLength },
  { path: 'b.bin', kind: 'file', size: second.byteLength },
];
const CONTENT = [first, second];

/** Waits for HELLO (which must ask for resume) and sends the OFFER with a ticket (empty in clear). */
async function offer(peer: FakePeer, entries = ENTRIES, session = SESSION): Promise<void> {
  const hello = await peer.expect(FrameType.HELLO);
  expect(hello.features).toContain('resume');
  peer.send(FrameType.OFFER, { session, sender: SENDER, entries, resume: { ticket: '' } });
}

/**
 * Serves one REQUEST as a sender honouring §13: a prefix item that matches is continued from its
 * offset, anything else is sent whole from byte 0. Returns the request and the DONE.
 */
async function serve(peer: FakePeer) {
  const request = await peer.expect(FrameType.REQUEST);
  for (const item of request.files) {
    const content = CONTENT[item.id]!;
    const matches = 'prefix' in item && item.prefix === sha256(content.subarray(0, item.offset));
    const from = matches ? item.offset : 0;
    peer.send(FrameType.FILE_START, { id: item.id, offset: from, size: content.byteLength });
    if (from < content.byteLength) peer.data(content.subarray(from));
    peer.send(FrameType.FILE_END, { id: item.id, sha256: sha256(content) });
    await peer.expect(FrameType.FILE_ACK);
  }
  peer.send(FrameType.END, {});
  return { request, done: await peer.expect(FrameType.DONE) };
}

/** The first connection: a.txt whole and acknowledged, then half of b.bin, then the link is cut. */
async function cutInSecondFile(peer: FakePeer): Promise<void> {
  await offer(peer);
  const request = await peer.expect(FrameType.REQUEST);
  expect(request.files).toEqual([
    { id: 0, offset: 0 },
    { id: 1, offset: 0 },
  ]);
  peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: first.byteLength });
  peer.data(first);
  peer.send(FrameType.FILE_END, { id: 0, sha256: sha256(first) });
  expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 0, ok: true });
  peer.send(FrameType.FILE_START, { id: 1, offset: 0, size: second.byteLength });
  peer.data(second.subarray(0, 150_000));
  peer.socket.destroy();
}

async function receiver(
  port: number,
  out: string,
  options: { retryMs?: number; signal?: AbortSignal } = {},
) {
  const decide = async (): Promise<Decision> => ({ items: [0, 1], outDir: out });
  const r = clearReceiver(port, {
    decide,
    backoff: BACKOFF,
    retryMs: options.retryMs ?? 5_000,
    signal: options.signal,
  });
  const log = new EventLog<ReceiverEvents>(r, [...EVENTS]);
  return { receiver: r, log };
}

describe('the receiver reconnects after losing the sender mid-transfer (§13)', () => {
  it('F1: the link cut mid-file reconnects by itself, requests only the unfinished file, and saves it byte-identical', async () => {
    let resumedRequest: MessageOf<typeof FrameType.REQUEST> | undefined;
    let done: MessageOf<typeof FrameType.DONE> | undefined;
    const sender = await startFakeSender(cutInSecondFile, [
      async (peer) => {
        await offer(peer);
        ({ request: resumedRequest, done } = await serve(peer));
      },
    ]);
    const out = await tempDir();
    const { receiver: r, log } = await receiver(sender.port, out);
    const result = await within(r.run(), 'the transfer to complete after a reconnect');
    await sender.done();
    // Only the file not concluded before the cut is asked for again.
    expect(resumedRequest?.files.map((item) => item.id)).toEqual([1]);
    // ...from what reached the disk before the cut, proven by its prefix (D9).
    const item = resumedRequest!.files[0]!;
    expect(item.offset).toBeGreaterThan(0);
    expect(item.offset).toBeLessThanOrEqual(150_000);
    expect('prefix' in item && item.prefix).toBe(sha256(second.subarray(0, item.offset)));
    expect(result.saved.map((file) => file.offered).sort()).toEqual(['a.txt', 'b.bin']);
    expect(result.failed).toEqual([]);
    expect(sha256(await readFile(path.join(out, 'a.txt')))).toBe(sha256(first));
    expect(sha256(await readFile(path.join(out, 'b.bin')))).toBe(sha256(second));
    // No temp file or second copy is left behind.
    expect((await listTree(out)).filter((name) => !name.startsWith('.ferry-partial-'))).toEqual([
      'a.txt',
      'b.bin',
    ]);
    const lost = log.all('connection-lost')[0];
    expect(lost).toMatchObject({ retryMs: 5_000 });
    expect([ErrorCode.TRUNCATED, ErrorCode.CONNECTION_CLOSED]).toContain(lost?.code);
    expect(log.all('resumed')).toEqual([{ files: 1, heldBytes: item.offset }]);
    // DONE counts the files of its own session, which the sender checks against its FILE_ACKs.
    expect(done).toEqual({ saved: 1, failed: 0 });
    // a.txt was concluded before the cut: reported once, never received twice.
    expect(log.all('file-saved').length).toBe(2);
  });

  it('F5: a sender that is not reachable for a while is retried with a growing delay until it answers', async () => {
    // The second and third connections are refused by closing them before any greeting.
    const sender = await startFakeSender(cutInSecondFile, [
      async (peer) => void peer.socket.destroy(),
      async (peer) => void peer.socket.destroy(),
      async (peer) => {
        await offer(peer);
        await serve(peer);
      },
    ]);
    const out = await tempDir();
    const { receiver: r, log } = await receiver(sender.port, out);
    const result = await within(r.run(), 'the transfer to complete after three attempts');
    await sender.done();
    expect(result.saved.length).toBe(2);
    expect(sha256(await readFile(path.join(out, 'b.bin')))).toBe(sha256(second));
    const delays = log.all('reconnecting');
    expect(delays).toEqual([
      { attempt: 1, delayMs: 20 },
      { attempt: 2, delayMs: 40 },
      { attempt: 3, delayMs: 80 },
    ]);
  });

  it('F5: a sender restarted meanwhile (another session) is not resumed into: the transfer stops', async () => {
    const sender = await startFakeSender(cutInSecondFile, [
      async (peer) => {
        await offer(peer, ENTRIES, randomBytes(16).toString('hex'));
        await peer.closed;
      },
    ]);
    const out = await tempDir();
    const { receiver: r, log } = await receiver(sender.port, out);
    const error = await within(
      r.run().then(
        () => undefined,
        (thrown: unknown) => thrown,
      ),
      'the receiver to stop',
    );
    expect((error as Error).message).toBe("the sender's offer changed; run ferry-receive again");
    expect(log.all('resumed').length > 0).toBe(false);
    // a.txt, saved before the cut, stays saved.
    expect(sha256(await readFile(path.join(out, 'a.txt')))).toBe(sha256(first));
  });

  it('F5: an offer whose entries changed on reconnect stops the transfer; nothing more is requested', async () => {
    const changed: OfferEntry[] = [
      ENTRIES[0]!,
      { path: 'b.bin', kind: 'file', size: second.byteLength + 1 },
    ];
    let requested = false;
    const sender = await startFakeSender(cutInSecondFile, [
      async (peer) => {
        await offer(peer, changed);
        const frame = await peer.next();
        requested = frame?.type === FrameType.REQUEST;
      },
    ]);
    const out = await tempDir();
    const { receiver: r } = await receiver(sender.port, out);
    const error = await within(
      r.run().then(
        () => undefined,
        (thrown: unknown) => thrown,
      ),
      'the receiver to stop',
    );
    expect((error as Error).message).toBe("the sender's offer changed; run ferry-receive again");
    await sender.done();
    expect(requested).toBe(false);
  });

  it('F5: when the sender does not come back within --retry, the transfer stops and says how to resume', async () => {
    // Every later connection is closed at once: the window (300 ms) runs out.
    const refuse = async (peer: FakePeer) => void peer.socket.destroy();
    const sender = await startFakeSender(
      cutInSecondFile,
      Array.from({ length: 50 }, () => refuse),
    );
    const out = await tempDir();
    const { receiver: r, log } = await receiver(sender.port, out, { retryMs: 300 });
    const error = await within(
      r.run().then(
        () => undefined,
        (thrown: unknown) => thrown,
      ),
      'the receiver to give up',
    );
    expect((error as Error).message).toMatch(
      /^could not reconnect to the sender within 0\.3 s \(.+\); run the same command again to resume$/,
    );
    expect((error as { code?: string }).code).toBe(ErrorCode.CONNECTION_CLOSED);
    // The waits never go past the window.
    const waits = log.all('reconnecting').map((event) => event.delayMs);
    expect(waits.length).toBeGreaterThan(1);
    expect(waits.reduce((sum, wait) => sum + wait, 0)).toBeLessThanOrEqual(300);
    // What arrived of b.bin is kept to resume from, in the transfer's partial folder.
    const [kept] = log.all('partial-kept');
    expect(kept).toEqual({
      dir: expect.stringContaining('.ferry-partial-'),
      files: 1,
      heldBytes: expect.any(Number),
    });
    expect(kept!.heldBytes).toBeGreaterThan(0);
    expect((await listTree(out)).some((name) => name.startsWith(path.basename(kept!.dir)))).toBe(
      true,
    );
    expect(sha256(await readFile(path.join(out, 'a.txt')))).toBe(sha256(first));
  });

  it('F5: Ctrl-C during the backoff stops at once as an interruption', async () => {
    const sender = await startFakeSender(cutInSecondFile);
    const out = await tempDir();
    const controller = new AbortController();
    const decide = async (): Promise<Decision> => ({ items: [0, 1], outDir: out });
    // A long first wait: only the interruption can end it within the test's bounds.
    const r = clearReceiver(sender.port, {
      decide,
      backoff: { firstMs: 600_000, maxMs: 600_000 },
      retryMs: 3_600_000,
      signal: controller.signal,
    });
    const log = new EventLog<ReceiverEvents>(r, [...EVENTS]);
    const running = r.run().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    await log.waitFor('reconnecting');
    controller.abort();
    const error = await within(running, 'the receiver to stop on Ctrl-C');
    expect((error as { code?: string }).code).toBe(ErrorCode.CANCELLED);
    // What arrived of b.bin is kept to resume from, in the transfer's partial folder.
    const [kept] = log.all('partial-kept');
    expect(kept).toEqual({
      dir: expect.stringContaining('.ferry-partial-'),
      files: 1,
      heldBytes: expect.any(Number),
    });
    expect(kept!.heldBytes).toBeGreaterThan(0);
    expect((await listTree(out)).some((name) => name.startsWith(path.basename(kept!.dir)))).toBe(
      true,
    );
    expect(sha256(await readFile(path.join(out, 'a.txt')))).toBe(sha256(first));
  });

  it('F1: with --retry 0 a cut is not retried: the transfer fails as before', async () => {
    const sender = await startFakeSender(cutInSecondFile, [
      async (peer) => void peer.socket.destroy(),
    ]);
    const out = await tempDir();
    const { receiver: r, log } = await receiver(sender.port, out, { retryMs: 0 });
    const error = await within(
      r.run().then(
        () => undefined,
        (thrown: unknown) => thrown,
      ),
      'the receiver to fail',
    );
    expect([ErrorCode.TRUNCATED, ErrorCode.CONNECTION_CLOSED]).toContain(
      (error as { code?: string }).code,
    );
    expect(log.all('connection-lost').length > 0).toBe(false);
    expect(sender.peers.length).toBe(1);
  });

  it('F1: an ERROR the sender sends mid-file is not a connection loss: no reconnect', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offer(peer);
      await peer.expect(FrameType.REQUEST);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: first.byteLength });
      peer.send(FrameType.ERROR, { code: ErrorCode.CONNECTION_CLOSED, message: 'going away' });
      peer.socket.end();
    });
    const out = await tempDir();
    const { receiver: r, log } = await receiver(sender.port, out);
    const error = await within(
      r.run().then(
        () => undefined,
        (thrown: unknown) => thrown,
      ),
      'the receiver to fail',
    );
    expect((error as Error).name).toBe('PeerError');
    expect(log.all('connection-lost').length > 0).toBe(false);
    expect(sender.peers.length).toBe(1);
  });

  it('F5: after the sender restarted (same key, its tickets gone) the reconnect needs a code: it stops with what to do, the partial data kept', async () => {
    const senderIdentity = await loadOrCreateIdentity(await tempDir());
    const receiverIdentity = await loadOrCreateIdentity(await tempDir());
    const dir = await tempDir();
    const data = randomBytes(8 * MiB);
    await writeFile(path.join(dir, 'f.bin'), data);
    const start = () => startEncryptedSender([path.join(dir, 'f.bin')], senderIdentity);
    const first = await start();
    // The same machine and key after a restart: a new run, whose tickets are new.
    const restarted = await start();
    const code = normalizeCode((await first.log.waitFor('code')).code)!;
    // Cut once the receiver has taken a MiB: a reset drops what its socket had not read yet,
    // so a cut by byte count alone may leave nothing on disk to keep.
    const relay = await startCutRelay(first.port);
    const out = await tempDir();
    const r = createReceiver({
      security: { encryption: true, identity: receiverIdentity, code },
      host: '127.0.0.1',
      port: relay.port,
      name: 'bob',
      logger: silentLogger,
      retryMs: 20_000,
      backoff: BACKOFF,
      decide: async () => ({ items: [0], outDir: out }),
    });
    const log = new EventLog<ReceiverEvents>(r, [...EVENTS]);
    // Once REQUEST is out, the next connections reach the restarted sender.
    r.on('start', () => relay.retarget(restarted.port));
    let taken = 0;
    r.on('progress', ({ bytes }) => {
      taken += bytes;
      if (taken >= MiB && taken - bytes < MiB) relay.cutNow();
    });
    const error = await within(
      r.run().then(
        () => undefined,
        (thrown: unknown) => thrown,
      ),
      'the receiver to stop',
    );
    expect(error).toBeInstanceOf(ResumeStoppedError);
    expect((error as Error).message).toBe(
      'the sender no longer knows this transfer (it was restarted?): run ferry-receive again with its new code to resume',
    );
    expect(log.all('connection-lost')).toHaveLength(1);
    expect(log.all('resumed')).toEqual([]);
    // The restarted sender saw the receiver's key, offered a code, and let nothing in.
    expect(restarted.log.all('authenticated')).toEqual([]);
    const [kept] = log.all('partial-kept');
    expect(kept).toMatchObject({ files: 1 });
    // Every byte taken before the cut is kept (written out, not dropped), and no more arrived.
    expect(kept!.heldBytes).toBeGreaterThanOrEqual(MiB);
    expect(kept!.heldBytes).toBeLessThan(data.length);
  });

  it('F5: what counts as losing the connection: ends, resets and silence; never an ERROR the sender sent or a protocol violation', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(
      isConnectionLoss(new ProtocolError(ErrorCode.TRUNCATED, 'the stream ended inside a frame')),
    ).toBe(true);
    expect(isConnectionLoss(new ConnectionClosedError('the connection failed'))).toBe(true);
    expect(isConnectionLoss(new FerryError(ErrorCode.TIMEOUT, 'no progress'))).toBe(true);
    expect(isConnectionLoss(reset)).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(true);
    expect(
      isConnectionLoss(new AuthError(ErrorCode.TLS_FAILED, 'TLS failed', { cause: reset })),
    ).toBe(true);
    expect(isConnectionLoss(new AuthError(ErrorCode.TLS_FAILED, 'bad certificate'))).toBe(false);
    expect(isConnectionLoss(new AuthError(ErrorCode.KEY_CHANGED, 'another key'))).toBe(false);
    expect(isConnectionLoss(new PeerError(ErrorCode.CONNECTION_CLOSED, 'the sender says so'))).toBe(
      false,
    );
    expect(
      isConnectionLoss(new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'unexpected DATA frame')),
    ).toBe(false);
    expect(isConnectionLoss(new FerryError(ErrorCode.CANCELLED, 'interrupted'))).toBe(false);
  });
});

describe('a ticket that cannot be proved', () => {
  it('F5: an encrypted OFFER with an empty ticket gets no reconnection: the loss is reported as it is, no AUTH resume is tried', async () => {
    const lost = new ConnectionClosedError('the connection failed');
    let reconnects = 0;
    const connection = { destroy() {} } as unknown as Connection;
    const run = transferWithReconnect({
      options: { retryMs: 60_000, backoff: BACKOFF } as unknown as ReceiverOptions,
      events: new Emitter<ReceiverEvents>(),
      logger: silentLogger,
      link: { connection },
      offer: { session: SESSION, sender: SENDER, entries: [], resume: { ticket: '' } },
      senderKey: new Uint8Array(32),
      first: {} as Round,
      outcomes: { saved: [], present: [], failed: [], concluded: new Set() },
      receive: async () => {
        throw lost;
      },
      plan: async () => ({}) as Round,
      reconnect: async () => {
        reconnects++;
        throw lost;
      },
    });
    await expect(run).rejects.toBe(lost);
    expect(reconnects).toBe(0);
  });
});
