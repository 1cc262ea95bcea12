/**
 * A hostile RECEIVER against the real `ferry-send`: the hostile-peer emulator connects, pairs
 * with the code the sender shows (TLS 1.3 and SPAKE2, through the protocol library), then breaks
 * one rule. Each test is named after its row in HOSTILE-INPUTS.md and checks that the sender
 * refuses with a typed code, serves only what it offered, and keeps serving: an honest receiver
 * then gets every file from the same process.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FrameType, LIMITS, type MessageOf, PairingCodes } from '@ferry/protocol';
import {
  derivePasswordScalar,
  fingerprintHex,
  loadOrCreateIdentity,
  shortFingerprint,
  TrustStore,
} from '@ferry/protocol/node';
import { createSender, scanOffer } from '@ferry/sender';
import { describe, expect, it } from 'vitest';
import {
  assertExit,
  hashTree,
  type JsonEvent,
  makeConfigDir,
  makeTempDir,
  onCleanup,
  type RunningSender,
  receiveAll,
  SEND_BIN,
  startSender,
  WAIT,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/harness';
import {
  bounded,
  connectScriptedReceiver,
  type Flips,
  frame,
  header,
  type HostilePeer,
  jsonPayload,
  messageFrame,
  OMIT,
  pairByHand,
  preamble,
  type ScriptedReceiver,
  type ScriptedReceiverOptions,
} from '@ferry/testkit/hostile';
import { spawnCli } from '@ferry/testkit/cli-process';
import { startTap } from '@ferry/testkit/relays';

const HELLO = { software: 'mallory/6.6.6', name: 'mallory', features: [] as string[] };

function sha256(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A folder with a small text file and a 20 KiB random file: what every sender here offers. */
async function source(): Promise<{ src: string; paths: string[] }> {
  const src = await makeTempDir('src');
  const text = await writeFileAt(src, 'a.txt', 'alpha\n');
  const random = path.join(src, 'b.bin');
  await writeRandomFile(random, 20 * 1024);
  return { src, paths: [text, random] };
}

/** A real `ferry-send` offering {@link source}, and the source folder to compare with. */
async function realSender(args: readonly string[] = []): Promise<{ sender: RunningSender; src: string }> {
  const { src, paths } = await source();
  return { sender: await startSender(paths, args), src };
}

/** A running ferry-send as the hostile receiver needs it: where, and the code it shows. */
type Target = Pick<RunningSender, 'port' | 'code' | 'process'>;

/**
 * Connects to `sender` and, unless told otherwise, pairs with the code it shows now. After a
 * pairing the code is used up: this waits until the sender shows the next one, so an honest
 * receiver started later does not take the spent code.
 */
async function hostileReceiver(sender: Target, options: ScriptedReceiverOptions = {}): Promise<ScriptedReceiver> {
  const pairs = (options.handshake ?? 'pair') === 'pair' && (options.encryption ?? true);
  const code = pairs ? sender.code() : undefined;
  const peer = await connectScriptedReceiver(sender.port, { code, ...options });
  if (code !== undefined) {
    await sender.process.log.waitFor('a new code after the pairing', () => (sender.code() !== code ? true : undefined), WAIT.reactMs);
  }
  return peer;
}

/** HELLO, then the sender's OFFER. */
async function greet(peer: HostilePeer): Promise<MessageOf<typeof FrameType.OFFER>> {
  await peer.send(FrameType.HELLO, HELLO);
  return peer.expect(FrameType.OFFER);
}

/** The file ids of an offer, in offer order. */
function fileIds(offer: MessageOf<typeof FrameType.OFFER>): number[] {
  return offer.entries.flatMap((entry, id) => (entry.kind === 'file' ? [id] : []));
}

/** Reads one whole file (FILE_START, DATA, FILE_END); returns its bytes and the digest sent. */
async function readFile(peer: HostilePeer): Promise<{ id: number; bytes: Buffer; sha256: string }> {
  const start = await peer.expect(FrameType.FILE_START);
  const parts: Uint8Array[] = [];
  for (;;) {
    const next = await peer.next();
    if (next?.type === FrameType.DATA) {
      parts.push(next.payload);
      continue;
    }
    if (next?.type !== FrameType.FILE_END) throw new Error(`expected DATA or FILE_END, got ${peer.describe()}`);
    const end = next.message as MessageOf<typeof FrameType.FILE_END>;
    expect(end.id).toBe(start.id);
    return { id: start.id, bytes: Buffer.concat(parts), sha256: end.sha256 };
  }
}

