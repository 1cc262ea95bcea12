/**
 * The sender's side of resuming (PROTOCOL.md §13) against a raw receiver in clear: OFFER's
 * `resume` only for a HELLO that lists it, REQUEST prefixes checked before anything is sent, a
 * prefix that differs answered with the whole file from byte 0, hostile requests refused, and
 * the sender serving the next receiver every time.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import {
  Deadline,
  derivePasswordScalar,
  exchangePreamble,
  type Identity,
  loadOrCreateIdentity,
  secureClient,
  TicketStore,
} from '@ferry/protocol/node';
import {
  concatFrame,
  encodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  type MessageOf,
  type MessageType,
  normalizeCode,
  PairingCodes,
  RESUME_FEATURE,
  type RequestItem,
} from '@ferry/protocol';
import { scanOffer } from '@ferry/engine';
import { startCutRelay } from '@ferry/testkit/cut-relay';
import { createReceiver } from '../../receiver/src/receiver.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { renderSender } from '../src/ui/render.ts';
import {
  fakeIo,
  onCleanup,
  rawClient,
  receiveAll,
  runCleanup,
  startSender,
  silentLogger,
  startSenderOffering,
  tempDir,
  WAIT_MS,
  within,
} from './helpers.ts';
import { sha256 } from '@ferry/testkit/unit';

afterEach(runCleanup);

function frame<T extends MessageType>(type: T, message: MessageOf<T>): Uint8Array {
  return concatFrame(type, encodeMessage(type, message));
}

/** What a raw receiver saw: control frames decoded, and each file's DATA bytes joined. */
interface Seen {
  readonly type: number;
  readonly message?: unknown;
  bytes?: Buffer;
}

/**
 * A raw receiver in clear: sends the preamble and HELLO (listing `features`), then records what
 * comes back (see {@link recorder}).
 */
async function rawReceiver(port: number, features: string[] = [RESUME_FEATURE]) {
  const client = await rawClient(port);
  client.socket.write(encodePreamble());
  return { client, ...recorder(client.socket, true, features) };
}

/**
 * Sends HELLO (listing `features`) on `socket` and records what comes back: control frames
 * decoded, DATA bytes joined. `until(type)` waits for the first frame of that type; `file(id)`
 * is one file as sent; `finish(ids)` acknowledges those files as saved, then DONE.
 */
function recorder(socket: Socket, expectPreamble: boolean, features: string[]) {
  const decoder = new FrameDecoder({ expectPreamble });
  const seen: Seen[] = [];
  const waiters = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    for (const event of decoder.push(chunk)) {
      if (event.kind === 'frame') {
        const payload = Buffer.from(event.payload).toString('utf8');
        seen.push({ type: event.type, message: JSON.parse(payload) });
      } else if (event.kind === 'data') {
        const last = seen.at(-1);
        if (last?.type === FrameType.DATA) last.bytes = Buffer.concat([last.bytes!, event.bytes]);
        else seen.push({ type: FrameType.DATA, bytes: Buffer.from(event.bytes) });
      }
    }
    for (const waiter of waiters) waiter();
  });
  socket.write(frame(FrameType.HELLO, { software: 'raw-test/1', name: 'raw', features }));
  const until = <T extends MessageType>(type: T): Promise<MessageOf<T>> =>
    within(
      new Promise((resolve) => {
        const check = () => {
          const found = seen.find((item) => item.type === type);
          if (!found) return;
          waiters.delete(check);
          resolve(found.message as MessageOf<T>);
        };
        waiters.add(check);
        check();
      }),
      `a frame of type ${type}`,
    );
  /** The frames of file `id` as they came, from FILE_START to FILE_END. */
  const file = (id: number) => {
    const start = seen.findIndex(
      (item) => item.type === FrameType.FILE_START && (item.message as { id: number }).id === id,
    );
    const end = seen.findIndex((item, index) => index > start && item.type === FrameType.FILE_END);
    const frames = seen.slice(start, end + 1);
    return {
      start: frames[0]!.message as MessageOf<typeof FrameType.FILE_START>,
      data: Buffer.concat(frames.flatMap((item) => (item.bytes ? [item.bytes] : []))),
      dataFrames: frames.filter((item) => item.type === FrameType.DATA).length,
      sha256: (frames.at(-1)!.message as MessageOf<typeof FrameType.FILE_END>).sha256,
    };
  };
  const request = (files: RequestItem[]) => socket.write(frame(FrameType.REQUEST, { files }));
  const finish = async (ids: number[]) => {
    await until(FrameType.END);
    for (const id of ids)
      socket.write(frame(FrameType.FILE_ACK, { id, ok: true, sha256: file(id).sha256 }));
    socket.end(frame(FrameType.DONE, { saved: ids.length, failed: 0 }));
  };
  return { seen, until, file, request, finish };
}

