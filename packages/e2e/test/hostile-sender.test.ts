/**
 * A hostile SENDER against the real `ferry-receive`: the hostile-peer emulator pairs with the
 * receiver exactly as ferry-send does (TLS 1.3 and SPAKE2), then breaks one rule. Each test is
 * named after its row in HOSTILE-INPUTS.md and checks that the receiver refuses with a typed
 * code, writes nothing outside its folder and finalises nothing that did not verify.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FrameType, LIMITS, type OfferEntry } from '@ferry/protocol';
import { loadOrCreateIdentity, shortFingerprint, TrustStore } from '@ferry/protocol/node';
import { describe, expect, it } from 'vitest';
import {
  assertExit,
  type JsonEvent,
  listTree,
  makeConfigDir,
  makeTempDir,
  type ReceiverRun,
  receiveAll,
  runReceiver,
  startSender,
  writeFileAt,
} from '@ferry/testkit/harness';
import {
  frame,
  header,
  type HostilePeer,
  jsonPayload,
  messageFrame,
  pairAsSenderByHand,
  preamble,
  type ScriptedSender,
  type ScriptedSenderOptions,
  startScriptedSender,
} from '@ferry/testkit/hostile';
import { startTap } from '@ferry/testkit/relays';

function sha256(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** An OFFER of `entries` from "mallory", as a hostile sender would word it. */
function offerOf(entries: readonly OfferEntry[] | readonly Record<string, unknown>[]) {
  return { session: randomBytes(16).toString('hex'), sender: { name: 'mallory', host: 'evil' }, entries: [...entries] };
}

const ONE_FILE: OfferEntry[] = [{ kind: 'file', path: 'a.txt', size: 5 }];
const TWO_FILES: OfferEntry[] = [
  { kind: 'file', path: 'a.txt', size: 5 },
  { kind: 'file', path: 'b.txt', size: 5 },
];

/** Waits for HELLO, offers `entries`, and returns the receiver's REQUEST. */
async function offerAndRequest(peer: HostilePeer, entries: readonly OfferEntry[]) {
  await peer.expect(FrameType.HELLO);
  await peer.send(FrameType.OFFER, offerOf(entries));
  return peer.expect(FrameType.REQUEST);
}

/** FILE_START, one DATA frame (unless empty) and FILE_END of one whole file. */
function fileFrames(id: number, content: string | Uint8Array): Buffer {
  const bytes = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
  return Buffer.concat([
    messageFrame(FrameType.FILE_START, { id, offset: 0, size: bytes.byteLength }),
    ...(bytes.byteLength > 0 ? [frame(FrameType.DATA, bytes)] : []),
    messageFrame(FrameType.FILE_END, { id, sha256: sha256(bytes) }),
  ]);
}

/** Sends file `id` whole and waits for its FILE_ACK. */
async function sendFile(peer: HostilePeer, id: number, content: string | Uint8Array) {
  await peer.write(fileFrames(id, content));
  return peer.expect(FrameType.FILE_ACK);
}

/** Ends a session properly: END, then the receiver's DONE. */
async function finish(peer: HostilePeer) {
  await peer.send(FrameType.END, {});
  return peer.expect(FrameType.DONE);
}

/** What a run of the real receiver left behind. */
interface Outcome {
  readonly run: ReceiverRun;
  /** The folder holding `out`: writes beside `out` show up here. */
  readonly parent: string;
  readonly out: string;
  readonly peer: HostilePeer;
}

/**
 * Runs `ferry-receive --yes --json --out <parent>/out` against `sender` (with its code, or in
 * clear), then waits for the script and for the connection to close.
 */
