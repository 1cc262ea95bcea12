/**
 * The receiver against hostile or broken senders. Each regression test is named after its row
 * in HOSTILE-INPUTS.md and drives the receiver's real `main()` (or `createReceiver`) against a
 * scripted sender built from the protocol's own encoders.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, symlink } from 'node:fs/promises';
import path from 'node:path';
import { encodePreamble, FrameType, type OfferEntry } from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFerryError } from '../src/errors.ts';
import { EXIT } from '../src/main.ts';
import type { Prompter } from '../src/ui/prompts.ts';
import {
  clearReceiver,
  endSession,
  type FakePeer,
  FakeOutput,
  jsonEvents,
  listTree,
  runCleanup,
  runReceive,
  sendFile,
  sha256,
  startFakeSender,
  startServer,
  tempDir,
  within,
} from './helpers.ts';

afterEach(runCleanup);

/** A base folder holding an empty `out` folder, so a test can see writes beside `out` too. */
async function outFolder(): Promise<{ base: string; out: string }> {
  const base = await tempDir();
  const out = path.join(base, 'out');
  await mkdir(out);
  return { base, out };
}

/**
 * Runs `ferry-receive --yes` against a scripted sender into a fresh `out` folder, waits for the
 * script, and checks the exit code and everything left in and beside `out` (as `listTree` shows it).
 */
async function receiveExpecting(sender: { address: string; done(): Promise<void> }, code: number, tree: string[]) {
  const { base, out } = await outFolder();
  const run = await runReceive(['--yes', '--out', out, sender.address]);
  await sender.done();
  expect(run.code).toBe(code);
  expect(await listTree(base)).toEqual(tree);
  return { run, out };
}

const TWO_FILES: OfferEntry[] = [
  { kind: 'file', path: 'a.txt', size: 1 },
  { kind: 'file', path: 'b.txt', size: 1 },
];

/** Offers `entries` and waits for the REQUEST (with `--yes`, every file in offer order). */
async function offerAndRequest(peer: FakePeer, entries: OfferEntry[]) {
  await peer.offer(entries);
  return peer.expect(FrameType.REQUEST);
}

