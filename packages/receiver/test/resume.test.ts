/**
 * Resuming from the partial data a transfer left in the destination (PROTOCOL.md §13, §11.4
 * D1-D9), against a scripted sender that honours REQUEST prefixes the way §13 says.
 */
import { randomBytes } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { inspect } from 'node:util';
import { PartialStore, writeResumeState } from '@ferry/engine';
import {
  ErrorCode,
  FrameType,
  type OfferEntry,
  RESUME_FEATURE,
  type RequestItem,
} from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/main.ts';
import type { ReceiverEvents } from '../src/receiver.ts';
import {
  clearReceiver,
  EventLog,
  endSession,
  type FakePeer,
  listTree,
  runCleanup,
  runReceive,
  sha256,
  startFakeSender,
  tempDir,
} from './helpers.ts';

afterEach(runCleanup);

const SESSION = '00112233445566778899aabbccddeeff';
const SENDER = { name: 'alice', host: 'laptop' };
/** DATA payload the scripted sender sends at most per frame. */
const FRAME = 64 * 1024;

/** HELLO (which must list resume), then an OFFER of `entries` that carries `resume`. */
async function offerResumable(peer: FakePeer, entries: OfferEntry[]): Promise<void> {
  const hello = await peer.expect(FrameType.HELLO);
  expect(hello.features).toEqual([RESUME_FEATURE]);
  peer.send(FrameType.OFFER, { session: SESSION, sender: SENDER, entries, resume: { ticket: '' } });
}

/** Sends `content` from `offset` in DATA frames of at most FRAME bytes. */
function sendData(peer: FakePeer, content: Buffer, offset: number, until = content.length): void {
  for (let at = offset; at < until; at += FRAME)
    peer.data(content.subarray(at, Math.min(at + FRAME, until)));
}

/**
 * A sender that honours prefixes: for each requested file it checks the prefix against its own
 * bytes, and sends the rest (equal) or the whole file from 0 (different). Returns the REQUEST.
 */
async function honestSender(files: Record<string, Buffer>) {
  const entries: OfferEntry[] = Object.entries(files).map(([p, content]) => ({
    kind: 'file',
    path: p,
    size: content.length,
  }));
  const contents = Object.values(files);
  let request: RequestItem[] = [];
  const sender = await startFakeSender(async (peer) => {
    await offerResumable(peer, entries);
    request = (await peer.expect(FrameType.REQUEST)).files;
    for (const item of request) {
      const content = contents[item.id]!;
      const proven = 'prefix' in item && item.prefix === sha256(content.subarray(0, item.offset));
      const from = proven ? item.offset : 0;
      peer.send(FrameType.FILE_START, { id: item.id, offset: from, size: content.length });
      sendData(peer, content, from);
      peer.send(FrameType.FILE_END, { id: item.id, sha256: sha256(content) });
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: item.id, ok: true });
    }
    await endSession(peer);
  });
  return { ...sender, request: () => request };
}

/**
 * File 0 resumed from byte 1000 (FILE_START), bytes 1000 to 2000 of `content`, then FILE_ABORT
 * with `code`: resolves with the receiver's FILE_ACK.
 */
async function abortMidFile(peer: FakePeer, content: Buffer, code: string) {
  peer.send(FrameType.FILE_START, { id: 0, offset: 1000, size: content.length });
  sendData(peer, content, 1000, 2000);
  peer.send(FrameType.FILE_ABORT, { id: 0, code, message: 'the file cannot be sent' });
  return peer.expect(FrameType.FILE_ACK);
}

/** A destination holding a partial folder of SENDER with `parts` (local path → bytes held). */
async function heldPartials(parts: Record<string, Buffer | string>) {
  const out = await realpath(await tempDir());
  const store = await PartialStore.create(out);
  // Left as an interrupted run leaves it: its lock given up.
  await store.release();
  await writeResumeState(store.dir, {
    version: 1,
    root: out,
    sender: { key: '', ...SENDER },
    session: SESSION,
    created: new Date().toISOString(),
    tops: [],
  });
  for (const [local, bytes] of Object.entries(parts))
    await writeFile(store.pathOf(local), bytes, { mode: 0o600 });
  return { out, store };
}