async function receiveFrom(
  sender: ScriptedSender,
  options: { encryption?: boolean; args?: readonly string[]; timeoutMs?: number } = {},
): Promise<Outcome> {
  const encryption = options.encryption ?? true;
  const parent = await makeTempDir('parent');
  const out = path.join(parent, 'out');
  await fs.mkdir(out);
  const args = [...(encryption ? [] : ['--no-encryption']), ...(options.args ?? [])];
  const run = await runReceiver(['--yes', '--json', '--out', out, ...args, sender.address], {
    code: encryption ? sender.code() : undefined,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  await sender.done();
  const peer = await sender.peer();
  await peer.allFrames();
  return { run, parent, out, peer };
}

/** Starts a scripted sender and runs the real receiver against it. */
async function hostileSession(
  script: (peer: HostilePeer) => Promise<void>,
  options: ScriptedSenderOptions & { args?: readonly string[]; timeoutMs?: number } = {},
): Promise<Outcome> {
  const sender = await startScriptedSender(script, options);
  return receiveFrom(sender, options);
}

/**
 * The receiver refused: exit 1 with an `error` event of `code`, an ERROR frame of `code` sent
 * to the sender (unless `told` is false: the peer is not known to speak Ferry), and nothing in
 * or beside the folder but `tree`.
 */
async function expectRefused(
  outcome: Outcome,
  code: string,
  options: { tree?: string[]; told?: boolean; saved?: number } = {},
) {
  const { run, parent, peer } = outcome;
  assertExit(run, 1);
  expect(run.last, run.report('the last event')).toMatchObject({ event: 'error', code });
  if (options.told ?? true) expect(peer.lastError(), peer.describe()).toMatchObject({ code });
  expect(run.events.filter((e) => e.event === 'file-saved')).toHaveLength(options.saved ?? 0);
  expect(await listTree(parent)).toEqual(options.tree ?? ['out']);
}

/** The `offer` event's entries, as the receiver showed them. */
function shownEntries(events: readonly JsonEvent[]): unknown {
  return events.find((e) => e.event === 'offer')?.entries;
}

describe('framing (A)', () => {
  it.each([
    ['a DATA header announcing 0xFFFFFFFF', FrameType.DATA, 0xffff_ffff],
    ['a DATA header announcing 4 MiB + 1', FrameType.DATA, LIMITS.maxDataPayloadBytes + 1],
    ['a FILE_END header announcing 64 KiB + 1', FrameType.FILE_END, LIMITS.maxControlPayloadBytes + 1],
  ])('A1: %s is refused from the header alone with ERR_LIMIT_EXCEEDED; nothing is kept', async (_, type, length) => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      // The header only: the receiver must answer without waiting for (or buffering) a payload.
      await peer.write(header(type, length));
      expect(await peer.expect(FrameType.ERROR)).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    });
    await expectRefused(outcome, 'ERR_LIMIT_EXCEEDED');
  });

  it('A1: an OFFER header announcing 32 MiB + 1 is refused from the header alone with ERR_LIMIT_EXCEEDED', async () => {
    const outcome = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.write(header(FrameType.OFFER, LIMITS.maxOfferPayloadBytes + 1));
      expect(await peer.expect(FrameType.ERROR)).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    });
    await expectRefused(outcome, 'ERR_LIMIT_EXCEEDED');
  });

  it('A2: a DATA frame of exactly 4 MiB is accepted and the file saved byte for byte', async () => {
    const content = randomBytes(LIMITS.maxDataPayloadBytes);
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'four.bin', size: content.byteLength }]);
      expect(await sendFile(peer, 0, content)).toEqual({ id: 0, ok: true, sha256: sha256(content) });
      expect(await finish(peer)).toEqual({ saved: 1, failed: 0 });
    });
    assertExit(outcome.run, 0);
    expect(await listTree(outcome.parent)).toEqual(['out', 'out/four.bin']);
    expect((await fs.readFile(path.join(outcome.out, 'four.bin'))).equals(content)).toBe(true);
  });

  it('A3: a FILE_END length with the top bit set (0x80000000) is read as unsigned and refused as too large', async () => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.write(messageFrame(FrameType.FILE_START, { id: 0, offset: 0, size: 5 }), frame(FrameType.DATA, 'abcde'));
      await peer.write(header(FrameType.FILE_END, 0x8000_0000));
      expect(await peer.expect(FrameType.ERROR)).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    });
    await expectRefused(outcome, 'ERR_LIMIT_EXCEEDED');
  });

  it.each([
    ['2^53', '9007199254740992'],
    ['2^64', '18446744073709551616'],
    ['1e400 (infinite as a double)', '1e400'],
    ['a negative size', '-5'],
  ])('A4: an offered size of %s is refused with ERR_BAD_MESSAGE before anything is written', async (_, size) => {
    const outcome = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf(ONE_FILE), { 'entries.0.size': size });
    });
    await expectRefused(outcome, 'ERR_BAD_MESSAGE');
  });

  it.each([
    ['a zero-length DATA frame', frame(FrameType.DATA, '')],
    ['a FILE_END with an empty payload', frame(FrameType.FILE_END, '')],
  ])('A5: %s is refused with ERR_BAD_MESSAGE; nothing is kept', async (_, bad) => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.write(messageFrame(FrameType.FILE_START, { id: 0, offset: 0, size: 5 }), frame(FrameType.DATA, 'ab'), bad);
    });
    await expectRefused(outcome, 'ERR_BAD_MESSAGE');
  });

  it.each([
    ['3 bytes of a frame header', header(FrameType.DATA, 3).subarray(0, 3)],
    ['a DATA header for 10 bytes and 4 of them', Buffer.concat([header(FrameType.DATA, 10), Buffer.from('abcd')])],
  ])('A6: the sender closing after %s fails the transfer as interrupted (ERR_TRUNCATED); nothing is kept', async (_, partial) => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.write(messageFrame(FrameType.FILE_START, { id: 0, offset: 0, size: 5 }), frame(FrameType.DATA, 'a'));
      await peer.end(partial);
    });
    // The sender is gone: nothing can be told to it.
    await expectRefused(outcome, 'ERR_TRUNCATED', { told: false });
  });

  it.each([0x00, 0x1f, 0xff])('A7: a frame of the unassigned type %i is refused with ERR_UNKNOWN_FRAME_TYPE', async (type) => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.write(frame(type, '{}'));
    });
    await expectRefused(outcome, 'ERR_UNKNOWN_FRAME_TYPE');
  });

  it('A7: a sender preamble with a reserved flag bit set is refused without a word (ERR_BAD_MESSAGE)', async () => {
    const outcome = await hostileSession(
      async (peer) => {
        await peer.write(preamble(true, { flags: 0x0003 }));
      },
      { handshake: 'raw' },
    );
    await expectRefused(outcome, 'ERR_BAD_MESSAGE', { told: false });
    // The receiver sent its own preamble and nothing else: no TLS, no frame.
    expect(outcome.peer.bytesIn).toBe(12);
  });

  it('A8: DATA between one file\'s FILE_END and the next FILE_START is refused with ERR_UNEXPECTED_FRAME; only the acknowledged file stays', async () => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, TWO_FILES);
      expect(await sendFile(peer, 0, 'first')).toMatchObject({ ok: true });
      await peer.data('stray');
    });
    await expectRefused(outcome, 'ERR_UNEXPECTED_FRAME', { tree: ['out', 'out/a.txt'], saved: 1 });
    expect(await fs.readFile(path.join(outcome.out, 'a.txt'), 'utf8')).toBe('first');
  });
});

