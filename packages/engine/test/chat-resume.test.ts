/**
 * Resume in a conversation (PROTOCOL.md §13.11), link by link over real loopback sockets: ACCEPT
 * prefix items checked as REQUEST's are, TX_START offsets held to what was asked, the prefix
 * check and starting over, files already there, and a connection cut in both directions that
 * goes on, on a new pair of links, from the bytes on disk.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import {
  ErrorCode,
  FrameType,
  LimitError,
  type MessageOf,
  type MessageType,
} from '@ferry/protocol';
import { Connection } from '@ferry/protocol/node';
import { txDataFrame } from '@ferry/testkit/hostile';
import {
  EventLog,
  onCleanup,
  runCleanup,
  silentLogger,
  socketPair,
  tempDir,
  within,
} from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChatLink,
  type LinkEnd,
  type LinkEvents,
  type LinkOptions,
  type SuspendedWork,
} from '../src/chat/link.ts';
import { ConversationBase } from '../src/chat/base.ts';
import type { ChatPeer, ConversationEvents } from '../src/chat/conversation.ts';
import { scanOffer } from '../src/scan.ts';

afterEach(runCleanup);

const MiB = 1024 * 1024;
const SESSION = 'ab'.repeat(16);
const ALICE = { senderKey: '', senderName: 'alice', senderHost: 'alice-host' };
const BOB = { senderKey: '', senderName: 'bob', senderHost: '127.0.0.1' };

const EVENTS: (keyof LinkEvents)[] = [
  'proposal',
  'proposal-resumed',
  'reproposed',
  'declined',
  'send-start',
  'send-done',
  'file-sent',
  'receive-start',
  'file-saved',
  'file-failed',
  'file-restarted',
  'receive-done',
  'receive-progress',
  'partial-kept',
];

function connection(socket: Socket): Connection {
  return new Connection(socket, { preambleDone: true });
}

interface Side {
  readonly link: ChatLink;
  readonly log: EventLog<LinkEvents>;
  readonly ended: Promise<LinkEnd>;
}

function side(
  socket: Socket,
  role: 'listener' | 'joiner',
  options: Partial<LinkOptions> = {},
): Side {
  const link = new ChatLink({
    connection: connection(socket),
    role,
    logger: silentLogger,
    session: SESSION,
    // Each side names the other as its partial-data records do.
    peer: role === 'listener' ? BOB : ALICE,
    ...options,
  });
  const log = new EventLog<LinkEvents>(link, EVENTS);
  const ended = link.run();
  onCleanup('link', async () => {
    link.connection.destroy();
    await ended;
  });
  return { link, log, ended };
}

/** A listener and a joiner on a direct connection. */
async function linkPair(
  listener: Partial<LinkOptions> = {},
  joiner: Partial<LinkOptions> = {},
): Promise<{ alice: Side; bob: Side }> {
  const [a, b] = await socketPair();
  return { alice: side(a, 'listener', listener), bob: side(b, 'joiner', joiner) };
}

/**
 * A listener and a joiner through a relay that lets at most `limit` bytes through each way and
 * holds the rest back; `passed` resolves once both ways reached it (`passedOneWay` once either
 * did: nothing can finish that needs more), and `cut` then resets every socket, as a network
 * failure would.
 */
