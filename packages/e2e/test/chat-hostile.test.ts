/**
 * Hostile peers of a conversation (PROTOCOL.md §11.12, rows T1–T7), in-process on loopback: a
 * scripted joiner breaking one rule against the real listener, and a scripted listener against
 * the real joiner. Each ends with the offender cut off with a typed ERROR, and a well-behaved
 * joiner in the same room still talking and sending files both ways, with nothing written
 * outside the folders chosen and nothing half-written left.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CHAT, FrameType } from '@ferry/protocol';
import { hashTree, listTree, makeTempDir, writeRandomFile } from '@ferry/testkit/files';
import {
  connectChatPeer,
  frame,
  type HostilePeer,
  joinChatByHand,
  startScriptedListener,
  txDataFrame,
} from '@ferry/testkit/hostile';
import { sha256, silentLogger, within } from '@ferry/testkit/unit';
import { describe, expect, it } from 'vitest';
import { type StartRoomOptions, acceptAll, join, startRoom } from '../src/chat-core.ts';
import { createJoiner } from '@ferry/receiver';

const MiB = 1024 * 1024;
const ESC = '\u001b';
const RLO = '\u202e';

/**
 * A room with a well-behaved joiner, bob: the room saves what bob sends into `aliceDir` (inside
 * `aliceBase`, which must hold nothing else), bob saves everything into `bobDir`.
 */
async function roomWithBob(options: StartRoomOptions = {}) {
  const started = await startRoom(options);
  const { room, log, port } = started;
  const bob = await join(port, 'bob', { keepaliveMs: 200 });
  await log.waitFor('joined');
  const aliceBase = await makeTempDir('alice-base');
  const aliceDir = path.join(aliceBase, 'in');
  await fs.mkdir(aliceDir);
  const bobDir = await makeTempDir('bob-in');
  acceptAll(bob.conversation, bobDir);
  // The room takes bob's offers only: what an offender proposes waits, unanswered.
  room.on('offer', (offer) => {
    if (offer.name === 'bob') room.accept(offer.number, aliceDir).catch(() => {});
  });
  return { ...started, bob, aliceBase, aliceDir, bobDir };
}

type Room = Awaited<ReturnType<typeof roomWithBob>>;

/** The offender's last frame is ERROR with `code`, and its connection is closed. */
async function cutOffWith(peer: HostilePeer, code: string) {
  await peer.allFrames();
  expect(peer.lastError(), peer.describe()).toMatchObject({ code });
}

/** The room reported the offender cut off with `code`, and bob was told it left. */
async function roomSawCutOff(ctx: Room, name: string, code: string) {
  const left = await ctx.log.waitFor('left');
  expect(left).toMatchObject({ name, reason: 'cut-off', code });
  expect(await ctx.bob.log.waitFor('left')).toMatchObject({ name, reason: 'cut-off' });
}

/**
 * Bob and the listener still exchange messages and files both ways; the listener's folder
 * holds bob's file and nothing else (no temporary file, nothing beside it).
 */
async function stillWorks(ctx: Room) {
  const { room, log, bob } = ctx;
  const heard = log.all('message').length;
  const bobHeard = bob.log.all('message').length;
  bob.conversation.say('still fine');
  expect(await log.waitFor('message', heard)).toMatchObject({ name: 'bob', text: 'still fine' });
  room.say('good');
  expect(await bob.log.waitFor('message', bobHeard)).toMatchObject({ name: 'alice', text: 'good' });

  const down = await makeTempDir('down');
  await writeRandomFile(path.join(down, 'down.bin'), 3 * MiB);
  const bobPeer = room.peers().find((peer) => peer.name === 'bob')!.peer;
  const bobDone = bob.log.all('transfer-done').length;
  await room.send([path.join(down, 'down.bin')], bobPeer);
  expect(await bob.log.waitFor('transfer-done', bobDone)).toMatchObject({
    direction: 'in',
    saved: 1,
    failed: 0,
  });
  expect(await hashTree(ctx.bobDir)).toEqual(await hashTree(down));

  const up = await makeTempDir('up');
  await writeRandomFile(path.join(up, 'up.bin'), 3 * MiB);
  let index = log.all('transfer-done').length;
  await bob.conversation.send([path.join(up, 'up.bin')]);
  for (;;) {
    const done = await log.waitFor('transfer-done', index++);
    if (done.direction !== 'in' || done.name !== 'bob') continue;
    expect(done).toMatchObject({ saved: 1, failed: 0 });
    break;
  }
  expect(await hashTree(ctx.aliceDir)).toEqual(await hashTree(up));
  expect(await listTree(ctx.aliceBase)).toEqual(['in', 'in/up.bin']);
}