describe('frames while the receiver decides (K8)', () => {
  it('K8: FILE_START, DATA, FILE_END and END sent right after the OFFER, before any REQUEST, are refused with ERR_UNEXPECTED_FRAME; nothing is saved', async () => {
    const outcome = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      // One write: the whole file and END travel with the OFFER, before the receiver has chosen.
      await peer.write(messageFrame(FrameType.OFFER, offerOf(ONE_FILE)), fileFrames(0, 'hello'), messageFrame(FrameType.END, {}));
      expect(await peer.expect(FrameType.ERROR)).toMatchObject({ code: 'ERR_UNEXPECTED_FRAME' });
    });
    await expectRefused(outcome, 'ERR_UNEXPECTED_FRAME');
    expect(outcome.peer.types()).not.toContain(FrameType.REQUEST);
  });
});

describe('framing, continued (A)', () => {
  it.each([
    ['bytes after its JSON', Buffer.concat([jsonPayload({ id: 0, sha256: sha256('abcde') }), Buffer.from(' x')])],
    ['a length that cuts its JSON short', jsonPayload({ id: 0, sha256: sha256('abcde') }).subarray(0, 40)],
  ])('A9: a FILE_END with %s is refused with ERR_BAD_MESSAGE; nothing is kept', async (_, payload) => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.write(
        messageFrame(FrameType.FILE_START, { id: 0, offset: 0, size: 5 }),
        frame(FrameType.DATA, 'abcde'),
        frame(FrameType.FILE_END, payload),
      );
    });
    await expectRefused(outcome, 'ERR_BAD_MESSAGE');
  });

  it('A10: frames after END never start a new file: the receiver sends DONE, keeps only the acknowledged file, and exits 0', async () => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      expect(await sendFile(peer, 0, 'hello')).toMatchObject({ ok: true });
      // END, and in the same write a whole second copy of the file, a stray DATA frame and a
      // header of no known type: none of it may start a file or undo what END concluded.
      await peer.write(messageFrame(FrameType.END, {}), fileFrames(0, 'evil!'), frame(FrameType.DATA, 'more'), frame(0x1f, 'x'));
      expect(await peer.expect(FrameType.DONE)).toEqual({ saved: 1, failed: 0 });
    });
    assertExit(outcome.run, 0);
    expect(await listTree(outcome.parent)).toEqual(['out', 'out/a.txt']);
    expect(await fs.readFile(path.join(outcome.out, 'a.txt'), 'utf8')).toBe('hello');
    expect(outcome.peer.types()).toEqual([FrameType.HELLO, FrameType.REQUEST, FrameType.FILE_ACK, FrameType.DONE]);
  });

  it.each([
    ['one byte per write', 1],
    ['the whole stream in one write', Number.MAX_SAFE_INTEGER],
  ])('A11: a sender writing %s (headers split across reads, or many frames per read) delivers the same files', async (_, piece) => {
    const contents = ['first file', randomBytes(3000)] as const;
    const outcome = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.trickle(
        messageFrame(FrameType.OFFER, offerOf([
          { kind: 'file', path: 'a.txt', size: contents[0].length },
          { kind: 'file', path: 'd/b.bin', size: contents[1].byteLength },
        ])),
        { piece },
      );
      await peer.expect(FrameType.REQUEST);
      await peer.trickle(Buffer.concat([fileFrames(0, contents[0]), fileFrames(1, contents[1]), messageFrame(FrameType.END, {})]), { piece });
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 0, ok: true });
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 1, ok: true });
      expect(await peer.expect(FrameType.DONE)).toEqual({ saved: 2, failed: 0 });
    });
    assertExit(outcome.run, 0);
    expect(await listTree(outcome.parent)).toEqual(['out', 'out/a.txt', 'out/d', 'out/d/b.bin']);
    expect(await fs.readFile(path.join(outcome.out, 'a.txt'), 'utf8')).toBe(contents[0]);
    expect((await fs.readFile(path.join(outcome.out, 'd', 'b.bin'))).equals(contents[1])).toBe(true);
  });

  it.each([
    ['its preamble (before TLS)', 'raw' as const],
    ['its AUTH_REPLY (inside TLS, before pairing)', 'tls' as const],
  ])('A12: a sender trickling %s a byte every 300 ms is cut off at the greeting deadline (--timeout 1) with ERR_TIMEOUT', async (_, handshake) => {
    let written = 0;
    const outcome = await hostileSession(
      async (peer) => {
        if (handshake === 'tls') await peer.expect(FrameType.AUTH);
        const greeting = handshake === 'raw' ? preamble(true) : messageFrame(FrameType.AUTH_REPLY, { result: 'ok' });
        written = await peer.trickle(greeting, { everyMs: 300 });
      },
      { handshake, code: '1357-2468', args: ['--timeout', '1'] },
    );
    await expectRefused(outcome, 'ERR_TIMEOUT', { told: false });
    // Cut off while bytes were still coming: the deadline is absolute, not an idle timer.
    expect(written).toBeLessThan(12);
  });

  it.each([
    ['a magic wrong in its last byte', 'ERR_BAD_MAGIC', preamble(true, { magic: Buffer.from('89464552525900', 'hex') })],
    ['a TLS ServerHello', 'ERR_BAD_MAGIC', Buffer.from('160303007a020000760303', 'hex')],
    ['protocol version 2', 'ERR_UNSUPPORTED_VERSION', preamble(true, { version: 2 })],
    ['protocol version 0xFFFF', 'ERR_UNSUPPORTED_VERSION', preamble(true, { version: 0xffff })],
  ])('A13: a sender answering with %s is refused at once with %s; the receiver sends nothing but its preamble', async (_, code, answer) => {
    const outcome = await hostileSession(
      async (peer) => {
        await peer.write(answer);
      },
      { handshake: 'raw' },
    );
    await expectRefused(outcome, code, { told: false });
    expect(outcome.peer.bytesIn).toBe(12);
  });

  it('A15: an OFFER proposing its own timeouts or window (unknown fields) is refused with ERR_BAD_MESSAGE', async () => {
    const outcome = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf(ONE_FILE), { keepaliveMs: '0', idleMs: '2147483648', window: '0' });
    });
    await expectRefused(outcome, 'ERR_BAD_MESSAGE');
  });

  it('A15: DATA frames of 1 byte each are taken as they come: the chunk size is not the sender\'s to set', async () => {
    const content = randomBytes(64);
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'tiny.bin', size: content.byteLength }]);
      const data = [...content].map((byte) => frame(FrameType.DATA, Uint8Array.of(byte)));
      await peer.write(messageFrame(FrameType.FILE_START, { id: 0, offset: 0, size: 64 }), ...data);
      await peer.send(FrameType.FILE_END, { id: 0, sha256: sha256(content) });
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ ok: true });
      await finish(peer);
    });
    assertExit(outcome.run, 0);
    expect((await fs.readFile(path.join(outcome.out, 'tiny.bin'))).equals(content)).toBe(true);
  });
});