describe('receiver against a hostile sender: sizes and integrity (C)', () => {
  it('C2: DATA past the declared size fails the transfer with ERROR ERR_SIZE_MISMATCH; nothing is kept', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'd/x.txt', size: 5 }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      peer.data('123456');
    });
    const { base, out } = await outFolder();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    expect(run.code).toBe(EXIT.failure);
    await sender.done();
    expect((await sender.frames()).at(-1)).toEqual({ type: FrameType.ERROR, message: expect.objectContaining({ code: 'ERR_SIZE_MISMATCH' }) });
    // No final file, no .part, and the folder made for it is gone too (H9).
    expect(await listTree(base)).toEqual(['out/']);
  });

  it('E4: a file sent as one-byte DATA frames is saved whole and verified', async () => {
    const content = randomBytes(16 * 1024).toString('latin1');
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'tiny-frames.bin', size: content.length }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: content.length });
      const bytes = Buffer.from(content, 'latin1');
      for (let i = 0; i < bytes.byteLength; i++) peer.data(bytes.subarray(i, i + 1));
      peer.send(FrameType.FILE_END, { id: 0, sha256: createHash('sha256').update(bytes).digest('hex') });
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 0, ok: true });
      expect(await endSession(peer)).toEqual({ saved: 1, failed: 0 });
    });
    const { out } = await receiveExpecting(sender, EXIT.ok, ['out/', 'out/tiny-frames.bin']);
    expect((await readFile(path.join(out, 'tiny-frames.bin'))).equals(Buffer.from(content, 'latin1'))).toBe(true);
  });

  it('C2: an oversized last DATA frame after good ones still keeps nothing of the file', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'x.bin', size: 5 }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      peer.data('123');
      peer.data('456');
    });
    await receiveExpecting(sender, EXIT.failure, ['out/']);
  });

  it('C1: FILE_END after too few bytes: FILE_ACK ok:false ERR_SIZE_MISMATCH, file not saved, exit 1', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'x.txt', size: 5 }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      peer.data('abc');
      peer.send(FrameType.FILE_END, { id: 0, sha256: sha256('abc') });
      expect(await peer.expect(FrameType.FILE_ACK)).toEqual({ id: 0, ok: false, code: 'ERR_SIZE_MISMATCH' });
      expect(await endSession(peer)).toEqual({ saved: 0, failed: 1 });
    });
    await receiveExpecting(sender, EXIT.failure, ['out/']);
  });

  it('C1/A6: the connection closing mid-file fails the transfer; no .part is left', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'x.txt', size: 5 }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      peer.data('abc');
      peer.socket.end();
    });
    await receiveExpecting(sender, EXIT.failure, ['out/']);
  });

  it('C5: the right size with the wrong sha256: FILE_ACK ok:false ERR_DIGEST_MISMATCH, not saved, exit 1', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'x.txt', size: 5 }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      peer.data('hello');
      peer.send(FrameType.FILE_END, { id: 0, sha256: sha256('HELLO') });
      expect(await peer.expect(FrameType.FILE_ACK)).toEqual({ id: 0, ok: false, code: 'ERR_DIGEST_MISMATCH' });
      expect(await endSession(peer)).toEqual({ saved: 0, failed: 1 });
    });
    await receiveExpecting(sender, EXIT.failure, ['out/']);
  });

  it('C7: FILE_ABORT discards that file, acknowledges it with the abort code, and the next file is saved', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, TWO_FILES);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 1 });
      peer.send(FrameType.FILE_ABORT, { id: 0, code: 'ERR_SOURCE_CHANGED', message: 'it changed' });
      sendFile(peer, 1, 'b');
      expect(await peer.expect(FrameType.FILE_ACK)).toEqual({ id: 0, ok: false, code: 'ERR_SOURCE_CHANGED' });
      expect(await peer.expect(FrameType.FILE_ACK)).toEqual({ id: 1, ok: true, sha256: sha256('b') });
      expect(await endSession(peer)).toEqual({ saved: 1, failed: 1 });
    });
    await receiveExpecting(sender, EXIT.failure, ['out/', 'out/b.txt']);
  });

  it('C7: a file aborted after megabytes of data does not disturb the next, large file', async () => {
    const MiB = 1024 * 1024;
    const big = randomBytes(6 * MiB);
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [
        { kind: 'file', path: 'a.bin', size: 8 * MiB },
        { kind: 'file', path: 'b.bin', size: big.byteLength },
      ]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 8 * MiB });
      for (let i = 0; i < 5; i++) peer.data(randomBytes(MiB));
      peer.send(FrameType.FILE_ABORT, { id: 0, code: 'ERR_SOURCE_CHANGED', message: 'it changed' });
      peer.send(FrameType.FILE_START, { id: 1, offset: 0, size: big.byteLength });
      for (let at = 0; at < big.byteLength; at += MiB) peer.data(big.subarray(at, at + MiB));
      peer.send(FrameType.FILE_END, { id: 1, sha256: createHash('sha256').update(big).digest('hex') });
      expect(await peer.expect(FrameType.FILE_ACK)).toEqual({ id: 0, ok: false, code: 'ERR_SOURCE_CHANGED' });
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 1, ok: true });
      expect(await endSession(peer)).toEqual({ saved: 1, failed: 1 });
    });
    const { out } = await receiveExpecting(sender, EXIT.failure, ['out/', 'out/b.bin']);
    expect((await readFile(path.join(out, 'b.bin'))).equals(big)).toBe(true);
  });

  it('keeps files already acknowledged when the session fails later (PROTOCOL.md §5.3)', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, TWO_FILES);
      sendFile(peer, 0, 'a');
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 0, ok: true });
      peer.send(FrameType.FILE_START, { id: 1, offset: 0, size: 1 });
      peer.data('too long');
    });
    await receiveExpecting(sender, EXIT.failure, ['out/', 'out/a.txt']);
  });

  it('C3: an offer larger than the free space is refused with ERROR ERR_NO_SPACE before any REQUEST', async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([{ kind: 'file', path: 'huge.bin', size: 2 ** 52 }]);
    });
    const { base, out } = await outFolder();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    // Without a terminal, a folder without room is a usage problem (U3): exit 2, and a hint.
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('--out');
    const frames = await sender.frames();
    expect(frames.map((f) => f.type)).toEqual([FrameType.HELLO, FrameType.ERROR]);
    expect(frames[1]?.message).toMatchObject({ code: 'ERR_NO_SPACE' });
    // The sender never learns where the receiver saves (U3).
    expect(JSON.stringify(frames)).not.toContain(out);
    expect(await listTree(base)).toEqual(['out/']);
  });

  it('stops at once on an ERROR from the sender, without answering and without keeping the partial file', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'x.txt', size: 5 }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      peer.data('ab');
      peer.send(FrameType.ERROR, { code: 'ERR_INTERNAL', message: 'sender gave up' });
    });
    const { base, out } = await outFolder();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect((await sender.frames()).map((f) => f.type)).toEqual([FrameType.HELLO, FrameType.REQUEST]);
    expect(await listTree(base)).toEqual(['out/']);
  });
});