/** A control frame written by hand, whatever the encoder would say of its message. */
const frameOf = (type: number, message: object) => frame(type, JSON.stringify(message));

/** A file entry of a proposal. */
const file = (p: string, size = 5) => ({ kind: 'file' as const, path: p, size });

describe('hostile chat peers', () => {
  it('T1: a message flood is cut off with ERR_LIMIT_EXCEEDED; the others go on', async () => {
    const ctx = await roomWithBob();
    const { peer } = await joinChatByHand(ctx.port, { encryption: false });
    await ctx.bob.log.waitFor('joined');
    // Past the burst in one write: the token bucket cannot have refilled.
    const flood = Array.from({ length: CHAT.messageBurst + 5 }, (_, i) =>
      frameOf(FrameType.SAY, { text: `spam ${i}` }),
    );
    await peer.write(...flood);
    await cutOffWith(peer, 'ERR_LIMIT_EXCEEDED');
    await roomSawCutOff(ctx, 'mallory', 'ERR_LIMIT_EXCEEDED');
    // What got through before the limit was relayed; nothing past it.
    expect(ctx.log.all('message').length).toBeLessThanOrEqual(CHAT.messageBurst);
    await stillWorks(ctx);
  });

  it('T1: a listener flooding SAY or RELAY is cut off by the joiner with ERR_LIMIT_EXCEEDED', async () => {
    const floods: [string, Buffer[]][] = [
      // Three bursts in one write: refilling two of them while the joiner reads the flood
      // would take seconds, so a slow machine cannot let it through.
      [
        'SAY',
        Array.from({ length: CHAT.messageBurst * 3 }, (_, i) =>
          frameOf(FrameType.SAY, { text: `spam ${i}` }),
        ),
      ],
      [
        'RELAY',
        Array.from({ length: CHAT.messageBurst * CHAT.maxPeers * 3 }, (_, i) =>
          frameOf(FrameType.RELAY, { peer: 1 + (i % 5), text: `spam ${i}` }),
        ),
      ],
    ];
    for (const [what, flood] of floods) {
      const listener = await startScriptedListener((peer) => peer.write(...flood), {
        encryption: false,
      });
      const bob = await join(listener.port, 'bob');
      const ended = await within(bob.conversation.done, `bob to cut off a ${what} flood`);
      expect(ended, what).toMatchObject({ reason: 'cut-off', code: 'ERR_LIMIT_EXCEEDED' });
      expect(bob.log.all('message').length).toBeLessThan(flood.length);
      await cutOffWith(await listener.peer(), 'ERR_LIMIT_EXCEEDED');
    }
  });

  it('T2: a message of 4097 UTF-8 bytes is cut off with ERR_BAD_MESSAGE; 4096 bytes pass', async () => {
    const ctx = await roomWithBob();
    const { peer } = await joinChatByHand(ctx.port, { encryption: false });
    const longest = 'é'.repeat(CHAT.maxTextBytes / 2);
    await peer.send(FrameType.SAY, { text: longest });
    expect(await ctx.bob.log.waitFor('message')).toMatchObject({ name: 'mallory', text: longest });
    // The encoder refuses it, so the frame is written by hand.
    await peer.write(frameOf(FrameType.SAY, { text: `${longest}x` }));
    await cutOffWith(peer, 'ERR_BAD_MESSAGE');
    await roomSawCutOff(ctx, 'mallory', 'ERR_BAD_MESSAGE');
    expect(ctx.bob.log.all('message')).toHaveLength(1);
    await stillWorks(ctx);
  });

  it('T3: escape, control and bidi characters in a name or a message cut the peer off with ERR_BAD_MESSAGE', async () => {
    const ctx = await roomWithBob();
    // In HELLO's name: refused before WELCOME, never announced.
    for (const name of [`red${ESC}[31m`, `evil${RLO}txt.exe`, 'bell\u0007', 'line\u2028break']) {
      const peer = await connectChatPeer(ctx.port, { encryption: false, name });
      await cutOffWith(peer, 'ERR_BAD_MESSAGE');
      expect(peer.types()).toEqual([FrameType.ERROR]);
    }
    // In a message: the peer is cut off, and the text reaches nobody.
    const { peer } = await joinChatByHand(ctx.port, { encryption: false });
    await peer.write(frameOf(FrameType.SAY, { text: `clear${ESC}[2Jscreen ${RLO}gnp.exe` }));
    await cutOffWith(peer, 'ERR_BAD_MESSAGE');
    await roomSawCutOff(ctx, 'mallory', 'ERR_BAD_MESSAGE');
    expect(ctx.log.all('message')).toEqual([]);
    expect(ctx.bob.log.all('message')).toEqual([]);
    expect(ctx.log.all('joined').map((joined) => joined.name)).toEqual(['bob', 'mallory']);
    await stillWorks(ctx);
  });

  it('T3: a listener sending escape or bidi characters (WELCOME, RELAY) is cut off by the joiner', async () => {
    // A name in WELCOME: the joiner refuses to join.
    const badWelcome = await startScriptedListener(async () => {}, {
      encryption: false,
      welcome: { sender: { name: `host${ESC}]0;pwned${ESC}\\`, host: 'x' } },
    });
    const refused = createJoiner({
      security: { encryption: false },
      host: '127.0.0.1',
      port: badWelcome.port,
      name: 'bob',
      logger: silentLogger,
    });
    await expect(refused.join()).rejects.toMatchObject({ code: 'ERR_BAD_MESSAGE' });
    const welcomePeer = await badWelcome.peer();
    await cutOffWith(welcomePeer, 'ERR_BAD_MESSAGE');

    // A relayed message: the joiner cuts the listener off and reports it.
    const badRelay = await startScriptedListener(
      async (peer) => {
        await peer.send(FrameType.RELAY, { peer: 3, text: 'fine' });
        await peer.write(frameOf(FrameType.RELAY, { peer: 3, text: `${RLO}evil` }));
      },
      { encryption: false },
    );
    const bob = await join(badRelay.port, 'bob');
    const ended = await within(bob.conversation.done, 'bob to cut the listener off');
    expect(ended).toMatchObject({ reason: 'cut-off', code: 'ERR_BAD_MESSAGE' });
    expect(bob.log.all('message').map((message) => message.text)).toEqual(['fine']);
    await cutOffWith(await badRelay.peer(), 'ERR_BAD_MESSAGE');
  });

  it('T4: a proposal with unsafe names is cut off with ERR_UNSAFE_OFFER and never shown', async () => {
    const ctx = await roomWithBob();
    const unsafe = [
      [file('../x')],
      [file('/etc/x')],
      [file('C:\\x')],
      [file('dir\\..\\..\\x')],
      [file(`invoice${RLO}txt.exe`)],
      [file('a/../../x')],
      [{ kind: 'dir', path: 'ok' }, file('ok/../../x')],
    ];
    for (const [i, entries] of unsafe.entries()) {
      const { peer } = await joinChatByHand(ctx.port, { encryption: false, name: `mallory${i}` });
      await peer.send(FrameType.PROPOSE, { offer: 1, entries });
      await cutOffWith(peer, 'ERR_UNSAFE_OFFER');
      expect(await ctx.log.waitFor('left', i)).toMatchObject({
        name: `mallory${i}`,
        reason: 'cut-off',
        code: 'ERR_UNSAFE_OFFER',
      });
    }
    expect(ctx.log.all('offer')).toEqual([]);
    expect(ctx.room.waiting()).toEqual([]);
    await stillWorks(ctx);
  });

  it('T4: a listener proposing unsafe names to a joiner is cut off, and nothing is written', async () => {
    const listener = await startScriptedListener(
      async (peer) => {
        await peer.send(FrameType.PROPOSE, { offer: 1, entries: [file('../escaped.txt')] });
      },
      { encryption: false },
    );
    const bob = await join(listener.port, 'bob');
    const bobBase = await makeTempDir('bob-base');
    const bobDir = path.join(bobBase, 'in');
    await fs.mkdir(bobDir);
    acceptAll(bob.conversation, bobDir);
    const ended = await within(bob.conversation.done, 'bob to cut the listener off');
    expect(ended).toMatchObject({ reason: 'cut-off', code: 'ERR_UNSAFE_OFFER' });
    expect(bob.log.all('offer')).toEqual([]);
    await cutOffWith(await listener.peer(), 'ERR_UNSAFE_OFFER');
    expect(await listTree(bobBase)).toEqual(['in']);
  });

  it('T5: transfer frames for an offer nobody accepted are cut off with ERR_UNEXPECTED_FRAME; nothing is written', async () => {
    const ctx = await roomWithBob();
    const elsewhere = await makeTempDir('elsewhere');
    /** Proposes `a.txt` (5 bytes) as offer 1; resolves with the room's local number for it. */
    const propose = async (peer: HostilePeer) => {
      const seen = ctx.log.all('offer').length;
      await peer.send(FrameType.PROPOSE, { offer: 1, entries: [file('a.txt')] });
      return (await ctx.log.waitFor('offer', seen)).number;
    };
    const start = { offer: 1, id: 0, offset: 0, size: 5 };
    const cases: [string, (peer: HostilePeer) => Promise<void>][] = [
      ['TX_DATA for an offer never proposed', (peer) => peer.write(txDataFrame(9, 'hello'))],
      [
        'TX_START for a proposal waiting for an answer',
        async (peer) => {
          await propose(peer);
          await peer.send(FrameType.TX_START, start);
        },
      ],
      [
        'TX_DATA for a proposal waiting for an answer',
        async (peer) => {
          await propose(peer);
          await peer.write(txDataFrame(1, 'hello'));
        },
      ],
      [
        'TX_END for a proposal waiting for an answer',
        async (peer) => {
          await propose(peer);
          await peer.send(FrameType.TX_END, { offer: 1, id: 0, sha256: sha256('hello') });
        },
      ],
      [
        'TX_START for a declined proposal',
        async (peer) => {
          await ctx.room.decline(await propose(peer));
          await peer.expect(FrameType.DECLINE);
          await peer.send(FrameType.TX_START, start);
        },
      ],
      [
        'TX_DATA for a finished transfer',
        async (peer) => {
          await ctx.room.accept(await propose(peer), elsewhere);
          await peer.expect(FrameType.ACCEPT);
          await peer.send(FrameType.TX_START, start);
          await peer.write(txDataFrame(1, 'hello'));
          await peer.send(FrameType.TX_END, { offer: 1, id: 0, sha256: sha256('hello') });
          expect(await peer.expect(FrameType.TX_ACK)).toMatchObject({ offer: 1, id: 0, ok: true });
          await peer.write(txDataFrame(1, 'again'));
        },
      ],
    ];
    for (const [i, [what, script]] of cases.entries()) {
      const { peer } = await joinChatByHand(ctx.port, { encryption: false, name: `mallory${i}` });
      await script(peer);
      await cutOffWith(peer, 'ERR_UNEXPECTED_FRAME');
      expect(await ctx.log.waitFor('left', i), what).toMatchObject({
        reason: 'cut-off',
        code: 'ERR_UNEXPECTED_FRAME',
      });
    }
    // Its proposals are withdrawn with it; the finished one is saved whole, and nothing else.
    expect(ctx.room.waiting()).toEqual([]);
    expect(await listTree(elsewhere)).toEqual(['a.txt']);
    expect(await fs.readFile(path.join(elsewhere, 'a.txt'), 'utf8')).toBe('hello');
    await stillWorks(ctx);
  });

  it('T5: a listener sending transfer frames for an offer the joiner never accepted is cut off', async () => {
    const listener = await startScriptedListener(
      async (peer) => {
        await peer.send(FrameType.PROPOSE, { offer: 1, entries: [file('a.txt')] });
        await peer.send(FrameType.TX_START, { offer: 1, id: 0, offset: 0, size: 5 });
        await peer.write(txDataFrame(1, 'hello'));
      },
      { encryption: false },
    );
    const bob = await join(listener.port, 'bob');
    const ended = await within(bob.conversation.done, 'bob to cut the listener off');
    expect(ended).toMatchObject({ reason: 'cut-off', code: 'ERR_UNEXPECTED_FRAME' });
    expect(bob.conversation.waiting()).toEqual([]);
    await cutOffWith(await listener.peer(), 'ERR_UNEXPECTED_FRAME');
  });

  it('T6: a reused or lower offer id is cut off with ERR_BAD_MESSAGE', async () => {
    const ctx = await roomWithBob();
    for (const [i, second] of [5, 4].entries()) {
      const { peer } = await joinChatByHand(ctx.port, { encryption: false, name: `mallory${i}` });
      const seen = ctx.log.all('offer').length;
      await peer.send(FrameType.PROPOSE, { offer: 5, entries: [file('a.txt')] });
      await ctx.log.waitFor('offer', seen);
      await peer.send(FrameType.PROPOSE, { offer: second, entries: [file('b.txt')] });
      await cutOffWith(peer, 'ERR_BAD_MESSAGE');
      expect(await ctx.log.waitFor('left', i)).toMatchObject({
        reason: 'cut-off',
        code: 'ERR_BAD_MESSAGE',
      });
    }
    expect(ctx.log.all('offer')).toHaveLength(2);
    expect(ctx.room.waiting()).toEqual([]);
    await stillWorks(ctx);
  });

  it('T7: a joiner that accepts a file and never grants credit is cut off with ERR_TIMEOUT after the initial credit', async () => {
    const ctx = await roomWithBob({ room: { stallMs: 500, keepaliveMs: 200 } });
    const { peer } = await joinChatByHand(ctx.port, { encryption: false });
    const source = await makeTempDir('big');
    await writeRandomFile(path.join(source, 'big.bin'), 16 * MiB);
    const mallory = ctx.room.peers().find((p) => p.name === 'mallory')!.peer;
    const [number] = await ctx.room.send([path.join(source, 'big.bin')], mallory);
    const proposal = await peer.expect(FrameType.PROPOSE);
    await peer.send(FrameType.ACCEPT, { offer: proposal.offer, files: [{ id: 0, offset: 0 }] });
    await cutOffWith(peer, 'ERR_TIMEOUT');
    const data = peer.frames.filter((frame) => frame.type === FrameType.TX_DATA);
    expect(data.reduce((sum, frame) => sum + frame.payload.byteLength - 4, 0)).toBe(
      CHAT.initialCreditBytes,
    );
    expect(await ctx.log.waitFor('transfer-done')).toMatchObject({
      number,
      direction: 'out',
      code: 'ERR_TIMEOUT',
    });
    await roomSawCutOff(ctx, 'mallory', 'ERR_TIMEOUT');
    await stillWorks(ctx);
  });

  it('T7: a joiner that accepts a file and stops reading is cut off with ERR_TIMEOUT; the others go on', async () => {
    const ctx = await roomWithBob({
      room: { stallMs: 1_000, keepaliveMs: 200 },
    });
    const { peer } = await joinChatByHand(ctx.port, { encryption: false });
    const source = await makeTempDir('big');
    await writeRandomFile(path.join(source, 'big.bin'), 64 * MiB);
    const mallory = ctx.room.peers().find((p) => p.name === 'mallory')!.peer;
    await ctx.room.send([path.join(source, 'big.bin')], mallory);
    const proposal = await peer.expect(FrameType.PROPOSE);
    // It stops reading, but keeps the connection alive: PINGs, never a CREDIT.
    peer.socket.pause();
    await peer.send(FrameType.ACCEPT, { offer: proposal.offer, files: [{ id: 0, offset: 0 }] });
    const pings = setInterval(() => void peer.write(frame(FrameType.PING)), 200);
    let left: Awaited<ReturnType<typeof ctx.log.waitFor<'left'>>>;
    try {
      left = await ctx.log.waitFor('left');
    } finally {
      clearInterval(pings);
    }
    expect(left).toMatchObject({ name: 'mallory', reason: 'cut-off', code: 'ERR_TIMEOUT' });
    expect(await ctx.bob.log.waitFor('left')).toMatchObject({ name: 'mallory', reason: 'cut-off' });
    // Reading again, it finds its connection closed.
    peer.socket.resume();
    await peer.allFrames();
    await stillWorks(ctx);
  });
  it("J6: peer ids are the listener's, 1, 2, 3 in join order and never reused; a joiner cannot speak for another", async () => {
    const ctx = await roomWithBob();
    const carol = await join(ctx.port, 'carol');
    expect(ctx.bob.conversation.self.peer).toBe(1);
    expect(carol.conversation.self.peer).toBe(2);
    await carol.conversation.quit();
    expect(await ctx.log.waitFor('left')).toMatchObject({ peer: 2, name: 'carol', reason: 'quit' });
    // Frames only the listener sends: a joiner that sends them is cut off.
    const claims: [number, object][] = [
      [FrameType.RELAY, { peer: 1, text: 'I am bob' }],
      [FrameType.JOINED, { peer: 1, name: 'bob', key: '' }],
      [FrameType.LEFT, { peer: 1, reason: 'quit' }],
      [
        FrameType.WELCOME,
        {
          session: '0'.repeat(32),
          sender: { name: 'x', host: 'x' },
          you: 1,
          name: 'bob',
          peers: [],
        },
      ],
    ];
    for (const [i, [type, message]] of claims.entries()) {
      const { peer, welcome } = await joinChatByHand(ctx.port, {
        encryption: false,
        name: `mallory${i}`,
      });
      // Never 2 again: each joiner gets the next id.
      expect(welcome.you).toBe(3 + i);
      expect(welcome.peers).toEqual([{ peer: 1, name: 'bob', key: '' }]);
      await peer.write(frameOf(type, message));
      await cutOffWith(peer, 'ERR_UNEXPECTED_FRAME');
      expect(await ctx.log.waitFor('left', 1 + i)).toMatchObject({
        peer: 3 + i,
        reason: 'cut-off',
      });
    }
    expect(ctx.bob.log.all('message')).toEqual([]);
    // Bob heard of nobody leaving but carol and the four offenders: never of himself.
    await ctx.bob.log.waitFor('left', 4);
    expect(ctx.bob.log.all('left').map((left) => left.peer)).toEqual([2, 3, 4, 5, 6]);
    await stillWorks(ctx);
  });

  it('answers for an offer that is not open (ACCEPT, DECLINE, CREDIT) are ERR_UNEXPECTED_FRAME; a 9th open proposal ERR_LIMIT_EXCEEDED', async () => {
    const ctx = await roomWithBob();
    const tiny = await makeTempDir('tiny');
    await fs.writeFile(path.join(tiny, 't.txt'), 'tiny');
    /** The room proposes t.txt to `name`, who reads the PROPOSE: its offer id. */
    const proposed = async (peer: HostilePeer, name: string) => {
      const to = ctx.room.peers().find((p) => p.name === name)!.peer;
      await ctx.room.send([path.join(tiny, 't.txt')], to);
      return (await peer.expect(FrameType.PROPOSE)).offer;
    };
    const cases: [string, string, (peer: HostilePeer, name: string) => Promise<void>][] = [
      [
        'ACCEPT, nothing proposed',
        'ERR_UNEXPECTED_FRAME',
        (peer) => peer.send(FrameType.ACCEPT, { offer: 1, files: [] }),
      ],
      [
        'DECLINE, nothing proposed',
        'ERR_UNEXPECTED_FRAME',
        (peer) => peer.send(FrameType.DECLINE, { offer: 1, code: 'ERR_DECLINED' }),
      ],
      [
        'CREDIT, nothing proposed',
        'ERR_UNEXPECTED_FRAME',
        (peer) => peer.send(FrameType.CREDIT, { offer: 1, bytes: 1 }),
      ],
      [
        'CREDIT for a proposal not accepted',
        'ERR_UNEXPECTED_FRAME',
        async (peer, name) => {
          const offer = await proposed(peer, name);
          await peer.send(FrameType.CREDIT, { offer, bytes: 1 });
        },
      ],
      [
        'ACCEPT twice',
        'ERR_UNEXPECTED_FRAME',
        async (peer, name) => {
          const offer = await proposed(peer, name);
          await peer.send(FrameType.ACCEPT, { offer, files: [{ id: 0, offset: 0 }] });
          await peer.expect(FrameType.TX_START);
          await peer.send(FrameType.ACCEPT, { offer, files: [{ id: 0, offset: 0 }] });
        },
      ],
      [
        'DECLINE after ACCEPT',
        'ERR_UNEXPECTED_FRAME',
        async (peer, name) => {
          const offer = await proposed(peer, name);
          await peer.send(FrameType.ACCEPT, { offer, files: [{ id: 0, offset: 0 }] });
          await peer.expect(FrameType.TX_START);
          await peer.send(FrameType.DECLINE, { offer, code: 'ERR_DECLINED' });
        },
      ],
      [
        'nine proposals open at once',
        'ERR_LIMIT_EXCEEDED',
        async (peer) => {
          for (let offer = 1; offer <= CHAT.maxOpenOffers + 1; offer++)
            await peer.send(FrameType.PROPOSE, { offer, entries: [file(`f${offer}.txt`)] });
        },
      ],
    ];
    for (const [i, [what, code, script]] of cases.entries()) {
      const name = `mallory${i}`;
      const { peer } = await joinChatByHand(ctx.port, { encryption: false, name });
      await script(peer, name);
      await cutOffWith(peer, code);
      expect(await ctx.log.waitFor('left', i), what).toMatchObject({
        name,
        reason: 'cut-off',
        code,
      });
    }
    // Eight proposals were shown, and withdrawn with their proposer.
    expect(ctx.log.all('offer').filter((offer) => offer.name === 'mallory6')).toHaveLength(
      CHAT.maxOpenOffers,
    );
    expect(ctx.room.waiting()).toEqual([]);
    await stillWorks(ctx);
  });
});