describe('names and metadata (B)', () => {
  it('B4: a path that is not valid UTF-8 is refused with ERR_BAD_MESSAGE; nothing is written', async () => {
    const outcome = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf(ONE_FILE), { 'entries.0.path': Buffer.from('"a\xff\xfe.txt"', 'latin1') });
    });
    await expectRefused(outcome, 'ERR_BAD_MESSAGE');
  });

  it('B6: a name of 256 UTF-8 bytes (128 × é, far fewer UTF-16 units) is refused whole; one of exactly 255 bytes is saved', async () => {
    const tooLong = 'é'.repeat(128);
    const longest = `${'é'.repeat(127)}x`;
    const refused = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf([{ kind: 'file', path: 'fine.txt', size: 1 }, { kind: 'file', path: `d/${tooLong}`, size: 1 }]));
    });
    await expectRefused(refused, 'ERR_UNSAFE_OFFER');
    const accepted = await hostileSession(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: longest, size: 1 }]);
      expect(await sendFile(peer, 0, 'x')).toMatchObject({ ok: true });
      await finish(peer);
    });
    assertExit(accepted.run, 0);
    expect(await listTree(accepted.parent)).toEqual(['out', `out/${longest}`]);
  });

  it('B13: a name resolving to a sibling with a shared prefix (../parent2/x from .../parent) is refused; nothing lands in the sibling', async () => {
    const base = await makeTempDir('base');
    await fs.mkdir(path.join(base, 'parent'));
    await fs.mkdir(path.join(base, 'parent2'));
    const sender = await startScriptedSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf([{ kind: 'file', path: '../parent2/x', size: 1 }]));
    });
    const run = await runReceiver(['--yes', '--json', '--out', path.join(base, 'parent'), sender.address], { code: sender.code() });
    await sender.done();
    assertExit(run, 1);
    expect(run.last).toMatchObject({ event: 'error', code: 'ERR_UNSAFE_OFFER' });
    expect((await sender.peer()).lastError()).toMatchObject({ code: 'ERR_UNSAFE_OFFER' });
    expect(await listTree(base)).toEqual(['parent', 'parent2']);
  });

  it('B14: sensitive-looking valid names (.bashrc, .ssh/authorized_keys, Startup/x.lnk, -rf) are shown in full and saved inside the folder only', async () => {
    const names = ['.bashrc', '.ssh/authorized_keys', 'Startup/x.lnk', '-rf'];
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, names.map((name) => ({ kind: 'file' as const, path: name, size: 4 })));
      for (const [id] of names.entries()) expect(await sendFile(peer, id, 'evil')).toMatchObject({ ok: true });
      await finish(peer);
    });
    assertExit(outcome.run, 0);
    expect(shownEntries(outcome.run.events)).toEqual(names.map((name) => ({ path: name, kind: 'file', size: 4 })));
    expect(await listTree(outcome.parent)).toEqual(
      ['out', 'out/-rf', 'out/.bashrc', 'out/.ssh', 'out/.ssh/authorized_keys', 'out/Startup', 'out/Startup/x.lnk'],
    );
  });

  it.each([
    ['a symlink entry, then a file of the same name', [{ kind: 'symlink', path: 'dup', target: '/tmp' }, { kind: 'file', path: 'dup', size: 1 }]],
    ['a file entry with a link target', [{ kind: 'file', path: 'dup', size: 1, target: '../../outside' }]],
    ['a hard link entry', [{ kind: 'hardlink', path: 'dup', target: 'a/a/a/../../../x' }]],
  ])('B16: the offer cannot express a link: %s is refused with ERR_BAD_MESSAGE and no link is created', async (_, entries) => {
    const outcome = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf(entries as Record<string, unknown>[]));
    });
    await expectRefused(outcome, 'ERR_BAD_MESSAGE');
  });

  it('B17: sender mode bits (04755) are refused as an unknown field; saved files are never executable, setuid or setgid', async () => {
    const refused = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf(ONE_FILE), { 'entries.0.mode': String(0o4755) });
    });
    await expectRefused(refused, 'ERR_BAD_MESSAGE');
    const saved = await hostileSession(async (peer) => {
      await offerAndRequest(peer, [{ kind: 'file', path: 'run.sh', size: 5 }]);
      await sendFile(peer, 0, '#!/bi');
      await finish(peer);
    });
    assertExit(saved.run, 0);
    const { mode } = await fs.stat(path.join(saved.out, 'run.sh'));
    expect(mode & 0o7111).toBe(0);
  });

  it.each([
    ['far in the future', '253402300800000'],
    ['negative', '-1'],
    ['NaN (not even JSON)', 'NaN'],
  ])('B18: an mtime %s is refused with ERR_BAD_MESSAGE, and the receiver fails cleanly rather than crashing', async (_, mtime) => {
    const outcome = await hostileSession(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf(ONE_FILE), { 'entries.0.mtime': mtime });
    });
    await expectRefused(outcome, 'ERR_BAD_MESSAGE');
  });

  it.each([
    ['overwrite: true on the offer', 'overwrite'],
    ['open: true on the entry', 'entries.0.open'],
    ['extract: true on the entry', 'entries.0.extract'],
  ])('B20: a sender-set behaviour flag (%s) is refused as an unknown field; the existing file is untouched', async (_, where) => {
    const sender = await startScriptedSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, offerOf(ONE_FILE), { [where]: 'true' });
    });
    const out = await makeTempDir('out');
    await fs.writeFile(path.join(out, 'a.txt'), 'mine');
    const run = await runReceiver(['--yes', '--json', '--out', out, sender.address], { code: sender.code() });
    await sender.done();
    assertExit(run, 1);
    expect(run.last).toMatchObject({ event: 'error', code: 'ERR_BAD_MESSAGE' });
    expect(await listTree(out)).toEqual(['a.txt']);
    expect(await fs.readFile(path.join(out, 'a.txt'), 'utf8')).toBe('mine');
  });

  it('B21: a FILE_START carrying its own path is refused with ERR_BAD_MESSAGE; nothing is written there or in the folder', async () => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 }, { path: '"../../escape.txt"' });
      await peer.write(frame(FrameType.DATA, 'abcde'), messageFrame(FrameType.FILE_END, { id: 0, sha256: sha256('abcde') }));
    });
    await expectRefused(outcome, 'ERR_BAD_MESSAGE');
  });
});