/** The sender's `session-failed` event for `client`. */
function sessionFailed(sender: RunningSender, client = 1): Promise<JsonEvent> {
  return sender.waitForEvent('session-failed', (e) => e.client === client, WAIT.reactMs);
}

/**
 * The sender refused the hostile receiver: its session failed with `code`, the receiver was
 * told so in an ERROR frame (unless `told` is false), and nothing was reported as delivered.
 */
async function expectRefused(sender: RunningSender, peer: HostilePeer, code: string, options: { told?: boolean; client?: number } = {}) {
  expect(await sessionFailed(sender, options.client)).toMatchObject({ code });
  await peer.allFrames();
  if (options.told ?? true) expect(peer.lastError(), peer.describe()).toMatchObject({ code });
  expect(sender.events.filter((e) => e.event === 'file-sent' && e.client === (options.client ?? 1))).toEqual([]);
}

/** The same ferry-send process still runs and gives an honest receiver every file, intact. */
async function expectStillServes(sender: RunningSender, src: string) {
  const out = await makeTempDir('honest');
  const run = await receiveAll(sender, out);
  assertExit(run, 0);
  expect(await hashTree(out)).toEqual(await hashTree(src));
  expect(sender.process.running).toBe(true);
}


/** A REQUEST whose offset field is the raw JSON `offset` is refused, and the sender serves on. */
async function refusesRequestOffset(offset: string): Promise<void> {
  const { sender, src } = await realSender();
  const peer = await hostileReceiver(sender);
  await greet(peer);
  await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] }, { 'files.0.offset': offset });
  await expectRefused(sender, peer, 'ERR_BAD_MESSAGE');
  await expectStillServes(sender, src);
}
describe('framing (A)', () => {
  it.each([
    ['a HELLO header announcing 64 KiB + 1', 'hello', FrameType.HELLO, LIMITS.maxControlPayloadBytes + 1],
    ['a REQUEST header announcing 8 MiB + 1', 'request', FrameType.REQUEST, LIMITS.maxRequestPayloadBytes + 1],
    ['a FILE_ACK header announcing 0xFFFFFFFF', 'ack', FrameType.FILE_ACK, 0xffff_ffff],
  ])('A1: %s is refused from the header alone with ERR_LIMIT_EXCEEDED, and the sender serves the next receiver', async (_, when, type, length) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    if (when !== 'hello') await greet(peer);
    if (when === 'ack') await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    await peer.write(header(type, length));
    await expectRefused(sender, peer, 'ERR_LIMIT_EXCEEDED');
    await expectStillServes(sender, src);
  });

  it('A2: a HELLO padded with JSON whitespace to exactly 64 KiB is accepted, and the session completes', async () => {
    const { sender } = await realSender();
    const peer = await hostileReceiver(sender);
    const json = jsonPayload(HELLO);
    const padded = Buffer.concat([json, Buffer.alloc(LIMITS.maxControlPayloadBytes - json.byteLength, 0x20)]);
    expect(padded.byteLength).toBe(LIMITS.maxControlPayloadBytes);
    await peer.write(frame(FrameType.HELLO, padded));
    expect(await peer.expect(FrameType.OFFER)).toMatchObject({ sender: expect.any(Object) });
    await peer.send(FrameType.REQUEST, { files: [] });
    await peer.expect(FrameType.END);
    await peer.send(FrameType.DONE, { saved: 0, failed: 0 });
    expect(await sender.waitForEvent('session-complete', (e) => e.client === 1)).toMatchObject({ files: 0 });
  });

  it('A3: a FILE_ACK length with the top bit set (0x80000000) is read as unsigned and refused as too large', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    await readFile(peer);
    await peer.write(header(FrameType.FILE_ACK, 0x8000_0000));
    await expectRefused(sender, peer, 'ERR_LIMIT_EXCEEDED');
    await expectStillServes(sender, src);
  });

  it.each([
    ['2^53', '9007199254740992'],
    ['1e400 (infinite as a double)', '1e400'],
  ])('A4: a REQUEST offset of %s is refused with ERR_BAD_MESSAGE', async (_, offset) => {
    await refusesRequestOffset(offset);
  });

  it.each([
    ['a REQUEST with an empty payload', frame(FrameType.REQUEST, '')],
    ['a zero-length DATA frame', frame(FrameType.DATA, '')],
  ])('A5: %s is refused with ERR_BAD_MESSAGE', async (_, bad) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.write(bad);
    await expectRefused(sender, peer, 'ERR_BAD_MESSAGE');
    await expectStillServes(sender, src);
  });

  it.each([
    ['3 bytes of a REQUEST header', header(FrameType.REQUEST, 30).subarray(0, 3)],
    ['a REQUEST header for 30 bytes and 10 of them', Buffer.concat([header(FrameType.REQUEST, 30), Buffer.from('{"files":[{')])],
  ])('A6: a receiver closing after %s fails its session as ERR_TRUNCATED; nothing is sent, and the sender serves the next receiver', async (_, partial) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.end(partial);
    await expectRefused(sender, peer, 'ERR_TRUNCATED', { told: false });
    expect(peer.types()).toEqual([FrameType.OFFER]);
    await expectStillServes(sender, src);
  });

  it('A7: a frame of an unassigned type (0x1f) is refused with ERR_UNKNOWN_FRAME_TYPE', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.write(frame(0x1f, '{}'));
    await expectRefused(sender, peer, 'ERR_UNKNOWN_FRAME_TYPE');
    await expectStillServes(sender, src);
  });

  it('A7: a receiver preamble with a reserved flag bit set gets no answer at all, not even the sender\'s preamble', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender, { handshake: 'raw' });
    await peer.write(preamble(true, { flags: 0x8001 }));
    await expectRefused(sender, peer, 'ERR_BAD_MESSAGE', { told: false });
    expect(peer.bytesIn).toBe(0);
    await expectStillServes(sender, src);
  });

  it.each([
    ['a second HELLO', async (peer: HostilePeer) => peer.send(FrameType.HELLO, HELLO)],
    [
      'a second REQUEST',
      async (peer: HostilePeer) => {
        await peer.send(FrameType.REQUEST, { files: [] });
        await peer.send(FrameType.REQUEST, { files: [] });
      },
    ],
    ['DATA from the receiver', async (peer: HostilePeer) => peer.data('upload')],
    [
      'a FILE_ACK for a file it did not request',
      async (peer: HostilePeer) => {
        await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
        const file = await readFile(peer);
        await peer.send(FrameType.FILE_ACK, { id: 1, ok: true, sha256: file.sha256 });
      },
    ],
    [
      'DONE before the FILE_ACK',
      async (peer: HostilePeer) => {
        await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
        await readFile(peer);
        await peer.send(FrameType.DONE, { saved: 1, failed: 0 });
      },
    ],
  ])('A8: %s is refused with ERR_UNEXPECTED_FRAME', async (_, misbehave) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await misbehave(peer);
    await expectRefused(sender, peer, 'ERR_UNEXPECTED_FRAME');
    await expectStillServes(sender, src);
  });

  it.each([
    ['bytes after its JSON', Buffer.concat([jsonPayload({ files: [{ id: 0, offset: 0 }] }), Buffer.from(' {}')])],
    ['a length that cuts its JSON short', jsonPayload({ files: [{ id: 0, offset: 0 }] }).subarray(0, 12)],
  ])('A9: a REQUEST with %s is refused with ERR_BAD_MESSAGE', async (_, payload) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.write(frame(FrameType.REQUEST, payload));
    await expectRefused(sender, peer, 'ERR_BAD_MESSAGE');
    await expectStillServes(sender, src);
  });

  it('A10: bytes after DONE are ignored: the session completes and nothing more is sent', async () => {
    const { sender } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    const file = await readFile(peer);
    await peer.expect(FrameType.END);
    await peer.write(
      messageFrame(FrameType.FILE_ACK, { id: 0, ok: true, sha256: file.sha256 }),
      messageFrame(FrameType.DONE, { saved: 1, failed: 0 }),
      messageFrame(FrameType.REQUEST, { files: [{ id: 1, offset: 0 }] }),
      frame(0x1f, 'garbage'),
    );
    expect(await sender.waitForEvent('session-complete', (e) => e.client === 1)).toMatchObject({ files: 1, failed: 0 });
    await peer.allFrames();
    expect(peer.types()).toEqual([FrameType.OFFER, FrameType.FILE_START, FrameType.DATA, FrameType.FILE_END, FrameType.END]);
    expect(sender.events.filter((e) => e.event === 'session-failed')).toEqual([]);
  });

  it.each([
    ['one byte per write', 1],
    ['everything it has to say in one write', Number.MAX_SAFE_INTEGER],
  ])('A11: a receiver writing %s gets the same files', async (_, piece) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await peer.trickle(messageFrame(FrameType.HELLO, HELLO), { piece });
    const offer = await peer.expect(FrameType.OFFER);
    const ids = fileIds(offer);
    await peer.trickle(messageFrame(FrameType.REQUEST, { files: ids.map((id) => ({ id, offset: 0 })) }), { piece });
    const files = [];
    for (const _id of ids) files.push(await readFile(peer));
    await peer.expect(FrameType.END);
    const acks = files.map((file) => messageFrame(FrameType.FILE_ACK, { id: file.id, ok: true, sha256: sha256(file.bytes) }));
    await peer.trickle(Buffer.concat([...acks, messageFrame(FrameType.DONE, { saved: files.length, failed: 0 })]), { piece });
    expect(await sender.waitForEvent('session-complete', (e) => e.client === 1)).toMatchObject({ files: 2, failed: 0 });
    for (const file of files) {
      const entry = offer.entries[file.id]!;
      expect(file.bytes.equals(await fs.readFile(path.join(src, entry.path)))).toBe(true);
    }
  });

  describe('A12: deadlines on a trickling receiver (the sender core, with a 1 s handshake deadline)', () => {
    /** The real sender core in this process, its handshake deadline cut to 1 s. */
    async function coreSender() {
      const { paths } = await source();
      const pairing = new PairingCodes(derivePasswordScalar);
      const identity = await loadOrCreateIdentity(makeConfigDir('core-sender'));
      const silent = { child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
      const core = createSender({
        security: { encryption: true, identity, pairing },
        offer: await scanOffer(paths),
        host: '127.0.0.1',
        port: 0,
        name: 'core',
        logger: silent as unknown as Parameters<typeof createSender>[0]['logger'],
        handshakeMs: 1_000,
      });
      let port = 0;
      core.on('listening', (event) => {
        port = event.port;
      });
      const firstFailure = new Promise<{ code: string }>((resolve) => core.on('session-failed', resolve));
      onCleanup('sender core', () => core.close(true));
      await core.listen();
      return { port, firstFailure };
    }

    it.each([
      ['its preamble (before TLS)', 'raw' as const],
      ['its AUTH frame (inside TLS, before pairing)', 'tls' as const],
    ])('A12: a receiver trickling %s a byte every 300 ms is dropped at the handshake deadline with ERR_TIMEOUT, however steady the trickle', async (_, handshake) => {
      const { port, firstFailure } = await coreSender();
      const peer = await connectScriptedReceiver(port, { handshake });
      const greeting = handshake === 'raw' ? preamble(true) : messageFrame(FrameType.AUTH, { method: 'trusted' });
      const written = await peer.trickle(greeting, { everyMs: 300 });
      await peer.allFrames();
      expect(written).toBeLessThan(12);
      expect(await bounded(firstFailure, WAIT.reactMs, 'session-failed')).toMatchObject({ code: 'ERR_TIMEOUT' });
    });
  });

  it.each([
    ['an XML declaration (neither Ferry nor HTTP)', 'ERR_BAD_MAGIC', Buffer.from('<?xml version="1.0"?>\r\n')],
    ['a TLS ClientHello on the Ferry port', 'ERR_BAD_MAGIC', Buffer.from('16030100f5010000f10303', 'hex')],
    ['a magic wrong in its first byte', 'ERR_BAD_MAGIC', preamble(true, { magic: Buffer.from('0946455252590d0a', 'hex') })],
    ['protocol version 2', 'ERR_UNSUPPORTED_VERSION', preamble(true, { version: 2 })],
  ])('A13: %s gets no answer at all (%s), and the sender keeps serving', async (_, code, garbage) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender, { handshake: 'raw' });
    await peer.write(garbage);
    await expectRefused(sender, peer, code, { told: false });
    expect(peer.bytesIn).toBe(0);
    await expectStillServes(sender, src);
  });

  it.each([
    // Past the REQUEST cap for this offer (1 KiB + 128 B per offered file): refused from its header.
    ['maxEntries + 1 files', 'ERR_LIMIT_EXCEEDED', () => ({ files: Array.from({ length: LIMITS.maxEntries + 1 }, (_, id) => ({ id, offset: 0 })) }), {}],
    ['an id of 2^32 - 1', 'ERR_BAD_MESSAGE', () => ({ files: [{ id: 0, offset: 0 }] }), { 'files.0.id': '4294967295' }],
  ])('A14: a REQUEST of %s is refused with %s', async (_, code, request, flips) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, request(), flips);
    await expectRefused(sender, peer, code);
    await expectStillServes(sender, src);
  });

  it('A15: a receiver cannot propose timeouts: unknown HELLO feature tokens are ignored, a HELLO field keepaliveMs: 0 is refused', async () => {
    const { sender, src } = await realSender();
    const proposing = await hostileReceiver(sender);
    await proposing.send(FrameType.HELLO, { ...HELLO, features: ['keepalive-0', 'window-0', 'chunk-4294967296'] });
    expect(await proposing.expect(FrameType.OFFER)).toMatchObject({ entries: expect.any(Array) });
    proposing.reset();
    const fielded = await hostileReceiver(sender);
    await fielded.send(FrameType.HELLO, HELLO, { keepaliveMs: '0', idleMs: '2147483648' });
    await expectRefused(sender, fielded, 'ERR_BAD_MESSAGE', { client: 2 });
    await expectStillServes(sender, src);
  });
});