describe('receiver while the user decides', () => {
  it('F1: exits 1 when the sender goes away while the user is choosing', async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([{ kind: 'file', path: 'a.txt', size: 1 }]);
    });
    const { base, out } = await outFolder();
    let asked = false;
    const prompter: Prompter = {
      // The user is still looking at the list when the sender disappears.
      chooseItems: () => {
        asked = true;
        for (const socket of sender.sockets) socket.destroy();
        return new Promise(() => {});
      },
      chooseFolder: async () => out,
      askCode: async () => null,
    };
    const run = await runReceive([sender.address], { stdinTTY: true, prompter });
    await sender.done();
    expect(asked).toBe(true);
    expect(run.code).toBe(EXIT.failure);
    expect(await listTree(base)).toEqual(['out/']);
  });

  it('does not ask for a folder when --out is given', async () => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, TWO_FILES);
      sendFile(peer, 0, 'a');
      await peer.expect(FrameType.FILE_ACK);
      sendFile(peer, 1, 'b');
      await peer.expect(FrameType.FILE_ACK);
      await endSession(peer);
    });
    const { base, out } = await outFolder();
    const prompter: Prompter = {
      chooseItems: async (offer) => offer.items.map((_, index) => index),
      chooseFolder: () => Promise.reject(new Error('chooseFolder must not be called with --out')),
      askCode: async () => null,
    };
    const run = await runReceive(['--out', out, sender.address], { stdinTTY: true, prompter });
    await sender.done();
    expect(run.code).toBe(EXIT.ok);
    expect(await listTree(base)).toEqual(['out/', 'out/a.txt', 'out/b.txt']);
  });
});