describe('sizes and integrity (C)', () => {
  it.each([
    ['negative', '-1', 'ERR_BAD_MESSAGE'],
    ['past the size', '6', 'ERR_UNEXPECTED_FRAME'],
    ['inside the file (no resume in version 1)', '2', 'ERR_UNEXPECTED_FRAME'],
    ['2^53', '9007199254740992', 'ERR_BAD_MESSAGE'],
  ])('C6: a FILE_START offset that is %s (%s) is refused with %s; nothing is kept', async (_, offset, code) => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 }, { offset });
      await peer.write(frame(FrameType.DATA, 'cde'), messageFrame(FrameType.FILE_END, { id: 0, sha256: sha256('abcde') }));
    });
    await expectRefused(outcome, code);
  });
});

describe('network faults (F)', () => {
  it('F3: a sender that sends FIN right after END still gets its FILE_ACK and DONE; the receiver decides success by END and the digests, and exits 0', async () => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.write(fileFrames(0, 'hello'));
      // Half-close right after the last frame: this side still reads what the receiver says.
      await peer.end(messageFrame(FrameType.END, {}));
      await peer.allFrames();
    });
    assertExit(outcome.run, 0);
    expect(outcome.peer.frames.slice(2).map((f) => f.message)).toEqual([
      { id: 0, ok: true, sha256: sha256('hello') },
      { saved: 1, failed: 0 },
    ]);
    expect(await listTree(outcome.parent)).toEqual(['out', 'out/a.txt']);
  });

  it('F3: a sender that sends FIN after its last FILE_END without END fails the transfer: EOF is not success', async () => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.end(fileFrames(0, 'hello'));
    });
    assertExit(outcome.run, 1);
    expect(outcome.run.last).toMatchObject({ event: 'error', code: 'ERR_CONNECTION_CLOSED' });
  });

  it('F4: a reset right after the last file and END ends the transfer with a typed error, never an unhandled rejection; nothing unverified is kept', async () => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, ONE_FILE);
      await peer.write(fileFrames(0, 'hello'), messageFrame(FrameType.END, {}));
      // The receiver is still saving the file and about to write its FILE_ACK and DONE.
      peer.reset();
    });
    assertExit(outcome.run, 1);
    expect(outcome.run.last).toMatchObject({ event: 'error', code: 'ERR_CONNECTION_CLOSED' });
    // The message and its hint from main(), and no stack trace of a rejection nobody handled.
    expect(outcome.run.stderr.trimEnd().split('\n'), outcome.run.stderr).toEqual([
      expect.stringMatching(/^ferry-receive: the sender stopped or the connection was cut: /),
      expect.stringMatching(/^Run ferry-receive again/),
    ]);
    // The file verified and may be saved; no .part is left either way.
    const tree = await listTree(outcome.parent);
    expect(['out', 'out/a.txt']).toEqual(expect.arrayContaining(tree));
    if (tree.includes('out/a.txt')) expect(await fs.readFile(path.join(outcome.out, 'a.txt'), 'utf8')).toBe('hello');
  });

  it('F4: a reset in the middle of a file ends the transfer as interrupted; the acknowledged file stays, the partial one is gone', async () => {
    const outcome = await hostileSession(async (peer) => {
      await offerAndRequest(peer, TWO_FILES);
      expect(await sendFile(peer, 0, 'first')).toMatchObject({ ok: true });
      await peer.write(messageFrame(FrameType.FILE_START, { id: 1, offset: 0, size: 5 }), frame(FrameType.DATA, 'se'));
      peer.reset();
    });
    assertExit(outcome.run, 1);
    expect(outcome.run.last).toMatchObject({ event: 'error' });
    expect(['ERR_CONNECTION_CLOSED', 'ERR_TRUNCATED']).toContain(outcome.run.last?.code);
    expect(outcome.run.stderr.trimEnd().split('\n'), outcome.run.stderr).toEqual([
      expect.stringMatching(/^ferry-receive: the sender stopped or the connection was cut: /),
      expect.stringMatching(/^Run ferry-receive again/),
    ]);
    expect(await listTree(outcome.parent)).toEqual(['out', 'out/a.txt']);
  });

  it('F6: the bytes of an earlier session, replayed to a new receiver, fail TLS (ERR_TLS_FAILED); nothing is written', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'note.txt', 'from the earlier session');
    const real = await startSender([path.join(src, 'note.txt')]);
    const tap = await startTap(real.port);
    assertExit(await receiveAll(tap.address, await makeTempDir('earlier'), { code: await real.freshCode() }), 0);
    const replayed = Buffer.concat(tap.recording.fromSender);
    const outcome = await hostileSession(
      async (peer) => {
        await peer.write(replayed);
      },
      { handshake: 'raw', code: real.code() },
    );
    await expectRefused(outcome, 'ERR_TLS_FAILED', { told: false });
  });
});