describe('integrity (C)', () => {
  it('C5/S3: a FILE_ACK ok:true with another digest than the one sent is not counted as delivered: the file failed, ERR_ACK_MISMATCH', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    await readFile(peer);
    await peer.send(FrameType.FILE_ACK, { id: 0, ok: true, sha256: sha256('something else') });
    await expectRefused(sender, peer, 'ERR_ACK_MISMATCH');
    expect(sender.events.filter((e) => e.event === 'file-failed' && e.client === 1)).toMatchObject([{ code: 'ERR_ACK_MISMATCH' }]);
    await expectStillServes(sender, src);
  });

  it('S3: DONE counts that do not match the FILE_ACKs are refused with ERR_ACK_MISMATCH; the session fails', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    const file = await readFile(peer);
    await peer.expect(FrameType.END);
    await peer.send(FrameType.FILE_ACK, { id: 0, ok: true, sha256: file.sha256 });
    await peer.send(FrameType.DONE, { saved: 5, failed: 0 });
    expect(await sessionFailed(sender)).toMatchObject({ code: 'ERR_ACK_MISMATCH' });
    await peer.allFrames();
    expect(peer.lastError(), peer.describe()).toMatchObject({ code: 'ERR_ACK_MISMATCH' });
    expect(sender.events.filter((e) => e.event === 'session-complete')).toEqual([]);
    await expectStillServes(sender, src);
  });
});