async function relayedPair(
  limit: number,
  options: Partial<LinkOptions> = {},
  joiner: Partial<LinkOptions> = options,
) {
  const [a, relayA] = await socketPair();
  const [relayB, b] = await socketPair();
  let full = 0;
  let onFull!: () => void;
  let onFirst!: () => void;
  const passed = new Promise<void>((resolve) => {
    onFull = resolve;
  });
  const passedOneWay = new Promise<void>((resolve) => {
    onFirst = resolve;
  });
  const pass = (from: Socket, to: Socket) => {
    let count = 0;
    from.on('data', (chunk: Buffer) => {
      const head = chunk.subarray(0, Math.max(0, limit - count));
      count += head.byteLength;
      if (head.byteLength > 0) to.write(head);
      if (count >= limit) {
        from.pause();
        if (++full === 1) onFirst();
        if (full === 2) onFull();
      }
    });
  };
  pass(relayA, relayB);
  pass(relayB, relayA);
  // A side that closes closes the other's connection too.
  relayA.on('close', () => relayB.destroy());
  relayB.on('close', () => relayA.destroy());
  const cut = () => {
    for (const socket of [a, relayA, relayB, b]) socket.resetAndDestroy();
  };
  return {
    alice: side(a, 'listener', options),
    bob: side(b, 'joiner', joiner),
    passed: () => within(passed, `${limit} bytes each way through the relay`),
    passedOneWay: () => within(passedOneWay, `${limit} bytes one way through the relay`),
    cut,
  };
}

/** A file of `size` pseudo-random bytes (seeded by `seed`). */
async function makeFile(dir: string, name: string, size: number, seed: number): Promise<string> {
  const bytes = Buffer.alloc(size);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes.writeUInt32LE(state >>> 0, i);
  }
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

const digest = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** Reads frames from a scripted peer until one of `type` (PING and CREDIT are skipped). */
async function expectFrame<T extends MessageType>(
  peer: Connection,
  type: T,
): Promise<MessageOf<T>> {
  for (;;) {
    const incoming = await within(peer.read(), `frame type ${type}`);
    if (incoming === null) throw new Error(`the link closed before frame type ${type}`);
    if (incoming.kind !== 'message') continue;
    if (incoming.type === type) return incoming.message as MessageOf<T>;
    if (incoming.type === FrameType.CREDIT) continue;
    throw new Error(`expected frame type ${type}, got ${incoming.type}`);
  }
}

/** A link and a peer that the test scripts frame by frame. */
async function scriptedPeer(role: 'listener' | 'joiner', options: Partial<LinkOptions> = {}) {
  const [a, b] = await socketPair();
  const tested = side(a, role, options);
  const peer = connection(b);
  onCleanup('scripted peer', async () => peer.destroy());
  return { ...tested, peer };
}

describe('ACCEPT prefix items (§13.11: REQUEST checks and codes)', () => {
  const digestOfNothing = '0'.repeat(64);

  async function proposeAndAccept(resume: boolean, files: unknown) {
    const dir = await tempDir();
    const file = await makeFile(dir, 'a.bin', 1000, 1);
    const { link, peer, ended } = await scriptedPeer('listener', { resume });
    const offer = link.propose(await scanOffer([file]));
    const proposed = await expectFrame(peer, FrameType.PROPOSE);
    expect(proposed.offer).toBe(offer);
    await peer.send(FrameType.ACCEPT, { offer, files } as MessageOf<typeof FrameType.ACCEPT>);
    const error = await expectFrame(peer, FrameType.ERROR);
    const end = await within(ended, 'the link to end');
    return { error, end };
  }

  it('D1: a prefix item without resume negotiated is refused (ERR_BAD_MESSAGE)', async () => {
    const { error, end } = await proposeAndAccept(false, [
      { id: 0, offset: 10, prefix: digestOfNothing },
    ]);
    expect(error.code).toBe(ErrorCode.BAD_MESSAGE);
    expect(end.kind).toBe('cut-off');
  });

  it.each([
    ['D1: an offset past the end', [{ id: 0, offset: 1001, prefix: digestOfNothing }]],
    ['an offset without a prefix', [{ id: 0, offset: 10 }]],
    ['a prefix of no bytes', [{ id: 0, offset: 0, prefix: digestOfNothing }]],
    [
      'the same file twice',
      [
        { id: 0, offset: 0 },
        { id: 0, offset: 0 },
      ],
    ],
  ])('%s is refused with resume on (ERR_BAD_MESSAGE)', async (_, files) => {
    const { error, end } = await proposeAndAccept(true, files);
    expect(error.code).toBe(ErrorCode.BAD_MESSAGE);
    expect(end.kind).toBe('cut-off');
  });

  it('an item that is not a file of the proposal is refused (ERR_UNKNOWN_FILE)', async () => {
    const { error } = await proposeAndAccept(true, [{ id: 7, offset: 0 }]);
    expect(error.code).toBe(ErrorCode.UNKNOWN_FILE);
  });
});