describe('authentication (G)', () => {
  it('G4: a sender replaying the pairing reply of an earlier pairing with the same code and key is refused (ERR_PAIRING_FAILED); nothing is written', async () => {
    const identity = await loadOrCreateIdentity(makeConfigDir('replaying-sender'));
    const code = '2468-1357';
    let recorded: Buffer | undefined;
    const first = await hostileSession(
      async (peer) => {
        const pairing = await pairAsSenderByHand(peer, identity, code);
        expect(pairing.paired).toBe(true);
        recorded = pairing.reply;
        await offerAndRequest(peer, ONE_FILE);
        await sendFile(peer, 0, 'hello');
        await finish(peer);
      },
      { handshake: 'tls', identity, code },
    );
    assertExit(first.run, 0);
    const replay = await hostileSession(
      async (peer) => {
        const pairing = await pairAsSenderByHand(peer, identity, code, { reply: recorded });
        expect(pairing.paired).toBe(false);
      },
      { handshake: 'tls', identity, code },
    );
    await expectRefused(replay, 'ERR_PAIRING_FAILED');
    expect(replay.peer.types()).not.toContain(FrameType.HELLO);
  });

  it('G7: a sender claiming the name of a remembered sender is known by its own key: not let in as that sender, shown with its key, and the remembered key stays', async () => {
    const config = makeConfigDir('receiver');
    const trust = await TrustStore.open(config, 'sender');
    const realKey = await loadOrCreateIdentity(makeConfigDir('real-alice'));
    await trust.remember({ name: 'alice@alices-laptop', fingerprint: realKey.fingerprint, address: '192.0.2.7' });
    const sender = await startScriptedSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, { ...offerOf(ONE_FILE), sender: { name: 'alice', host: 'alices-laptop' } });
      await peer.expect(FrameType.REQUEST);
      await sendFile(peer, 0, 'hello');
      await finish(peer);
    });
    const out = await makeTempDir('out');
    const run = await runReceiver(['--yes', '--json', '--remember', '--out', out, sender.address], { code: sender.code(), configDir: config });
    await sender.done();
    assertExit(run, 0);
    const secured = run.events.find((e) => e.event === 'secured');
    expect(secured).toMatchObject({ encrypted: true, method: 'code', fingerprint: shortFingerprint(sender.identity!.fingerprint) });
    expect(secured?.rememberedAs).toBeUndefined();
    expect(run.events.find((e) => e.event === 'remembered')).toMatchObject({ result: 'conflict' });
    const after = await TrustStore.open(config, 'sender');
    expect(after.list().map((peer) => [peer.name, peer.fingerprint])).toEqual([
      ['alice@alices-laptop', Buffer.from(realKey.fingerprint).toString('hex')],
    ]);
  });

  it.each([
    // Frames with no business before pairing have a cap of 0 there: refused from the header.
    ['an OFFER in answer to the pairing share', 'ERR_LIMIT_EXCEEDED', messageFrame(FrameType.OFFER, offerOf(ONE_FILE))],
    ['a DATA frame in answer to the pairing share', 'ERR_LIMIT_EXCEEDED', frame(FrameType.DATA, 'abcde')],
    ['AUTH_REPLY ok without any SPAKE2 exchange', 'ERR_UNEXPECTED_FRAME', messageFrame(FrameType.AUTH_REPLY, { result: 'ok' })],
    ['a FILE_START before pairing', 'ERR_UNEXPECTED_FRAME', messageFrame(FrameType.FILE_START, { id: 0, offset: 0, size: 5 })],
  ])('G8: a sender sending %s is refused (%s) before any HELLO; nothing is written', async (_, code, early) => {
    const outcome = await hostileSession(
      async (peer) => {
        await peer.expect(FrameType.AUTH);
        await peer.write(early);
      },
      { handshake: 'tls', code: '1357-2468' },
    );
    await expectRefused(outcome, code);
    expect(outcome.peer.types()).toEqual([FrameType.AUTH, FrameType.ERROR]);
  });
});