describe('network faults (F)', () => {
  it('F3: a receiver that sends FIN right after DONE completes its session; success is DONE, not EOF', async () => {
    const { sender } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    const file = await readFile(peer);
    await peer.expect(FrameType.END);
    await peer.send(FrameType.FILE_ACK, { id: 0, ok: true, sha256: file.sha256 });
    await peer.end(messageFrame(FrameType.DONE, { saved: 1, failed: 0 }));
    expect(await sender.waitForEvent('session-complete', (e) => e.client === 1)).toMatchObject({ files: 1, failed: 0 });
  });

  it('F3: a receiver that sends FIN after its last FILE_ACK without DONE fails its session (ERR_CONNECTION_CLOSED)', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    const file = await readFile(peer);
    await peer.expect(FrameType.END);
    await peer.end(messageFrame(FrameType.FILE_ACK, { id: 0, ok: true, sha256: file.sha256 }));
    expect(await sessionFailed(sender)).toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
    expect(sender.events.filter((e) => e.event === 'session-complete')).toEqual([]);
    await expectStillServes(sender, src);
  });

  it('F4: a receiver resetting the connection while the sender writes a file ends that session only; no crash, and the next receiver is served', async () => {
    const src = await makeTempDir('src');
    const big = path.join(src, 'big.bin');
    await writeRandomFile(big, 8 * 1024 * 1024);
    const sender = await startSender([big]);
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    await peer.expect(FrameType.FILE_START);
    // Read nothing more: the sender is busy writing 8 MiB when the reset comes.
    peer.reset();
    expect(await sessionFailed(sender)).toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
    await expectStillServes(sender, src);
  });

  it('F6: the bytes of an earlier session, replayed on a new connection, fail TLS: no offer is made, and the sender keeps serving', async () => {
    const { sender, src } = await realSender();
    const tap = await startTap(sender.port);
    assertExit(await receiveAll(tap.address, await makeTempDir('earlier'), { code: await sender.freshCode() }), 0);
    await sender.waitForEvent('session-complete', (e) => e.client === 1);
    const replay = await hostileReceiver(sender, { handshake: 'raw' });
    await replay.write(Buffer.concat(tap.recording.fromReceiver));
    expect(await sessionFailed(sender, 2)).toMatchObject({ code: 'ERR_TLS_FAILED' });
    expect(sender.events.filter((e) => e.client === 2 && ['authenticated', 'hello', 'request'].includes(e.event))).toEqual([]);
    await expectStillServes(sender, src);
  });
});