describe('TX_START offsets (§13.11)', () => {
  it.each([
    [false, 5],
    [true, 5],
    [true, 10],
  ])(
    'resume %s: a TX_START at offset %i for an item asked from 0 cuts the proposer off (ERR_UNEXPECTED_FRAME) and leaves nothing',
    async (resume, offset) => {
      const out = await tempDir();
      const { link, log, peer, ended } = await scriptedPeer('joiner', { resume });
      await peer.send(FrameType.PROPOSE, {
        offer: 1,
        entries: [{ kind: 'file', path: 'a.bin', size: 10 }],
      });
      await log.waitFor('proposal');
      await link.accept(1, out);
      const accepted = await expectFrame(peer, FrameType.ACCEPT);
      expect(accepted.files).toEqual([{ id: 0, offset: 0 }]);
      await peer.send(FrameType.TX_START, { offer: 1, id: 0, offset, size: 10 });
      const error = await expectFrame(peer, FrameType.ERROR);
      expect(error.code).toBe(ErrorCode.UNEXPECTED_FRAME);
      expect((await within(ended, 'the link to end')).kind).toBe('cut-off');
      expect(await readdir(out)).toEqual([]);
    },
  );
});

describe('resuming on a new connection (§13.11 items 6, 7)', () => {
  const SIZE = 12 * MiB;
  const LIMIT = 4 * MiB;

  /**
   * Alice and Bob send each other a small file and a large one; the connection is cut once
   * 4 MiB went each way: each small file is saved, each large one is held in part.
   */
  async function cutBothWays(follow?: (link: ChatLink) => void) {
    const src = await tempDir();
    const aliceOut = await tempDir();
    const bobOut = await tempDir();
    const aliceSmall = await makeFile(src, 'a-small.bin', MiB, 12);
    const bobSmall = await makeFile(src, 'b-small.bin', MiB, 23);
    const fromAlice = await makeFile(src, 'from-alice.bin', SIZE, 11);
    const fromBob = await makeFile(src, 'from-bob.bin', SIZE, 22);
    const { alice, bob, passed, cut } = await relayedPair(LIMIT, { resume: true });
    follow?.(alice.link);
    alice.link.propose(await scanOffer([aliceSmall, fromAlice]));
    bob.link.propose(await scanOffer([bobSmall, fromBob]));
    await Promise.all([bob.log.waitFor('proposal'), alice.log.waitFor('proposal')]);
    await Promise.all([bob.link.accept(1, bobOut), alice.link.accept(1, aliceOut)]);
    await passed();
    // Each side has taken the small file and part of the large one before the cut, so that
    // each holds bytes to resume from.
    const received = (log: EventLog<LinkEvents>) =>
      log.all('receive-progress').reduce((sum, event) => sum + event.bytes, 0);
    await Promise.all(
      [alice, bob].map(({ log }) =>
        log.waitUntil(() => received(log) >= 3 * MiB, '3 MiB received before the cut'),
      ),
    );
    cut();
    const [aliceEnd, bobEnd] = await within(
      Promise.all([alice.ended, bob.ended]),
      'both links to end',
    );
    return {
      alice,
      bob,
      aliceEnd,
      bobEnd,
      aliceSmall,
      bobSmall,
      fromAlice,
      fromBob,
      aliceOut,
      bobOut,
    };
  }

  function suspendedOf(end: LinkEnd): SuspendedWork {
    expect(end.kind).toBe('lost');
    if (end.kind !== 'lost' || !end.suspended) throw new Error('the link suspended nothing');
    return end.suspended;
  }

  it('D9: a cut mid-transfer both ways suspends both transfers, and new links go on from the bytes held, byte-identical', async () => {
    const cutRun = await cutBothWays();
    const { alice, bob, aliceSmall, bobSmall, fromAlice, fromBob, aliceOut, bobOut } = cutRun;
    const aliceWork = suspendedOf(cutRun.aliceEnd);
    const bobWork = suspendedOf(cutRun.bobEnd);
    for (const work of [aliceWork, bobWork]) {
      expect(work.outgoing.map((o) => o.offer)).toEqual([1]);
      expect(work.incoming.map((i) => i.offer)).toEqual([1]);
    }
    expect(alice.log.all('receive-done')).toMatchObject([{ offer: 1, saved: 1, suspended: true }]);
    expect(bob.log.all('send-done')).toMatchObject([{ offer: 1, suspended: true }]);
    // Only the small file got its final name; the partial folders stay.
    expect((await readdir(bobOut)).filter((n) => !n.startsWith('.ferry-partial-'))).toEqual([
      'a-small.bin',
    ]);

    const { alice: alice2, bob: bob2 } = await linkPair(
      { resume: true, resumed: aliceWork },
      { resume: true, resumed: bobWork },
    );
    expect(await alice2.log.waitFor('reproposed')).toMatchObject({ offer: 1, previous: 1 });
    expect(await bob2.log.waitFor('proposal-resumed')).toMatchObject({
      offer: 1,
      previous: 1,
      suspended: bobWork.incoming[0],
    });
    expect(await alice2.log.waitFor('proposal-resumed')).toMatchObject({
      offer: 1,
      previous: 1,
      suspended: aliceWork.incoming[0],
    });
    const started = await bob2.log.waitFor('receive-start');
    // The small file was concluded on the lost connection: it is not asked for again.
    expect(started.files).toBe(1);
    expect(started.heldBytes).toBeGreaterThan(0);
    expect(started.bytes).toBe(SIZE - started.heldBytes);
    expect((await alice2.log.waitFor('send-start')).skippedBytes).toBe(started.heldBytes);
    const [bobDone, aliceDone] = await Promise.all([
      bob2.log.waitFor('receive-done'),
      alice2.log.waitFor('receive-done'),
    ]);
    expect(bobDone).toMatchObject({ saved: 1, failed: 0 });
    expect(bobDone.code).toBeUndefined();
    expect(aliceDone).toMatchObject({ saved: 1, failed: 0 });
    expect(await alice2.log.waitFor('send-done')).toMatchObject({ saved: 1 });
    expect(await bob2.log.waitFor('send-done')).toMatchObject({ saved: 1 });
    expect(alice2.log.all('proposal')).toEqual([]);
    expect(bob2.log.all('proposal')).toEqual([]);
    expect(alice2.log.all('file-restarted')).toEqual([]);
    // Only the missing bytes travelled on the new connection, and the partial folders are gone.
    expect(alice2.link.connection.socket.bytesWritten).toBeLessThan(SIZE);
    expect(bob2.link.connection.socket.bytesWritten).toBeLessThan(SIZE);
    expect((await readdir(bobOut)).sort()).toEqual(['a-small.bin', 'from-alice.bin']);
    expect((await readdir(aliceOut)).sort()).toEqual(['b-small.bin', 'from-bob.bin']);
    expect(await digest(path.join(bobOut, 'a-small.bin'))).toBe(await digest(aliceSmall));
    expect(await digest(path.join(aliceOut, 'b-small.bin'))).toBe(await digest(bobSmall));
    expect(await digest(path.join(bobOut, 'from-alice.bin'))).toBe(await digest(fromAlice));
    expect(await digest(path.join(aliceOut, 'from-bob.bin'))).toBe(await digest(fromBob));
    await Promise.all([alice2.link.quit(), bob2.link.quit()]);
  });

  it('a proposal with other entries after a reconnection is asked, not accepted; the unmatched transfer is kept for a rerun', async () => {
    const cutRun = await cutBothWays();
    const aliceWork = suspendedOf(cutRun.aliceEnd);
    const other = await makeFile(await tempDir(), 'other.bin', 1000, 3);
    // Bob comes back without his suspended proposal, and proposes something else.
    const { alice: alice2, bob: bob2 } = await linkPair(
      { resume: true, resumed: { outgoing: [], incoming: aliceWork.incoming } },
      { resume: true },
    );
    bob2.link.propose(await scanOffer([other]));
    const proposal = await alice2.log.waitFor('proposal');
    expect(proposal.validated.entries.map((e) => e.path)).toEqual(['other.bin']);
    expect(alice2.log.all('proposal-resumed')).toEqual([]);
    expect(alice2.link.suspended.incoming).toHaveLength(1);
    await Promise.all([alice2.link.quit(), bob2.link.quit()]);
    // Nobody came back for it: its partial folder stays, holding the bytes that arrived.
    const kept = await alice2.link.suspended.incoming[0]!.keep();
    expect(kept?.dir).toMatch(/\.ferry-partial-[0-9a-f]{32}$/);
    expect(kept?.heldBytes).toBeGreaterThan(0);
    expect(path.dirname(kept!.dir)).toBe(cutRun.aliceOut);
    expect((await readdir(cutRun.aliceOut)).filter((n) => !n.startsWith('.'))).toEqual([
      'b-small.bin',
    ]);
  });

  it('D9: a transfer not matched on the next connection is carried to the one after, and goes on there', async () => {
    const cutRun = await cutBothWays();
    const aliceWork = suspendedOf(cutRun.aliceEnd);
    const bobWork = suspendedOf(cutRun.bobEnd);
    // The second connection is lost before bob proposes again.
    const second = await linkPair(
      { resume: true, resumed: { outgoing: [], incoming: aliceWork.incoming } },
      { resume: true },
    );
    second.bob.link.connection.socket.resetAndDestroy();
    const carried = suspendedOf(await within(second.alice.ended, 'the second link to end'));
    expect(carried.incoming).toEqual([aliceWork.incoming[0]]);
    expect(carried.incoming[0]).toBe(aliceWork.incoming[0]);
    // On the third, bob's proposal matches it.
    const { alice: alice3, bob: bob3 } = await linkPair(
      { resume: true, resumed: carried },
      { resume: true, resumed: { outgoing: bobWork.outgoing, incoming: [] } },
    );
    expect(await alice3.log.waitFor('proposal-resumed')).toMatchObject({
      previous: 1,
      suspended: aliceWork.incoming[0],
    });
    expect((await alice3.log.waitFor('receive-start')).heldBytes).toBeGreaterThan(0);
    expect(await alice3.log.waitFor('receive-done')).toMatchObject({ saved: 1, failed: 0 });
    expect(alice3.link.suspended.incoming).toEqual([]);
    expect((await readdir(cutRun.aliceOut)).sort()).toEqual(['b-small.bin', 'from-bob.bin']);
    expect(await digest(path.join(cutRun.aliceOut, 'from-bob.bin'))).toBe(
      await digest(cutRun.fromBob),
    );
    await Promise.all([alice3.link.quit(), bob3.link.quit()]);
  });

  it('a transfer going on after a carried one with the same offer id continues its own number', async () => {
    // Alice's conversation numbers the offers of all three connections.
    const conversation = new Numbering();
    const log = new EventLog<ConversationEvents>(conversation, [
      'offer',
      'transfer-done',
      'transfer-resumed',
    ]);
    const cutRun = await cutBothWays((link) => conversation.follow(link));
    const first = suspendedOf(cutRun.aliceEnd);
    conversation.unfollow(cutRun.alice.link, first);
    const carried = first.incoming;
    expect(carried.map((item) => item.offer)).toEqual([1]);
    // On the second, bob does not propose again what the first one cut, but something new, as
    // offer 1 again; it is cut too.
    const src = await tempDir();
    const second = await relayedPair(
      4 * MiB,
      {
        resume: true,
        resumed: { outgoing: [], incoming: carried },
      },
      { resume: true },
    );
    conversation.follow(second.alice.link);
    second.bob.link.propose(await scanOffer([await makeFile(src, 'new.bin', SIZE, 5)]));
    const offer = await log.waitFor('offer', 1);
    expect(offer.offer.entries.map((entry) => entry.path)).toEqual(['new.bin']);
    await conversation.accept(offer.number, cutRun.aliceOut);
    await second.passedOneWay();
    await second.alice.log.waitUntil(
      () => second.alice.log.all('receive-progress').length > 0,
      'part of new.bin received before the cut',
    );
    second.cut();
    const [aliceEnd, bobEnd] = await within(
      Promise.all([second.alice.ended, second.bob.ended]),
      'the second links to end',
    );
    const suspended = suspendedOf(aliceEnd);
    expect(suspended.incoming.map((item) => item.offer)).toEqual([1, 1]);
    conversation.unfollow(second.alice.link, suspended);

    const third = await linkPair(
      { resume: true, resumed: suspended },
      { resume: true, resumed: { outgoing: suspendedOf(bobEnd).outgoing, incoming: [] } },
    );
    conversation.follow(third.alice.link);
    expect(await third.alice.log.waitFor('proposal-resumed')).toMatchObject({
      suspended: suspended.incoming[1],
    });
    expect(await log.waitFor('transfer-resumed')).toMatchObject({
      previous: offer.number,
      direction: 'in',
    });
    await Promise.all([third.alice.link.quit(), third.bob.link.quit()]);
  });

  it('a re-proposal of an offer that was still waiting for an answer is asked again', async () => {
    const file = await makeFile(await tempDir(), 'asked.bin', 1000, 4);
    const { alice, bob } = await linkPair({ resume: true }, { resume: true });
    alice.link.propose(await scanOffer([file]));
    await bob.log.waitFor('proposal');
    bob.link.connection.socket.resetAndDestroy();
    const [aliceEnd, bobEnd] = await within(Promise.all([alice.ended, bob.ended]), 'the cut');
    const aliceWork = suspendedOf(aliceEnd);
    expect(aliceWork.outgoing.map((o) => o.offer)).toEqual([1]);
    expect(suspendedOf(bobEnd).incoming).toEqual([]);
    const { alice: alice2, bob: bob2 } = await linkPair(
      { resume: true, resumed: aliceWork },
      { resume: true, resumed: suspendedOf(bobEnd) },
    );
    expect(await alice2.log.waitFor('reproposed')).toMatchObject({ offer: 1, previous: 1 });
    const proposal = await bob2.log.waitFor('proposal');
    expect(proposal.offer).toBe(1);
    expect(bob2.log.all('proposal-resumed')).toEqual([]);
    await Promise.all([alice2.link.quit(), bob2.link.quit()]);
  });

  it('D4: accepting the same files into the same folder resumes from disk, and a changed source starts over from 0 (file-restarted both ways)', async () => {
    const cutRun = await cutBothWays();
    const kept = await suspendedOf(cutRun.bobEnd).incoming[0]!.keep();
    expect(kept?.heldBytes).toBeGreaterThan(0);
    // The source changes (same size) before alice proposes it again, as a new proposal.
    const changed = await makeFile(path.dirname(cutRun.fromAlice), 'from-alice.bin', SIZE, 99);
    const { alice: alice2, bob: bob2 } = await linkPair({ resume: true }, { resume: true });
    alice2.link.propose(await scanOffer([changed]));
    await bob2.log.waitFor('proposal');
    await bob2.link.accept(1, cutRun.bobOut);
    expect((await bob2.log.waitFor('receive-start')).heldBytes).toBe(kept!.heldBytes);
    expect(await alice2.log.waitFor('file-restarted')).toEqual({
      offer: 1,
      direction: 'out',
      path: 'from-alice.bin',
      reason: 'differs',
    });
    expect(await bob2.log.waitFor('file-restarted')).toEqual({
      offer: 1,
      direction: 'in',
      path: 'from-alice.bin',
      reason: 'changed',
    });
    expect(await bob2.log.waitFor('receive-done')).toMatchObject({ saved: 1, failed: 0 });
    expect((await readdir(cutRun.bobOut)).sort()).toEqual(['a-small.bin', 'from-alice.bin']);
    expect(await digest(path.join(cutRun.bobOut, 'from-alice.bin'))).toBe(await digest(changed));
    await Promise.all([alice2.link.quit(), bob2.link.quit()]);
  });
});