/** A sender offering one random file of `size` bytes; returns it and its content. */
async function senderOfOne(size: number, options: Parameters<typeof startSender>[1] = {}) {
  const data = randomBytes(size);
  const started = await startSender({ 'f.bin': data }, options);
  return { ...started, data };
}

/** The sender refused the receiver with `code` (told in an ERROR frame) and serves the next one. */
async function expectRefusedAndServing(
  started: Awaited<ReturnType<typeof senderOfOne>>,
  peer: Awaited<ReturnType<typeof rawReceiver>>,
  code: string,
) {
  expect(await started.log.waitFor('session-failed')).toMatchObject({ code });
  const frames = peer.seen.map((item) => item.type);
  await peer.client.allBytes();
  expect(peer.seen.filter((item) => item.type === FrameType.FILE_START)).toEqual([]);
  expect(peer.seen.at(-1)).toMatchObject({ type: FrameType.ERROR, message: { code } });
  expect(frames[0]).toBe(FrameType.OFFER);
  const { out, result } = await receiveAll(started.port);
  expect(result.failed).toEqual([]);
  expect((await readFile(path.join(out, 'f.bin'))).equals(started.data)).toBe(true);
}

const MiB = 1024 * 1024;

describe('the sender resuming (§13)', () => {
  it('offers resuming, with an empty ticket in clear, only to a receiver whose HELLO lists it', async () => {
    const { port } = await senderOfOne(10);
    const resuming = await rawReceiver(port);
    expect(await resuming.until(FrameType.OFFER)).toMatchObject({ resume: { ticket: '' } });
    const plain = await rawReceiver(port, []);
    expect(Object.keys(await plain.until(FrameType.OFFER))).not.toContain('resume');
  });

  it('sends only what follows a matching prefix, with the whole digest, and reports the bytes not sent again', async () => {
    const started = await senderOfOne(2 * MiB + 333);
    const { data, port, log } = started;
    const offset = MiB + 7;
    const peer = await rawReceiver(port);
    await peer.until(FrameType.OFFER);
    peer.request([{ id: 0, offset, prefix: sha256(data.subarray(0, offset)) }]);
    await peer.finish([0]);
    const sent = peer.file(0);
    expect(sent.start).toEqual({ id: 0, offset, size: data.byteLength });
    expect(sent.data.equals(data.subarray(offset))).toBe(true);
    expect(sent.sha256).toBe(sha256(data));
    expect(await log.waitFor('session-resumed')).toMatchObject({ files: 1, skippedBytes: offset });
    expect(await log.waitFor('session-complete')).toMatchObject({
      files: 1,
      bytes: data.byteLength - offset,
    });
    expect(log.all('request')).toMatchObject([{ files: 1, bytes: data.byteLength - offset }]);
    // Progress counts only the bytes really sent.
    expect(log.all('progress').reduce((sum, e) => sum + e.bytes, 0)).toBe(data.byteLength - offset);
    expect(log.all('file-restarted')).toEqual([]);
  });

  it.each([
    ['1 byte', 1],
    ['one DATA frame − 1', MiB - 1],
    ['exactly one DATA frame', MiB],
    ['one DATA frame + 1', MiB + 1],
    ['size − 1', 3 * MiB + 10],
  ])(
    'D3: a receiver holding %s gets exactly the rest (DATA frames are 1 MiB), byte for byte',
    async (_, offset) => {
      const { data, port } = await senderOfOne(3 * MiB + 11);
      const peer = await rawReceiver(port);
      await peer.until(FrameType.OFFER);
      peer.request([{ id: 0, offset, prefix: sha256(data.subarray(0, offset)) }]);
      await peer.finish([0]);
      const sent = peer.file(0);
      expect(sent.start).toEqual({ id: 0, offset, size: data.byteLength });
      expect(Buffer.concat([data.subarray(0, offset), sent.data]).equals(data)).toBe(true);
      expect(sent.sha256).toBe(sha256(data));
    },
  );

  it('D2: a file the receiver holds whole gets FILE_START at its size, no DATA, and FILE_END with its digest', async () => {
    const { data, port, log } = await senderOfOne(5000);
    const peer = await rawReceiver(port);
    await peer.until(FrameType.OFFER);
    peer.request([{ id: 0, offset: data.byteLength, prefix: sha256(data) }]);
    await peer.finish([0]);
    const sent = peer.file(0);
    expect(sent.start).toEqual({ id: 0, offset: data.byteLength, size: data.byteLength });
    expect(sent.dataFrames).toBe(0);
    expect(sent.sha256).toBe(sha256(data));
    expect(await log.waitFor('session-complete')).toMatchObject({ files: 1, bytes: 0 });
    expect(await log.waitFor('session-resumed')).toMatchObject({
      files: 1,
      skippedBytes: data.byteLength,
    });
  });

  it.each([
    ['D4: the source changed since the interrupted transfer (same size, other bytes)', 'changed'],
    ['D5: the receiver holds a forged or edited prefix', 'forged'],
  ])(
    '%s: the sender starts that file over from 0, the receiver gets the true content, and the sender serves on',
    async (_, how) => {
      const started = await senderOfOne(MiB + 100);
      const { data, port, log } = started;
      const offset = 700_000;
      const held = how === 'changed' ? randomBytes(offset) : Buffer.from(data.subarray(0, offset));
      if (how === 'forged') held[offset - 1]! ^= 1;
      const peer = await rawReceiver(port);
      await peer.until(FrameType.OFFER);
      peer.request([{ id: 0, offset, prefix: sha256(held) }]);
      await peer.finish([0]);
      const sent = peer.file(0);
      expect(sent.start).toEqual({ id: 0, offset: 0, size: data.byteLength });
      expect(sent.data.equals(data)).toBe(true);
      expect(sent.sha256).toBe(sha256(data));
      expect(await log.waitFor('file-restarted')).toMatchObject({
        path: 'f.bin',
        reason: 'changed',
      });
      expect(await log.waitFor('session-complete')).toMatchObject({
        files: 1,
        bytes: data.byteLength,
      });
      expect(log.all('session-resumed')).toEqual([]);
      const { out, result } = await receiveAll(port);
      expect(result.failed).toEqual([]);
      expect((await readFile(path.join(out, 'f.bin'))).equals(data)).toBe(true);
    },
  );

  it('D7: a REQUEST for an id that is not in the offer, with a prefix, is refused with ERR_UNKNOWN_FILE', async () => {
    const started = await senderOfOne(100);
    const peer = await rawReceiver(started.port);
    await peer.until(FrameType.OFFER);
    peer.request([{ id: 5, offset: 10, prefix: sha256(started.data.subarray(0, 10)) }]);
    await expectRefusedAndServing(started, peer, 'ERR_UNKNOWN_FILE');
  });

  it('D7: a REQUEST item naming a path beside its id is refused with ERR_BAD_MESSAGE: files are named by id only', async () => {
    const started = await senderOfOne(100);
    const peer = await rawReceiver(started.port);
    await peer.until(FrameType.OFFER);
    const json = JSON.stringify({ files: [{ id: 0, offset: 0, path: '../../etc/passwd' }] });
    peer.client.socket.write(concatFrame(FrameType.REQUEST, Buffer.from(json)));
    await expectRefusedAndServing(started, peer, 'ERR_BAD_MESSAGE');
  });

  it('D1: an offset past the end of the file, with a prefix, is refused with ERR_BAD_MESSAGE', async () => {
    const started = await senderOfOne(100);
    const peer = await rawReceiver(started.port);
    await peer.until(FrameType.OFFER);
    peer.request([{ id: 0, offset: 101, prefix: sha256(started.data) }]);
    await expectRefusedAndServing(started, peer, 'ERR_BAD_MESSAGE');
  });

  it('D1: a prefix from a receiver whose HELLO did not list resume is refused with ERR_BAD_MESSAGE', async () => {
    const started = await senderOfOne(100);
    const peer = await rawReceiver(started.port, []);
    await peer.until(FrameType.OFFER);
    peer.request([{ id: 0, offset: 10, prefix: sha256(started.data.subarray(0, 10)) }]);
    await expectRefusedAndServing(started, peer, 'ERR_BAD_MESSAGE');
  });

  it('D1: an offset past 0 without a prefix is refused with ERR_BAD_MESSAGE', async () => {
    const started = await senderOfOne(100);
    const peer = await rawReceiver(started.port);
    await peer.until(FrameType.OFFER);
    peer.request([{ id: 0, offset: 10 }]);
    await expectRefusedAndServing(started, peer, 'ERR_BAD_MESSAGE');
  });

  it('says that a receiver that lost the connection after its request can reconnect to resume', async () => {
    const { port, log, sender, dir } = await senderOfOne(64 * MiB);
    const io = fakeIo();
    renderSender(sender, await scanOffer([path.join(dir, 'f.bin')]), io, false);
    const peer = await rawReceiver(port);
    await peer.until(FrameType.OFFER);
    peer.request([{ id: 0, offset: 0 }]);
    await peer.until(FrameType.FILE_START);
    peer.client.socket.destroy();
    expect(await log.waitFor('session-failed')).toMatchObject({ resumable: true });
    const line = io.stdout.lines.find((text) => text.includes('lost the connection'));
    expect(line).toMatch(
      /^#1 127\.0\.0\.1:\d+ \(raw\) lost the connection; it can reconnect to resume\.$/,
    );
    expect(line!.length).toBeLessThanOrEqual(80);
  });

  it('shows a resumed session and a file sent whole again on one line each', async () => {
    const big = randomBytes(MiB + 5);
    const small = Buffer.from('the small file');
    const { port, log, sender, dir } = await startSender({ 'big.bin': big, 'small.txt': small });
    const io = fakeIo();
    const offer = await scanOffer([path.join(dir, 'big.bin'), path.join(dir, 'small.txt')]);
    renderSender(sender, offer, io, false);
    const id = (name: string) => offer.entries.findIndex((entry) => entry.path === name);
    const peer = await rawReceiver(port);
    await peer.until(FrameType.OFFER);
    peer.request([
      { id: id('big.bin'), offset: MiB, prefix: sha256(big.subarray(0, MiB)) },
      { id: id('small.txt'), offset: 3, prefix: sha256('xyz') },
    ]);
    await peer.finish([id('big.bin'), id('small.txt')]);
    expect(await log.waitFor('session-complete')).toMatchObject({
      files: 2,
      bytes: 5 + small.byteLength,
    });
    // Progress counts what now travels: the bytes past the matched prefix, and the whole restarted file.
    expect(io.stdout.lines).toContainEqual(expect.stringMatching(/ 100% 19 B of 19 B /));
    const lines = io.stdout.lines.filter((line) => line.startsWith('#1 ') && !line.includes('%'));
    expect(lines).toEqual([
      expect.stringMatching(/^#1 127\.0\.0\.1:\d+ \(raw\) connected$/),
      expect.stringMatching(/ is taking 2 files \(16 B\)$/),
      expect.stringMatching(
        / gets small\.txt whole, from its first byte: it changed since the interrupted transfer, or the receiver's part differs$/,
      ),
      expect.stringMatching(/ resumed: 1 file, 1\.00 MiB not sent again$/),
      expect.stringMatching(/ took 2 files \(19 B\) in /),
    ]);
  });

  it('F1: with once, a session cut short leaves the sender running for the receiver to come back; it stops after a complete one', async () => {
    const { port, log, sender, data } = await senderOfOne(64 * MiB, { once: true });
    const peer = await rawReceiver(port, []);
    await peer.until(FrameType.OFFER);
    peer.request([{ id: 0, offset: 0 }]);
    await peer.until(FrameType.FILE_START);
    peer.client.socket.destroy();
    expect(await log.waitFor('session-failed')).toMatchObject({ resumable: false });
    const { out, result } = await receiveAll(port);
    expect(result.failed).toEqual([]);
    expect((await readFile(path.join(out, 'f.bin'))).equals(data)).toBe(true);
    await within(sender.stopped, 'the sender to stop after the complete transfer');
  });
});

/**
 * A receiver's connection to the encrypting sender at `port` with `identity`: paired with
 * `code`, or proving `ticket` to the sender key `sender`. Once secured it says HELLO listing
 * resume and records what comes back.
 */
async function secureReceiver(
  port: number,
  identity: Identity,
  how: { code?: string; ticket?: string; sender: Uint8Array },
) {
  const tcp = net.connect({ host: '127.0.0.1', port });
  tcp.on('error', () => {});
  onCleanup('secure receiver', () => {
    tcp.destroy();
  });
  await once(tcp, 'connect');
  const deadline = new Deadline(WAIT_MS, tcp, 'the handshake');
  let outcome: Awaited<ReturnType<typeof secureClient>>;
  try {
    await exchangePreamble({ socket: tcp }, 'client', true, deadline);
    outcome = await secureClient(
      tcp,
      {
        identity,
        host: '127.0.0.1',
        password: how.code === undefined ? undefined : await derivePasswordScalar(how.code),
        expectFingerprint: how.sender,
        ticket: how.ticket === undefined ? undefined : Buffer.from(how.ticket, 'hex'),
      },
      deadline,
    );
  } finally {
    deadline.clear();
  }
  if (outcome.kind !== 'secured') return { outcome, socket: undefined, peer: undefined };
  const socket = outcome.secured.socket;
  socket.on('error', () => {});
  const peer = recorder(socket, false, [RESUME_FEATURE]);
  socket.resume();
  return { outcome, socket, peer };
}

describe('reconnection tickets of the sender (§13.4)', () => {
  it('gives the paired receiver a ticket, keeps it after a lost connection, lets the receiver back in with it without a code, and drops it on DONE', async () => {
    const senderIdentity = await loadOrCreateIdentity(await tempDir());
    const receiverIdentity = await loadOrCreateIdentity(await tempDir());
    const tickets = new TicketStore();
    const dir = await tempDir();
    const data = randomBytes(64 * MiB);
    await writeFile(path.join(dir, 'f.bin'), data);
    const { log, port } = await startSenderOffering([path.join(dir, 'f.bin')], {
      security: {
        encryption: true,
        identity: senderIdentity,
        pairing: new PairingCodes(derivePasswordScalar),
      },
      tickets,
    });
    const code = normalizeCode((await log.waitFor('code')).code)!;
    const sender = senderIdentity.fingerprint;

    const first = await secureReceiver(port, receiverIdentity, { code, sender });
    const offered = await first.peer!.until(FrameType.OFFER);
    expect(offered).toMatchObject({ resume: { ticket: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    const ticket = (offered as { resume: { ticket: string } }).resume.ticket;
    first.peer!.request([{ id: 0, offset: 0 }]);
    await first.peer!.until(FrameType.FILE_START);
    first.socket!.destroy();
    expect(await log.waitFor('session-failed')).toMatchObject({ client: 1, resumable: true });
    expect(tickets.size).toBe(1);

    // The same receiver comes back with its ticket: no code, the same ticket offered again.
    const second = await secureReceiver(port, receiverIdentity, { ticket, sender });
    expect(second.outcome).toMatchObject({
      kind: 'secured',
      secured: { peer: { method: 'resume' } },
    });
    expect(await log.waitFor('authenticated', 1)).toMatchObject({ client: 2, method: 'resume' });
    expect(await second.peer!.until(FrameType.OFFER)).toMatchObject({ resume: { ticket } });
    const held = data.byteLength - 1000;
    second.peer!.request([{ id: 0, offset: held, prefix: sha256(data.subarray(0, held)) }]);
    await second.peer!.finish([0]);
    expect(second.peer!.file(0).data.equals(data.subarray(held))).toBe(true);
    expect(await log.waitFor('session-resumed')).toMatchObject({
      client: 2,
      files: 1,
      skippedBytes: held,
    });
    expect(await log.waitFor('session-complete')).toMatchObject({
      client: 2,
      files: 1,
      bytes: 1000,
    });
    expect(tickets.size).toBe(0);

    // Its transfer is complete: the ticket lets nobody in any more.
    const third = await secureReceiver(port, receiverIdentity, { ticket, sender });
    expect(third.outcome.kind).toBe('code-needed');
  });
});

describe('the sender and the real receiver, cut mid-file (F1)', { timeout: 40_000 }, () => {
  it('F1: the receiver reconnects with its ticket, the sender checks the held prefix and sends only the rest; the file arrives intact', async () => {
    const senderIdentity = await loadOrCreateIdentity(await tempDir());
    const receiverIdentity = await loadOrCreateIdentity(await tempDir());
    const dir = await tempDir();
    const data = randomBytes(24 * MiB);
    await writeFile(path.join(dir, 'f.bin'), data);
    const { log, port } = await startSenderOffering([path.join(dir, 'f.bin')], {
      security: {
        encryption: true,
        identity: senderIdentity,
        pairing: new PairingCodes(derivePasswordScalar),
      },
    });
    const code = normalizeCode((await log.waitFor('code')).code)!;
    // The first connection is cut 10 MiB into the sender's bytes; the next one is not.
    const relay = await startCutRelay(port, [10 * MiB]);
    const out = await tempDir();
    const receiver = createReceiver({
      security: { encryption: true, identity: receiverIdentity, code, remember: false },
      host: '127.0.0.1',
      port: relay.port,
      name: 'bob',
      logger: silentLogger,
      retryMs: 20_000,
      backoff: { firstMs: 10, maxMs: 100 },
      decide: async (offer) => ({ items: offer.items.map((_, index) => index), outDir: out }),
    });
    const result = await within(
      receiver.run(),
      'the receiver to finish after reconnecting',
      () => JSON.stringify(log.all('session-failed')),
      30_000,
    );
    expect(result.failed).toEqual([]);
    expect((await readFile(path.join(out, 'f.bin'))).equals(data)).toBe(true);

    expect(await log.waitFor('session-failed')).toMatchObject({ client: 1, resumable: true });
    expect(await log.waitFor('authenticated', 1)).toMatchObject({ client: 2, method: 'resume' });
    const resumed = await log.waitFor('session-resumed');
    expect(resumed).toMatchObject({ client: 2, files: 1 });
    expect(resumed.skippedBytes).toBeGreaterThan(0);
    expect(await log.waitFor('session-complete')).toMatchObject({
      client: 2,
      files: 1,
      bytes: data.byteLength - resumed.skippedBytes,
    });
    // Only what the receiver had not written was sent again.
    expect(relay.connections).toHaveLength(2);
    expect(relay.connections[1]!.fromSender).toBeLessThan(
      data.byteLength - resumed.skippedBytes + MiB,
    );
    expect(log.all('file-restarted')).toEqual([]);
  });
});