describe('receiver against a hostile sender: frames out of place (A8, B21)', () => {
  it('B21/A8: FILE_START for an offered id that was not requested fails the transfer; nothing is finalised', async () => {
    const sender = await startFakeSender(async (peer) => {
      expect(await offerAndRequest(peer, TWO_FILES)).toEqual({ files: [{ id: 0, offset: 0 }] });
      sendFile(peer, 1, 'b');
    });
    const { base, out } = await outFolder();
    const prompter: Prompter = { chooseItems: async () => [0], chooseFolder: async () => out, askCode: async () => null };
    const run = await runReceive([sender.address], { stdinTTY: true, prompter });
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect((await sender.frames()).at(-1)).toEqual({ type: FrameType.ERROR, message: expect.objectContaining({ code: 'ERR_UNEXPECTED_FRAME' }) });
    expect(await listTree(base)).toEqual(['out/']);
  });

  it('E8: offer after offer on one connection: the user is asked once, and the second OFFER ends the session', async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer(TWO_FILES);
      for (let i = 0; i < 5; i++) {
        peer.send(FrameType.OFFER, { session: '0'.repeat(32), sender: { name: 'm', host: 'h' }, entries: TWO_FILES });
      }
    });
    const { base, out } = await outFolder();
    let asked = 0;
    const receiver = clearReceiver(sender.port, {
      decide: async () => {
        asked++;
        return { items: [0, 1], outDir: out };
      },
    });
    const error = await within(receiver.run(), 'the receiver').catch((e: unknown) => e);
    await sender.done();
    expect(error).toMatchObject({ code: 'ERR_UNEXPECTED_FRAME' });
    expect(asked).toBe(1);
    expect((await sender.frames()).at(-1)).toEqual({ type: FrameType.ERROR, message: expect.objectContaining({ code: 'ERR_UNEXPECTED_FRAME' }) });
    expect(await listTree(base)).toEqual(['out/']);
  });

  it.each([
    ['FILE_START, DATA, FILE_END and END', (peer: FakePeer) => {
      sendFile(peer, 0, 'a');
      peer.send(FrameType.END, {});
    }],
    ['DATA', (peer: FakePeer) => peer.data('a')],
    ['END', (peer: FakePeer) => peer.send(FrameType.END, {})],
  ])('K8: %s right after the OFFER, before any REQUEST, is refused with ERR_UNEXPECTED_FRAME while the user decides; nothing is saved', async (_, script) => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer(TWO_FILES);
      script(peer);
    });
    const { base, out } = await outFolder();
    const receiver = clearReceiver(sender.port, {
      // A user who has not answered yet: the choice ends only if the receiver stops asking.
      decide: (_offer, _sender, signal) =>
        new Promise((resolve) => signal.addEventListener('abort', () => resolve({ items: [0, 1], outDir: out })),
      ),
    });
    const error = await within(receiver.run(), 'the receiver').catch((e: unknown) => e);
    await sender.done();
    expect(error).toMatchObject({ code: 'ERR_UNEXPECTED_FRAME' });
    const frames = await sender.frames();
    expect(frames.map((frame) => frame.type)).not.toContain(FrameType.REQUEST);
    expect(frames.at(-1)).toEqual({ type: FrameType.ERROR, message: expect.objectContaining({ code: 'ERR_UNEXPECTED_FRAME' }) });
    expect(await listTree(base)).toEqual(['out/']);
  });

  it('U8: a receiver for Windows shows a:b.txt and CON.txt with the names it will use, and saves them under those names', async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([
        { kind: 'file', path: 'a:b.txt', size: 1 },
        { kind: 'file', path: 'CON.txt', size: 1 },
      ]);
      await peer.expect(FrameType.REQUEST);
      sendFile(peer, 0, 'a');
      sendFile(peer, 1, 'c');
      await peer.expect(FrameType.FILE_ACK);
      await peer.expect(FrameType.FILE_ACK);
      await endSession(peer);
    });
    const { base, out } = await outFolder();
    const receiver = clearReceiver(sender.port, {
      platform: 'win32',
      decide: async () => ({ items: [0, 1], outDir: out }),
    });
    const offers: unknown[] = [];
    receiver.on('offer', ({ renamed }) => offers.push(renamed));
    await within(receiver.run(), 'the receiver');
    await sender.done();
    expect(offers).toEqual([
      [
        { offered: 'a:b.txt', local: 'a_b.txt' },
        { offered: 'CON.txt', local: 'CON_.txt' },
      ],
    ]);
    expect(await listTree(base)).toEqual(['out/', 'out/CON_.txt', 'out/a_b.txt']);
  });

  const OUT_OF_PLACE: [string, (peer: FakePeer) => void][] = [
    ['FILE_START for an id not in the offer', (peer) => sendFile(peer, 9, 'x')],
    ['DATA before any FILE_START', (peer) => peer.data('a')],
    ['FILE_END before any FILE_START', (peer) => peer.send(FrameType.FILE_END, { id: 0, sha256: sha256('a') })],
    ['FILE_START out of request order', (peer) => sendFile(peer, 1, 'b')],
    ['FILE_START with another size than offered', (peer) => sendFile(peer, 0, 'aa')],
    ['FILE_START with a non-zero offset', (peer) => peer.send(FrameType.FILE_START, { id: 0, offset: 1, size: 1 })],
    [
      'FILE_END for another id than the open file',
      (peer) => {
        peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 1 });
        peer.data('a');
        peer.send(FrameType.FILE_END, { id: 1, sha256: sha256('a') });
      },
    ],
    [
      'FILE_START before the open file ended',
      (peer) => {
        peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 1 });
        peer.data('a');
        sendFile(peer, 1, 'b');
      },
    ],
    [
      'a second OFFER mid-file',
      (peer) => {
        peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 1 });
        peer.send(FrameType.OFFER, { session: '0'.repeat(32), sender: { name: 'm', host: 'h' }, entries: [] });
      },
    ],
    ['END before every requested file was sent', (peer) => peer.send(FrameType.END, {})],
  ];

  it.each(OUT_OF_PLACE)('A8: %s fails the transfer with ERR_UNEXPECTED_FRAME; nothing is kept', async (_, misbehave) => {
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, TWO_FILES);
      misbehave(peer);
    });
    const { base, out } = await outFolder();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect((await sender.frames()).at(-1)).toEqual({ type: FrameType.ERROR, message: expect.objectContaining({ code: 'ERR_UNEXPECTED_FRAME' }) });
    expect(await listTree(base)).toEqual(['out/']);
  });
});