describe('what is kept when a transfer is not resumed (§13.11 item 9)', () => {
  it('D9: a recipient that cuts its peer off keeps the partial folder holding the bytes that arrived (partial-kept)', async () => {
    const src = await tempDir();
    const out = await tempDir();
    const file = await makeFile(src, 'big.bin', 12 * MiB, 7);
    const { alice, bob, passedOneWay } = await relayedPair(4 * MiB, { resume: true });
    bob.link.propose(await scanOffer([file]));
    await alice.log.waitFor('proposal');
    await alice.link.accept(1, out);
    await passedOneWay();
    // Passed the relay is not yet arrived: alice must have taken some of it in.
    await alice.log.waitFor('receive-progress');
    alice.link.cutOff(new LimitError('enough'));
    expect((await within(alice.ended, 'the link to end')).kind).toBe('cut-off');
    const kept = await alice.log.waitFor('partial-kept');
    expect(kept).toMatchObject({ offer: 1, outDir: out });
    expect(path.dirname(kept.dir)).toBe(out);
    expect((await readdir(kept.dir)).sort()).toContain('state.json');
    expect(await alice.log.waitFor('receive-done')).toMatchObject({
      code: ErrorCode.LIMIT_EXCEEDED,
      saved: 0,
    });
    expect(alice.log.all('receive-done')[0]?.suspended).toBeUndefined();
    // The proposer got the ERROR: an ending by ERROR is never suspended, its transfer failed.
    const bobEnd = await within(bob.ended, 'the other link to end');
    expect(bobEnd).toMatchObject({ kind: 'lost', error: { code: ErrorCode.LIMIT_EXCEEDED } });
    expect(bobEnd.kind === 'lost' && bobEnd.suspended).toBeUndefined();
    expect(await bob.log.waitFor('send-done')).toMatchObject({ code: ErrorCode.LIMIT_EXCEEDED });
    expect(bob.log.all('send-done')[0]?.suspended).toBeUndefined();
  });
  it('D2: TX_ABORT ERR_SOURCE_UNREADABLE keeps the bytes that arrived in the partial folder to resume from (partial-kept)', async () => {
    const out = await tempDir();
    const { link, log, peer } = await scriptedPeer('joiner', { resume: true });
    await peer.send(FrameType.PROPOSE, {
      offer: 1,
      entries: [{ kind: 'file', path: 'a.bin', size: 10 }],
    });
    await log.waitFor('proposal');
    await link.accept(1, out);
    await expectFrame(peer, FrameType.ACCEPT);
    await peer.send(FrameType.TX_START, { offer: 1, id: 0, offset: 0, size: 10 });
    peer.socket.write(txDataFrame(1, '0123'));
    await peer.send(FrameType.TX_ABORT, {
      offer: 1,
      id: 0,
      code: ErrorCode.SOURCE_UNREADABLE,
      message: 'the file could not be read',
    });
    expect(await expectFrame(peer, FrameType.TX_ACK)).toEqual({
      offer: 1,
      id: 0,
      ok: false,
      code: ErrorCode.SOURCE_UNREADABLE,
    });
    const kept = await log.waitFor('partial-kept');
    expect(kept).toMatchObject({ offer: 1, outDir: out });
    expect(await log.waitFor('receive-done')).toMatchObject({ saved: 0, failed: 1 });
    const parts = (await readdir(kept.dir)).filter((name) => name.endsWith('.part'));
    expect(parts).toHaveLength(1);
    expect(await readFile(path.join(kept.dir, parts[0]!), 'utf8')).toBe('0123');
    expect(await readdir(out)).toEqual([path.basename(kept.dir)]);
  });
});