describe('authentication (G)', () => {
  it('G4: a pairing share and confirmation replayed inside a fresh TLS session do not verify (ERR_PAIRING_FAILED); nothing is offered', async () => {
    const { sender, src } = await realSender();
    const first = await hostileReceiver(sender, { handshake: 'tls' });
    const code = sender.code();
    const recorded = await pairByHand(first, code);
    expect(recorded.last?.message).toEqual({ result: 'ok' });
    first.reset();
    await sender.process.log.waitFor('a new code', () => (sender.code() !== code ? true : undefined), WAIT.reactMs);
    const replay = await hostileReceiver(sender, { handshake: 'tls' });
    const replayed = await pairByHand(replay, sender.code(), { auth: recorded.auth, confirm: recorded.confirm });
    expect(replayed.last?.message).toMatchObject({ code: 'ERR_PAIRING_FAILED' });
    await expectRefused(sender, replay, 'ERR_PAIRING_FAILED', { client: 2 });
    expect(replay.types()).not.toContain(FrameType.OFFER);
    await expectStillServes(sender, src);
  });

  it('G7: a receiver claiming the name of a remembered receiver is known by its own key: asked for a code, not remembered over it, and the real one still gets in by key', async () => {
    const { src, paths } = await source();
    const senderConfig = makeConfigDir('sender');
    const aliceConfig = makeConfigDir('alice');
    const sender = await startSender(paths, ['--remember'], { configDir: senderConfig });
    assertExit(await receiveAll(sender, await makeTempDir('alice-1'), { args: ['--name', 'alice', '--remember'], configDir: aliceConfig }), 0);
    await sender.waitForEvent('remembered', (e) => e.result === 'added');
    const trustedBefore = (await TrustStore.open(senderConfig, 'receiver')).list();
    expect(trustedBefore.map((peer) => peer.name)).toEqual(['alice@127.0.0.1']);

    const mallory = await hostileReceiver(sender, { handshake: 'tls' });
    await mallory.send(FrameType.AUTH, { method: 'trusted' });
    expect(await mallory.expect(FrameType.AUTH_REPLY)).toEqual({ result: 'code-needed' });
    const code = sender.code();
    expect((await pairByHand(mallory, code)).last?.message).toEqual({ result: 'ok' });
    await mallory.send(FrameType.HELLO, { ...HELLO, name: 'alice' });
    await mallory.expect(FrameType.OFFER);
    const malloryKey = shortFingerprint(mallory.identity!.fingerprint);
    expect(await sender.waitForEvent('authenticated', (e) => e.client === 2)).toMatchObject({ method: 'code', fingerprint: malloryKey });
    expect(await sender.waitForEvent('remembered', (e) => e.client === 2)).toMatchObject({ name: 'alice@127.0.0.1', result: 'conflict' });
    mallory.reset();
    expect((await TrustStore.open(senderConfig, 'receiver')).list()).toEqual(trustedBefore);
    expect(trustedBefore[0]?.fingerprint).not.toBe(fingerprintHex(mallory.identity!.fingerprint));

    const again = await receiveAll(sender.address, await makeTempDir('alice-2'), { args: ['--name', 'alice'], configDir: aliceConfig });
    assertExit(again, 0);
    expect(again.events.find((e) => e.event === 'secured')).toMatchObject({ method: 'trusted' });
    expect(await hashTree(path.join(again.events.find((e) => e.event === 'start')?.out as string))).toEqual(await hashTree(src));
  });

  it.each([
    ['a HELLO', 'ERR_UNEXPECTED_FRAME', messageFrame(FrameType.HELLO, HELLO)],
    ['a FILE_ACK', 'ERR_UNEXPECTED_FRAME', messageFrame(FrameType.FILE_ACK, { id: 0, ok: false, code: 'ERR_DECLINED' })],
    // Frames with no business before authentication have a cap of 0 there: refused from the header.
    ['a REQUEST', 'ERR_LIMIT_EXCEEDED', messageFrame(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] })],
  ])('G8: %s sent before authentication is refused (%s); no OFFER is sent and no attempt of the code is spent', async (_, code, early) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender, { handshake: 'tls' });
    await peer.write(early);
    await expectRefused(sender, peer, code);
    expect(peer.types()).toEqual([FrameType.ERROR]);
    expect(sender.events.some((e) => e.event === 'pairing-failed')).toBe(false);
    await expectStillServes(sender, src);
  });
});