/** The partial folders in `out` and what they hold. */
async function partialFolders(out: string): Promise<string[]> {
  return (await readdir(out)).filter((name) => name.startsWith('.ferry-partial-'));
}

describe('resuming a transfer from the partial data on disk', () => {
  it('D9: a cut with DATA in flight keeps the partial folder (state.json and .part only, nothing under a final name); the rerun resumes from its length', async () => {
    const content = randomBytes(8 * FRAME + 123);
    const cut = await startFakeSender(async (peer) => {
      await offerResumable(peer, [{ kind: 'file', path: 'big.bin', size: content.length }]);
      expect((await peer.expect(FrameType.REQUEST)).files).toEqual([{ id: 0, offset: 0 }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: content.length });
      sendData(peer, content, 0, 5 * FRAME + 17);
      peer.socket.destroy();
    });
    const out = await realpath(await tempDir());
    // --retry 0: the receiver stops at the cut, as if it had been stopped, and is run again.
    expect((await runReceive(['--retry', '0', '--yes', '--out', out, cut.address])).code).toBe(
      EXIT.failure,
    );
    await cut.done();
    const [folder, ...others] = await partialFolders(out);
    expect(others).toEqual([]);
    const tree = await listTree(out);
    // Only the partial folder: its record and at most one partial file.
    expect(tree.filter((name) => !name.startsWith(`${folder}/`))).toEqual([]);
    const inside = await readdir(path.join(out, folder!));
    expect(
      inside
        .filter((name) => name !== 'state.json')
        .every((name) => /^[0-9a-f]{32}\.part$/.test(name)),
    ).toBe(true);
    expect(inside).toContain('state.json');
    const part = inside.find((name) => name.endsWith('.part'));
    const held = part ? await readFile(path.join(out, folder!, part)) : Buffer.alloc(0);
    // What is on disk is contiguous from byte 0: never more than arrived, never a gap.
    expect(held.length).toBeLessThanOrEqual(5 * FRAME + 17);
    expect(held.equals(content.subarray(0, held.length))).toBe(true);

    const rerun = await honestSender({ 'big.bin': content });
    expect((await runReceive(['--yes', '--out', out, rerun.address])).code).toBe(EXIT.ok);
    await rerun.done();
    expect(rerun.request()).toEqual([
      held.length > 0 ? { id: 0, offset: held.length, prefix: sha256(held) } : { id: 0, offset: 0 },
    ]);
    expect((await readFile(path.join(out, 'big.bin'))).equals(content)).toBe(true);
    expect(await listTree(out)).toEqual(['big.bin']);
  });

  const SIZE = 3 * FRAME + 7;
  for (const held of [0, 1, SIZE - 1, FRAME, FRAME - 1, FRAME + 1]) {
    it(`D3: a partial of ${held} bytes (of ${SIZE}) resumes from there and the file is byte-identical`, async () => {
      const content = randomBytes(SIZE);
      const { out } = await heldPartials({ 'f.bin': content.subarray(0, held) });
      const sender = await honestSender({ 'f.bin': content });
      expect((await runReceive(['--yes', '--out', out, sender.address])).code).toBe(EXIT.ok);
      await sender.done();
      expect(sender.request()).toEqual([
        held > 0
          ? { id: 0, offset: held, prefix: sha256(content.subarray(0, held)) }
          : { id: 0, offset: 0 },
      ]);
      expect((await readFile(path.join(out, 'f.bin'))).equals(content)).toBe(true);
      expect(await listTree(out)).toEqual(['f.bin']);
    });
  }

  it('D1: a partial longer than the file is dropped; the file is asked for from 0 and arrives whole', async () => {
    const content = randomBytes(1000);
    const { out } = await heldPartials({ 'f.bin': randomBytes(1001) });
    const sender = await honestSender({ 'f.bin': content });
    expect((await runReceive(['--yes', '--out', out, sender.address])).code).toBe(EXIT.ok);
    await sender.done();
    expect(sender.request()).toEqual([{ id: 0, offset: 0 }]);
    expect((await readFile(path.join(out, 'f.bin'))).equals(content)).toBe(true);
    expect(await listTree(out)).toEqual(['f.bin']);
  });

  it('D2: a partial holding the whole file is asked for at offset = size; with no DATA it is verified and saved', async () => {
    const content = randomBytes(5000);
    const { out } = await heldPartials({ 'f.bin': content });
    const sender = await startFakeSender(async (peer) => {
      await offerResumable(peer, [{ kind: 'file', path: 'f.bin', size: content.length }]);
      expect((await peer.expect(FrameType.REQUEST)).files).toEqual([
        { id: 0, offset: 5000, prefix: sha256(content) },
      ]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 5000, size: 5000 });
      peer.send(FrameType.FILE_END, { id: 0, sha256: sha256(content) });
      expect(await peer.expect(FrameType.FILE_ACK)).toEqual({
        id: 0,
        ok: true,
        sha256: sha256(content),
      });
      expect(await endSession(peer)).toEqual({ saved: 1, failed: 0 });
    });
    expect((await runReceive(['--yes', '--out', out, sender.address])).code).toBe(EXIT.ok);
    await sender.done();
    expect((await readFile(path.join(out, 'f.bin'))).equals(content)).toBe(true);
    expect(await listTree(out)).toEqual(['f.bin']);
  });

  it('D2: a file already there whole is confirmed by its digest: nothing is written, the file is untouched', async () => {
    const out = await realpath(await tempDir());
    await writeFile(path.join(out, 'x.txt'), 'same bytes');
    const before = await stat(path.join(out, 'x.txt'));
    const sender = await honestSender({ 'x.txt': Buffer.from('same bytes') });
    const run = await runReceive(['--json', '--yes', '--out', out, sender.address]);
    expect(run.code).toBe(EXIT.ok);
    await sender.done();
    expect(sender.request()).toEqual([{ id: 0, offset: 10, prefix: sha256('same bytes') }]);
    expect(await listTree(out)).toEqual(['x.txt']);
    expect((await stat(path.join(out, 'x.txt'))).mtimeMs).toBe(before.mtimeMs);
  });

  it("D5: an edited partial does not match the sender's prefix: the file starts over from 0 and arrives as the sender has it", async () => {
    const content = randomBytes(4 * FRAME);
    const edited = Buffer.from(content.subarray(0, 2 * FRAME));
    edited[100] = (edited[100]! + 1) % 256;
    const { out } = await heldPartials({ 'f.bin': edited });
    const sender = await honestSender({ 'f.bin': content });
    expect((await runReceive(['--yes', '--out', out, sender.address])).code).toBe(EXIT.ok);
    await sender.done();
    expect(sender.request()).toEqual([{ id: 0, offset: 2 * FRAME, prefix: sha256(edited) }]);
    expect((await readFile(path.join(out, 'f.bin'))).equals(content)).toBe(true);
    expect(await listTree(out)).toEqual(['f.bin']);
  });

  it('D5: a partial replaced by a symlink is left alone: the file starts over, nothing is written through the link', async () => {
    const content = randomBytes(3000);
    const { out, store } = await heldPartials({});
    const victim = path.join(await tempDir(), 'victim');
    await writeFile(victim, content.subarray(0, 1000));
    await symlink(victim, store.pathOf('f.bin'));
    const sender = await honestSender({ 'f.bin': content });
    expect((await runReceive(['--yes', '--out', out, sender.address])).code).toBe(EXIT.ok);
    await sender.done();
    expect(sender.request()).toEqual([{ id: 0, offset: 0 }]);
    expect((await readFile(path.join(out, 'f.bin'))).equals(content)).toBe(true);
    expect((await readFile(victim)).equals(content.subarray(0, 1000))).toBe(true);
  });

  it('D5: a partial replaced by a hard link to another file is refused: the file starts over, the other file is untouched', async () => {
    const content = randomBytes(3000);
    const { out, store } = await heldPartials({});
    const other = path.join(await tempDir(), 'other');
    await writeFile(other, content.subarray(0, 1000));
    await link(other, store.pathOf('f.bin'));
    const sender = await honestSender({ 'f.bin': content });
    expect((await runReceive(['--yes', '--out', out, sender.address])).code).toBe(EXIT.ok);
    await sender.done();
    expect(sender.request()).toEqual([{ id: 0, offset: 0 }]);
    expect((await readFile(path.join(out, 'f.bin'))).equals(content)).toBe(true);
    expect((await readFile(other)).equals(content.subarray(0, 1000))).toBe(true);
    expect((await lstat(other)).nlink).toBe(1);
  });

  it('D8: fewer files offered on the rerun: the files finished before stay, the rest resumes into the same folder', async () => {
    const a = randomBytes(2000);
    const b = randomBytes(6 * FRAME);
    const cut = await startFakeSender(async (peer) => {
      await offerResumable(peer, [
        { kind: 'file', path: 'docs/a.bin', size: a.length },
        { kind: 'file', path: 'docs/b.bin', size: b.length },
      ]);
      await peer.expect(FrameType.REQUEST);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: a.length });
      peer.data(a);
      peer.send(FrameType.FILE_END, { id: 0, sha256: sha256(a) });
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 0, ok: true });
      peer.send(FrameType.FILE_START, { id: 1, offset: 0, size: b.length });
      sendData(peer, b, 0, 3 * FRAME);
      peer.socket.destroy();
    });
    const out = await realpath(await tempDir());
    // --retry 0: the receiver stops at the cut, as if it had been stopped, and is run again.
    expect((await runReceive(['--retry', '0', '--yes', '--out', out, cut.address])).code).toBe(
      EXIT.failure,
    );
    await cut.done();
    expect((await readFile(path.join(out, 'docs/a.bin'))).equals(a)).toBe(true);

    const rerun = await honestSender({ 'docs/b.bin': b });
    expect((await runReceive(['--yes', '--out', out, rerun.address])).code).toBe(EXIT.ok);
    await rerun.done();
    expect((await readFile(path.join(out, 'docs/a.bin'))).equals(a)).toBe(true);
    expect((await readFile(path.join(out, 'docs/b.bin'))).equals(b)).toBe(true);
    expect(await listTree(out)).toEqual(['docs/', 'docs/a.bin', 'docs/b.bin']);
  });

  it('FILE_START at an offset neither asked for nor 0 is refused with ERR_UNEXPECTED_FRAME; the partial folder is kept', async () => {
    const content = randomBytes(3000);
    const { out, store } = await heldPartials({ 'f.bin': content.subarray(0, 1000) });
    const sender = await startFakeSender(async (peer) => {
      await offerResumable(peer, [{ kind: 'file', path: 'f.bin', size: content.length }]);
      expect((await peer.expect(FrameType.REQUEST)).files).toEqual([
        { id: 0, offset: 1000, prefix: sha256(content.subarray(0, 1000)) },
      ]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 999, size: content.length });
      expect(await peer.next()).toEqual({
        type: FrameType.ERROR,
        message: expect.objectContaining({ code: ErrorCode.UNEXPECTED_FRAME }),
      });
    });
    expect((await runReceive(['--yes', '--out', out, sender.address])).code).toBe(EXIT.failure);
    await sender.done();
    expect((await readFile(store.pathOf('f.bin'))).equals(content.subarray(0, 1000))).toBe(true);
  });

  it('D2: FILE_ABORT ERR_SOURCE_UNREADABLE keeps what is held of the file and what arrived, to resume from; the next run goes on from there', async () => {
    const content = randomBytes(3000);
    const other = Buffer.from('abc');
    const { out, store } = await heldPartials({ 'f.bin': content.subarray(0, 1000) });
    const sender = await startFakeSender(async (peer) => {
      await offerResumable(peer, [
        { kind: 'file', path: 'f.bin', size: content.length },
        { kind: 'file', path: 'g.bin', size: other.length },
      ]);
      expect((await peer.expect(FrameType.REQUEST)).files).toEqual([
        { id: 0, offset: 1000, prefix: sha256(content.subarray(0, 1000)) },
        { id: 1, offset: 0 },
      ]);
      expect(await abortMidFile(peer, content, ErrorCode.SOURCE_UNREADABLE)).toEqual({
        id: 0,
        ok: false,
        code: ErrorCode.SOURCE_UNREADABLE,
      });
      peer.send(FrameType.FILE_START, { id: 1, offset: 0, size: other.length });
      peer.data(other);
      peer.send(FrameType.FILE_END, { id: 1, sha256: sha256(other) });
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 1, ok: true });
      await endSession(peer);
    });
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect(run.stdout.text).toContain('1 file partly received is kept in');
    expect(await readFile(path.join(out, 'g.bin'), 'utf8')).toBe('abc');
    expect((await readFile(store.pathOf('f.bin'))).equals(content.subarray(0, 2000))).toBe(true);

    const rerun = await honestSender({ 'f.bin': content, 'g.bin': other });
    expect((await runReceive(['--yes', '--out', out, rerun.address])).code).toBe(EXIT.ok);
    await rerun.done();
    expect(rerun.request()).toEqual([
      { id: 0, offset: 2000, prefix: sha256(content.subarray(0, 2000)) },
      { id: 1, offset: 3, prefix: sha256(other) },
    ]);
    expect((await readFile(path.join(out, 'f.bin'))).equals(content)).toBe(true);
    expect(await partialFolders(out)).toEqual([]);
  });

  it('FILE_ABORT with another code deletes what is held of the file; the partial folder goes with the transfer', async () => {
    const content = randomBytes(3000);
    const { out } = await heldPartials({ 'f.bin': content.subarray(0, 1000) });
    const sender = await startFakeSender(async (peer) => {
      await offerResumable(peer, [{ kind: 'file', path: 'f.bin', size: content.length }]);
      await peer.expect(FrameType.REQUEST);
      expect(await abortMidFile(peer, content, ErrorCode.SOURCE_CHANGED)).toMatchObject({
        id: 0,
        ok: false,
      });
      await endSession(peer);
    });
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect(run.stdout.text).not.toContain('partly received is kept');
    expect(await listTree(out)).toEqual([]);
  });

  it('an OFFER without resume is answered with offsets 0 only, and a cut keeps nothing, as before', async () => {
    const { out } = await heldPartials({ 'f.bin': 'held' });
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([{ kind: 'file', path: 'f.bin', size: 10 }], SENDER);
      expect((await peer.expect(FrameType.REQUEST)).files).toEqual([{ id: 0, offset: 0 }]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 10 });
      peer.data('01234');
      peer.socket.destroy();
    });
    expect((await runReceive(['--yes', '--out', out, sender.address])).code).toBe(EXIT.failure);
    await sender.done();
    // The partial folder of the earlier transfer is not this run's: it stays as it was.
    const folders = await partialFolders(out);
    expect(folders).toHaveLength(1);
    expect((await listTree(out)).filter((name) => !name.startsWith('.ferry-partial-'))).toEqual([]);
  });

  /** The receiver core, accepting everything into `out`, with `resume` as the user's answer. */
  function receiverInto(port: number, out: string, resume?: boolean) {
    const receiver = clearReceiver(port, {
      // A cut stops the transfer (no reconnect), as a receiver that was stopped.
      retryMs: 0,
      decide: async (_offer, _sender, _signal, inspect) => ({
        items: [0],
        outDir: out,
        inspection: await inspect([0], out),
        resume,
      }),
    });
    const names = [
      'resume-found',
      'start',
      'file-present',
      'file-restarted',
      'file-saved',
      'partial-kept',
    ] as const;
    return { receiver, log: new EventLog<ReceiverEvents>(receiver, names) };
  }

  it('tells resume-found before REQUEST, then start with the bytes not sent again, file-restarted and partial-kept', async () => {
    const content = randomBytes(4 * FRAME);
    const { out, store } = await heldPartials({ 'f.bin': Buffer.alloc(FRAME, 1) });
    const sender = await startFakeSender(async (peer) => {
      await offerResumable(peer, [{ kind: 'file', path: 'f.bin', size: content.length }]);
      expect((await peer.expect(FrameType.REQUEST)).files).toEqual([
        { id: 0, offset: FRAME, prefix: sha256(Buffer.alloc(FRAME, 1)) },
      ]);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: content.length });
      sendData(peer, content, 0, 2 * FRAME);
      peer.socket.destroy();
    });
    const { receiver, log } = receiverInto(sender.port, out);
    await expect(receiver.run()).rejects.toBeDefined();
    await sender.done();
    expect(log.all('resume-found')).toEqual([
      { files: 1, heldBytes: FRAME, totalBytes: content.length },
    ]);
    expect(log.all('start')).toEqual([
      { outDir: out, files: 1, bytes: content.length, resumedBytes: FRAME, presentFiles: 0 },
    ]);
    expect(log.all('file-restarted')).toEqual([{ offered: 'f.bin', reason: 'changed' }]);
    const [kept] = log.all('partial-kept');
    expect(kept?.dir).toBe(store.dir);
    expect(kept?.files).toBe(1);
    // What stays is what arrived after the restart, from byte 0: never the old bytes.
    const held = await readFile(store.pathOf('f.bin'));
    expect(kept?.heldBytes).toBe(held.length);
    expect(held.equals(content.subarray(0, held.length))).toBe(true);
    expect({ ...receiver.offered, ticket: receiver.offered?.ticket }).toEqual({ ticket: '', session: SESSION, senderKey: '' });
  });

  it('a declined resume (Decision.resume false) deletes the partial data and asks for every file from 0', async () => {
    const content = randomBytes(3000);
    const { out, store } = await heldPartials({ 'f.bin': content.subarray(0, 1000) });
    const sender = await honestSender({ 'f.bin': content });
    const { receiver, log } = receiverInto(sender.port, out, false);
    const result = await receiver.run();
    await sender.done();
    expect(sender.request()).toEqual([{ id: 0, offset: 0 }]);
    expect(log.all('resume-found')).toHaveLength(1);
    expect(result.saved.map((file) => file.offered)).toEqual(['f.bin']);
    expect(await partialFolders(out)).toEqual([]);
    expect(await listTree(out)).toEqual(['f.bin']);
    expect(await lstat(store.dir).catch(() => undefined)).toBeUndefined();
  });

  it('a file already there is reported by file-present and in the result, and counted as saved in DONE', async () => {
    const out = await realpath(await tempDir());
    await writeFile(path.join(out, 'x.txt'), 'same bytes');
    let done: unknown;
    const sender = await startFakeSender(async (peer) => {
      await offerResumable(peer, [{ kind: 'file', path: 'x.txt', size: 10 }]);
      await peer.expect(FrameType.REQUEST);
      peer.send(FrameType.FILE_START, { id: 0, offset: 10, size: 10 });
      peer.send(FrameType.FILE_END, { id: 0, sha256: sha256('same bytes') });
      await peer.expect(FrameType.FILE_ACK);
      done = await endSession(peer);
    });
    const { receiver, log } = receiverInto(sender.port, out);
    const result = await receiver.run();
    await sender.done();
    const present = {
      path: path.join(out, 'x.txt'),
      offered: 'x.txt',
      size: 10,
      sha256: sha256('same bytes'),
    };
    expect(log.all('file-present')).toEqual([present]);
    expect(log.all('start')[0]).toMatchObject({ presentFiles: 1 });
    expect(result.present).toEqual([{ present: true, ...present }]);
    expect(result.saved).toEqual([]);
    expect(done).toEqual({ saved: 1, failed: 0 });
  });
  it('D2: empty files already there are concluded here, never asked for, and DONE counts only what was asked for', async () => {
    const out = await realpath(await tempDir());
    await mkdir(path.join(out, 't'));
    await writeFile(path.join(out, 't/empty'), '');
    await writeFile(path.join(out, 't/x.txt'), 'same bytes');
    let request: RequestItem[] = [];
    let done: unknown;
    const sender = await startFakeSender(async (peer) => {
      await offerResumable(peer, [
        { kind: 'file', path: 't/empty', size: 0 },
        { kind: 'file', path: 't/x.txt', size: 10 },
      ]);
      request = (await peer.expect(FrameType.REQUEST)).files;
      peer.send(FrameType.FILE_START, { id: 1, offset: 10, size: 10 });
      peer.send(FrameType.FILE_END, { id: 1, sha256: sha256('same bytes') });
      await peer.expect(FrameType.FILE_ACK);
      done = await endSession(peer);
    });
    const { receiver } = receiverInto(sender.port, out);
    const result = await receiver.run();
    await sender.done();
    expect(request).toEqual([{ id: 1, offset: 10, prefix: sha256('same bytes') }]);
    expect(result.present.map((file) => file.offered).sort()).toEqual(['t/empty', 't/x.txt']);
    expect(done).toEqual({ saved: 1, failed: 0 });
  });

  it("D2: a file of that name here with other bytes is told apart from a changed source (reason differs) and saved as \"name (1)\"", async () => {
    const out = await realpath(await tempDir());
    await writeFile(path.join(out, 'x.txt'), 'old bytes!');
    const sender = await honestSender({ 'x.txt': Buffer.from('new bytes!') });
    const { receiver, log } = receiverInto(sender.port, out);
    await receiver.run();
    await sender.done();
    expect(log.all('file-restarted')).toEqual([{ offered: 'x.txt', reason: 'differs' }]);
    expect(await readFile(path.join(out, 'x.txt'), 'utf8')).toBe('old bytes!');
    expect(await readFile(path.join(out, 'x (1).txt'), 'utf8')).toBe('new bytes!');
  });

  it('D6: the reconnection ticket the receiver holds never shows when it is listed, serialised or inspected', async () => {
    const out = await realpath(await tempDir());
    const ticket = 'ab'.repeat(32);
    const sender = await startFakeSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      peer.send(FrameType.OFFER, {
        session: SESSION,
        sender: SENDER,
        entries: [{ kind: 'file', path: 'x.txt', size: 2 }],
        resume: { ticket },
      });
      await peer.expect(FrameType.REQUEST);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 2 });
      peer.data(Buffer.from('hi'));
      peer.send(FrameType.FILE_END, { id: 0, sha256: sha256('hi') });
      await peer.expect(FrameType.FILE_ACK);
      await endSession(peer);
    });
    const { receiver } = receiverInto(sender.port, out);
    await receiver.run();
    await sender.done();
    expect(receiver.offered?.ticket).toBe(ticket);
    expect(Object.keys(receiver)).not.toContain('offered');
    expect(JSON.stringify(receiver.offered)).not.toContain(ticket);
    expect(inspect(receiver, { depth: 5 })).not.toContain(ticket);
    expect(inspect(receiver.offered, { depth: 5 })).not.toContain(ticket);
  });
});