describe('receiver against something that is not a Ferry sender (A13, F8)', () => {
  /** A server that answers like a web server and records every byte it receives. */
  async function httpServer() {
    const received: Buffer[] = [];
    let resolveClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      resolveClosed = resolve;
    });
    const server = await startServer((socket) => {
      socket.on('close', () => resolveClosed());
      socket.once('data', () => socket.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
      socket.on('data', (chunk: Buffer) => received.push(chunk));
    });
    const all = async () => {
      await within(closed, 'the receiver to close');
      return Buffer.concat(received);
    };
    return { ...server, received: all };
  }

  it('A13: rejects an HTTP server with NotFerryError (ERR_BAD_MAGIC)', async () => {
    const server = await httpServer();
    const { out } = await outFolder();
    const receiver = clearReceiver(server.port, {
      decide: async () => ({ items: [0], outDir: out }),
    });
    const error = await within(receiver.run(), 'the receiver').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFerryError);
    expect(error).toMatchObject({ code: 'ERR_BAD_MAGIC' });
  });

  it('A13: main exits 1 against an HTTP server, with a JSON error event ERR_BAD_MAGIC', async () => {
    const server = await httpServer();
    const { base, out } = await outFolder();
    const run = await runReceive(['--json', '--yes', '--out', out, server.address]);
    expect(run.code).toBe(EXIT.failure);
    expect(jsonEvents(run.stdout).at(-1)).toMatchObject({ event: 'error', code: 'ERR_BAD_MAGIC' });
    expect(await listTree(base)).toEqual(['out/']);
  });

  it('A13: sends a server that is not Ferry nothing but its own preamble (PROTOCOL.md §2: no ERROR frame)', async () => {
    const server = await httpServer();
    const { out } = await outFolder();
    await runReceive(['--yes', '--out', out, server.address]);
    expect((await server.received()).toString('hex')).toBe(Buffer.from(encodePreamble()).toString('hex'));
  });

  it('refuses a sender speaking another protocol version with ERR_UNSUPPORTED_VERSION', async () => {
    const server = await startServer((socket) => {
      socket.write(encodePreamble(2));
    });
    const { out } = await outFolder();
    const run = await runReceive(['--json', '--yes', '--out', out, server.address]);
    expect(run.code).toBe(EXIT.failure);
    expect(jsonEvents(run.stdout).at(-1)).toMatchObject({ event: 'error', code: 'ERR_UNSUPPORTED_VERSION' });
  });
});