describe('requests from a hostile receiver (I)', () => {
  it.each<[string, Flips]>([
    ['a path beside the id', { 'files.0.path': '"../../etc/passwd"' }],
    ['a path instead of the id', { 'files.0.id': '"../../etc/passwd"' }],
    ['an absolute path and no id', { 'files.0.id': OMIT, 'files.0.path': '"/etc/passwd"' }],
  ])('I1: a REQUEST naming %s is refused with ERR_BAD_MESSAGE; only ids of the offer are ever served', async (_, flips) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] }, flips);
    await expectRefused(sender, peer, 'ERR_BAD_MESSAGE');
    expect(peer.types()).toEqual([FrameType.OFFER, FrameType.ERROR]);
    await expectStillServes(sender, src);
  });

  it.each([
    ['negative', '-1'],
    ['fractional', '0.5'],
  ])('I2: a REQUEST offset that is %s is refused with ERR_BAD_MESSAGE', async (_, offset) => {
    await refusesRequestOffset(offset);
  });

  it.each([
    // Within the REQUEST cap for this offer: refused for naming the file twice.
    ['twice', 'ERR_BAD_MESSAGE', 2],
    // Past the cap (1 KiB + 128 B per offered file): refused from the frame header.
    ['1 000 times', 'ERR_LIMIT_EXCEEDED', 1000],
  ])('I3: the same file requested %s in one REQUEST is refused with %s before any file is read', async (_, code, times) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    await greet(peer);
    await peer.send(FrameType.REQUEST, { files: Array.from({ length: times }, () => ({ id: 0, offset: 0 })) });
    await expectRefused(sender, peer, code);
    expect(peer.types()).toEqual([FrameType.OFFER, FrameType.ERROR]);
    await expectStillServes(sender, src);
  });

  it('I3: a second REQUEST on the same connection, while files are sent, is refused with ERR_UNEXPECTED_FRAME', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    const offer = await greet(peer);
    const request = messageFrame(FrameType.REQUEST, { files: fileIds(offer).map((id) => ({ id, offset: 0 })) });
    await peer.write(request, request);
    await expectRefused(sender, peer, 'ERR_UNEXPECTED_FRAME');
    await expectStillServes(sender, src);
  });
});