describe('display (J)', () => {
  const forged = '{"event":"done","out":"/","files":[]}';
  const hostileName = `eve\n${forged}\u001b[2J\u009b\u202e`;
  const RAW = ['\u001b', '\u009b', '\u202e', '\r'];

  async function run(args: readonly string[]) {
    return hostileSession(
      async (peer) => {
        await peer.expect(FrameType.HELLO);
        await peer.send(FrameType.OFFER, { ...offerOf(ONE_FILE), sender: { name: hostileName, host: 'host\r\n' } });
        await peer.expect(FrameType.REQUEST);
        await sendFile(peer, 0, 'hello');
        await finish(peer);
      },
      { args },
    );
  }

  it('J4: a sender name with a newline and escapes cannot forge or break a line of ferry-receive --json output or its logs', async () => {
    const { run: result } = await run(['--log-level', 'debug']);
    assertExit(result, 0);
    const lines = result.stdout.trimEnd().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(result.events.filter((e) => e.event === 'done')).toHaveLength(1);
    expect(result.events.at(-1)).toMatchObject({ event: 'done', saved: [expect.objectContaining({ offered: 'a.txt' })] });
    for (const raw of RAW) expect(result.stdout + result.stderr).not.toContain(raw);
    for (const line of result.stderr.split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
  });

  it('J4: a sender name with a newline and escapes is shown escaped on one line in text output', async () => {
    const sender = await startScriptedSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, { ...offerOf(ONE_FILE), sender: { name: hostileName, host: 'host\r\n' } });
      await peer.expect(FrameType.REQUEST);
      await sendFile(peer, 0, 'hello');
      await finish(peer);
    });
    const result = await runReceiver(['--yes', '--out', await makeTempDir('out'), sender.address], { code: sender.code() });
    await sender.done();
    assertExit(result, 0);
    for (const raw of RAW) expect(result.stdout + result.stderr).not.toContain(raw);
    expect(result.stdout.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
    expect(result.stdout).toContain('eve\\x0a{"event"');
  });
});