describe('files already there (§13.11, §13.6)', () => {
  it('D2: a file already there whole is confirmed by its digest and not written again', async () => {
    const src = await tempDir();
    const out = await tempDir();
    const file = await makeFile(src, 'same.bin', 3 * MiB, 5);
    await makeFile(out, 'same.bin', 3 * MiB, 5);
    const before = await stat(path.join(out, 'same.bin'));
    const { alice, bob } = await linkPair({ resume: true }, { resume: true });
    alice.link.propose(await scanOffer([file]));
    await bob.log.waitFor('proposal');
    await bob.link.accept(1, out);
    expect(await bob.log.waitFor('receive-start')).toMatchObject({
      files: 1,
      bytes: 0,
      heldBytes: 3 * MiB,
      present: 1,
    });
    expect(await bob.log.waitFor('file-saved')).toMatchObject({
      present: true,
      path: path.join(out, 'same.bin'),
      offered: 'same.bin',
    });
    expect(await bob.log.waitFor('receive-done')).toMatchObject({ saved: 1, failed: 0 });
    expect(await alice.log.waitFor('send-done')).toMatchObject({ saved: 1, failed: 0 });
    expect((await alice.log.waitFor('send-start')).skippedBytes).toBe(3 * MiB);
    expect(await readdir(out)).toEqual(['same.bin']);
    const after = await stat(path.join(out, 'same.bin'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(alice.link.connection.socket.bytesWritten).toBeLessThan(64 * 1024);
    await Promise.all([alice.link.quit(), bob.link.quit()]);
  });
  it('D2: a file of the same name and size with other bytes stays as it is, and the offered one is saved beside it', async () => {
    const src = await tempDir();
    const out = await tempDir();
    const file = await makeFile(src, 'same.bin', MiB, 5);
    await makeFile(out, 'same.bin', MiB, 6);
    const theirs = await digest(path.join(out, 'same.bin'));
    const { alice, bob } = await linkPair({ resume: true }, { resume: true });
    alice.link.propose(await scanOffer([file]));
    await bob.log.waitFor('proposal');
    await bob.link.accept(1, out);
    expect((await bob.log.waitFor('receive-start')).present).toBe(1);
    expect(await alice.log.waitFor('file-restarted')).toMatchObject({
      direction: 'out',
      reason: 'differs',
    });
    expect(await bob.log.waitFor('file-restarted')).toEqual({
      offer: 1,
      direction: 'in',
      path: 'same.bin',
      reason: 'differs',
    });
    const saved = await bob.log.waitFor('file-saved');
    expect(saved).toMatchObject({ path: path.join(out, 'same (1).bin'), offered: 'same.bin' });
    expect('present' in saved).toBe(false);
    expect(await bob.log.waitFor('receive-done')).toMatchObject({ saved: 1, failed: 0 });
    expect(await digest(path.join(out, 'same.bin'))).toBe(theirs);
    expect(await digest(path.join(out, 'same (1).bin'))).toBe(await digest(file));
    expect((await readdir(out)).sort()).toEqual(['same (1).bin', 'same.bin']);
    await Promise.all([alice.link.quit(), bob.link.quit()]);
  });
});

/** Alice's conversation over links the test makes: their offers numbered as the user sees them. */
class Numbering extends ConversationBase {
  get self(): ChatPeer {
    return { peer: 0, name: 'alice', key: '', address: '', transfers: 0 };
  }
  peers(): readonly ChatPeer[] {
    return [];
  }
  say(): void {}
  async send(): Promise<readonly number[]> {
    return [];
  }
  async quit(): Promise<void> {}
  /** Numbers the offers of `link`, a link with bob. */
  follow(link: ChatLink): void {
    this.attach(link, () => ({ peer: 1, name: 'bob' }));
  }
  /** Forgets `link`, which ended, keeping the numbers of what it `suspended`. */
  unfollow(link: ChatLink, suspended: SuspendedWork): void {
    this.detach(link, suspended);
  }
}