describe('receiver against a hostile offer (B)', () => {
  it('B1: an OFFER with ../escape is refused whole with ERROR ERR_UNSAFE_OFFER; nothing is written in or beside the folder', async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([{ kind: 'file', path: 'fine.txt', size: 1 }, { kind: 'file', path: '../escape', size: 1 }]);
    });
    const { base, out } = await outFolder();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    const frames = await sender.frames();
    expect(frames.map((f) => f.type)).toEqual([FrameType.HELLO, FrameType.ERROR]);
    expect(frames[1]?.message).toMatchObject({ code: 'ERR_UNSAFE_OFFER' });
    expect(await listTree(base)).toEqual(['out/']);
  });

  it.each<[string, OfferEntry[]]>([
    ['B1 a/../../x', [{ kind: 'file', path: 'a/../../x', size: 1 }]],
    ['B1 a bare ..', [{ kind: 'dir', path: '..' }]],
    ['B2 /etc/x', [{ kind: 'file', path: '/etc/x', size: 1 }]],
    ['B2 C:\\x', [{ kind: 'file', path: 'C:\\x', size: 1 }]],
    ['B2 //?/X:/y', [{ kind: 'file', path: '//?/X:/y', size: 1 }]],
    ['B3 ..\\..\\x', [{ kind: 'file', path: '..\\..\\x', size: 1 }]],
    ['B4 a NUL byte', [{ kind: 'file', path: 'a\u0000.txt', size: 1 }]],
    ['B5 a bidi override', [{ kind: 'file', path: 'invoice\u202etxt.exe', size: 1 }]],
    ['U8 a newline', [{ kind: 'file', path: 'line\nbreak.txt', size: 1 }]],
    ['U8 a:b.txt beside a_b.txt is fine, but A.txt beside a.txt collides', [{ kind: 'file', path: 'A.txt', size: 1 }, { kind: 'file', path: 'a.txt', size: 1 }]],
    ['B8 NFC and NFD', [{ kind: 'file', path: 'caf\u00e9', size: 1 }, { kind: 'file', path: 'cafe\u0301', size: 1 }]],
    ['B9 README and readme', [{ kind: 'file', path: 'README', size: 1 }, { kind: 'file', path: 'readme', size: 1 }]],
    ['B10 ./dup', [{ kind: 'file', path: 'dup', size: 1 }, { kind: 'file', path: './dup', size: 1 }]],
    ['B10 a//b', [{ kind: 'file', path: 'a//b', size: 1 }]],
    ['B11 a file that is also a folder', [{ kind: 'file', path: 'parent', size: 1 }, { kind: 'file', path: 'parent/child', size: 1 }]],
    ['B12 an empty name', [{ kind: 'file', path: '', size: 1 }]],
    ['B12 .', [{ kind: 'dir', path: '.' }]],
    ['C4 sizes that add up past 2^53-1', [{ kind: 'file', path: 'a', size: Number.MAX_SAFE_INTEGER }, { kind: 'file', path: 'b', size: 1 }]],
  ])('%s: the whole offer is refused with ERR_UNSAFE_OFFER and nothing is written', async (_, entries) => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer(entries);
    });
    const { base, out } = await outFolder();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect((await sender.frames()).at(-1)).toEqual({ type: FrameType.ERROR, message: expect.objectContaining({ code: 'ERR_UNSAFE_OFFER' }) });
    expect(await listTree(base)).toEqual(['out/']);
  });

  it('B19: with --verbose, the offer listing shows every one of 300 names, with sizes, before the user decides', async () => {
    const entries = Array.from({ length: 300 }, (_, i) => ({ kind: 'file' as const, path: `file-${String(i).padStart(3, '0')}.txt`, size: i }));
    const sender = await startFakeSender(async (peer) => {
      await peer.offer(entries);
    });
    const { out } = await outFolder();
    const stdout = new FakeOutput();
    const listed = (text: string) => entries.filter((e) => text.split('\n').includes(`  ${e.path}  ${e.size} B`)).length;
    let listedWhenAsked = -1;
    const prompter: Prompter = {
      chooseItems: async () => {
        listedWhenAsked = listed(stdout.text);
        return [];
      },
      chooseFolder: async () => out,
      askCode: async () => null,
    };
    // A long offer is summarised; --verbose lists every name (U7).
    const run = await runReceive(['--verbose', sender.address], { stdinTTY: true, prompter, stdout });
    await sender.done();
    expect(run.code).toBe(EXIT.ok);
    expect(listedWhenAsked).toBe(entries.length);
  });

  it('B19/B5: an offer with an escape sequence in a name is refused whole, and no raw ESC reaches the output', async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([{ kind: 'file', path: 'ok.txt', size: 1 }, { kind: 'file', path: 'evil\u001b[2J.txt', size: 1 }]);
    });
    const { base, out } = await outFolder();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect((await sender.frames()).at(-1)?.message).toMatchObject({ code: 'ERR_UNSAFE_OFFER' });
    expect(run.stdout.text + run.stderr.text).not.toContain('\u001b');
    expect(await listTree(base)).toEqual(['out/']);
  });

  it('§6.5: escapes control and bidi characters in the sender name and host, in text and in --json', async () => {
    const hostile = { name: 'eve\u001b[2J\u202e', host: 'host\r\u009b' };
    for (const json of [false, true]) {
      const sender = await startFakeSender(async (peer) => {
        await peer.offer([{ kind: 'file', path: 'a.txt', size: 1 }], hostile);
        await peer.expect(FrameType.REQUEST);
        sendFile(peer, 0, 'a');
        await peer.expect(FrameType.FILE_ACK);
        await endSession(peer);
      });
      const { out } = await outFolder();
      const run = await runReceive([...(json ? ['--json'] : []), '--yes', '--out', out, sender.address]);
      await sender.done();
      expect(run.code).toBe(EXIT.ok);
      const printed = run.stdout.text + run.stderr.text;
      for (const raw of ['\u001b', '\u202e', '\r', '\u009b']) expect(printed).not.toContain(raw);
      if (!json) expect(run.stdout.text).toContain('eve\\x1b[2J');
    }
  });

  it('§6.5: escapes a control sequence in the message of a peer ERROR', async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      peer.send(FrameType.ERROR, { code: 'ERR_INTERNAL', message: 'boom\u001b]0;pwned\u0007\u001b[2J' });
    });
    const { out } = await outFolder();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr.text).toContain('boom');
    expect(run.stderr.text + run.stdout.text).not.toMatch(/[\u0007\u001b]/);
  });
});

describe('receiver against a changing destination (H4)', () => {
  it('H4: a created folder swapped for a symlink mid-transfer: nothing is left in the link target, exit 1', async () => {
    const { base, out } = await outFolder();
    // A folder others can write in: only there can someone else swap a folder (H4).
    await chmod(out, 0o777);
    const elsewhere = await tempDir();
    const sender = await startFakeSender(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'dir', path: 'd' }, { kind: 'file', path: 'd/a.txt', size: 1 }]);
      // The receiver made out/d before its REQUEST; swap it for a link out of the destination.
      await rename(path.join(out, 'd'), path.join(base, 'moved'));
      await symlink(elsewhere, path.join(out, 'd'));
      sendFile(peer, 1, 'a');
      const answer = await peer.next();
      expect(answer).toMatchObject({ message: { code: 'ERR_WRITE_FAILED' } });
      expect([FrameType.FILE_ACK, FrameType.ERROR]).toContain(answer?.type);
      if (answer?.type === FrameType.FILE_ACK) {
        await endSession(peer);
      }
    });
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect(await listTree(elsewhere)).toEqual([]);
    expect(await listTree(path.join(base, 'moved'))).toEqual([]);
  });
});