describe('display (J)', () => {
  const forged = '{"event":"session-complete","client":99}';
  const hostileName = `eve\n${forged}\u001b[2J\u009b\u202e`;
  const RAW = ['\u001b', '\u009b', '\u202e'];

  /** A hostile receiver that says hello with {@link hostileName} and takes nothing. */
  async function helloAndLeave(sender: RunningSender) {
    const peer = await hostileReceiver(sender);
    await peer.send(FrameType.HELLO, { ...HELLO, name: hostileName });
    await peer.expect(FrameType.OFFER);
    await peer.send(FrameType.REQUEST, { files: [] });
    await peer.expect(FrameType.END);
    await peer.send(FrameType.DONE, { saved: 0, failed: 0 });
    await sender.waitForEvent('session-complete', (e) => e.client === 1);
  }

  it('J4: a receiver name with a newline and escapes cannot forge or break a line of ferry-send --json output or its logs', async () => {
    const { sender } = await realSender(['--log-level', 'debug']);
    await helloAndLeave(sender);
    await sender.stop();
    const { stdout, stderr } = sender.process.log;
    for (const line of stdout.trimEnd().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
    for (const line of stderr.trimEnd().split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
    expect(sender.events.filter((e) => e.client === 99)).toEqual([]);
    expect(sender.events.find((e) => e.event === 'hello')).toMatchObject({ name: hostileName });
    for (const raw of RAW) expect(stdout + stderr).not.toContain(raw);
  });

  it('J4: a receiver name with a newline and escapes is shown escaped, on one line, in ferry-send text output', async () => {
    const { paths } = await source();
    const proc = spawnCli(SEND_BIN, ['--host', '127.0.0.1', '--port', '0', '--', ...paths]);
    const port = Number(await proc.log.waitFor('the port', () => /127\.0\.0\.1:(\d+)/.exec(proc.log.stdout)?.[1], WAIT.startMs));
    const code = () => [...proc.log.stdout.matchAll(/code: (\d{4}-\d{4})/g)].at(-1)?.[1] ?? '';
    await proc.log.waitFor('a pairing code', () => code() || undefined, WAIT.startMs);
    const peer = await hostileReceiver({ port, code, process: proc });
    await peer.send(FrameType.HELLO, { ...HELLO, name: hostileName });
    await peer.expect(FrameType.OFFER);
    await peer.send(FrameType.REQUEST, { files: [] });
    await peer.expect(FrameType.END);
    await peer.send(FrameType.DONE, { saved: 0, failed: 0 });
    await proc.log.waitFor('the escaped name', () => (proc.log.stdout.includes('eve\\x0a{') ? true : undefined), WAIT.reactMs);
    const { stdout, stderr } = proc.log;
    for (const raw of RAW) expect(stdout + stderr).not.toContain(raw);
    expect(stdout.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
  });
});

describe('resuming (D)', () => {
  const RESUMING = { ...HELLO, features: ['resume'] };

  /** Greets listing resume; the OFFER then carries this receiver's ticket. */
  async function greetResuming(peer: HostilePeer): Promise<MessageOf<typeof FrameType.OFFER>> {
    await peer.send(FrameType.HELLO, RESUMING);
    const offer = await peer.expect(FrameType.OFFER);
    expect(offer).toMatchObject({ resume: { ticket: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    return offer;
  }

  it('D5: a forged prefix for b.bin is answered with FILE_START at 0 and the true content; the sender says so and serves on', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    const offer = await greetResuming(peer);
    const id = offer.entries.findIndex((entry) => entry.path === 'b.bin');
    await peer.send(FrameType.REQUEST, { files: [{ id, offset: 10_000, prefix: sha256('not what the sender has') }] });
    // Started over: FILE_START at 0, then every byte of the file as it is.
    expect(await peer.expect(FrameType.FILE_START)).toEqual({ id, offset: 0, size: 20 * 1024 });
    const parts: Uint8Array[] = [];
    let next = await peer.next();
    for (; next?.type === FrameType.DATA; next = await peer.next()) parts.push(next.payload);
    expect(next?.type).toBe(FrameType.FILE_END);
    const file = { bytes: Buffer.concat(parts), sha256: (next!.message as MessageOf<typeof FrameType.FILE_END>).sha256 };
    const content = await fs.readFile(path.join(src, 'b.bin'));
    expect(file.bytes.equals(content)).toBe(true);
    expect(file.sha256).toBe(sha256(content));
    expect(await sender.waitForEvent('file-restarted', (e) => e.client === 1, WAIT.reactMs)).toMatchObject({ path: 'b.bin', reason: 'changed' });
    await peer.expect(FrameType.END);
    await peer.send(FrameType.FILE_ACK, { id, ok: true, sha256: file.sha256 });
    await peer.send(FrameType.DONE, { saved: 1, failed: 0 });
    expect(await sender.waitForEvent('session-complete', (e) => e.client === 1, WAIT.reactMs)).toMatchObject({ files: 1, bytes: 20 * 1024 });
    await expectStillServes(sender, src);
  });

  it.each([
    ['D7: an id that is not in the offer', 'ERR_UNKNOWN_FILE', (offer: MessageOf<typeof FrameType.OFFER>) => ({ id: offer.entries.length, offset: 1, prefix: sha256('a') })],
    ['D1: an offset past the end of the file', 'ERR_BAD_MESSAGE', (offer: MessageOf<typeof FrameType.OFFER>) => ({ id: offer.entries.findIndex((entry) => entry.path === 'a.txt'), offset: 7, prefix: sha256('alpha\n') })],
  ])('%s, with a prefix, is refused with %s before any file is read; the sender serves on', async (_, code, item) => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    const offer = await greetResuming(peer);
    await peer.send(FrameType.REQUEST, { files: [item(offer)] });
    await expectRefused(sender, peer, code);
    expect(peer.types()).toEqual([FrameType.OFFER, FrameType.ERROR]);
    await expectStillServes(sender, src);
  });

  it('D1: prefix items from a receiver whose HELLO did not list resume are refused with ERR_BAD_MESSAGE', async () => {
    const { sender, src } = await realSender();
    const peer = await hostileReceiver(sender);
    const offer = await greet(peer);
    expect(Object.keys(offer)).not.toContain('resume');
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 2, prefix: sha256('al') }] });
    await expectRefused(sender, peer, 'ERR_BAD_MESSAGE');
    await expectStillServes(sender, src);
  });
});
