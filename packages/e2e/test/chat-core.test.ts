/**
 * The chat core in-process on loopback (PROTOCOL.md §12): the listener's room served by the
 * sender core, joiners made by the receiver core. Messages, relays, proposals both ways,
 * several transfers at once, fairness and credit, joiners that come, go and get lost.
 */
import { readdirSync } from 'node:fs';
import { PARTIAL_DIR_PREFIX } from '@ferry/engine';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CHAT, CHAT_DATA_CHUNK_BYTES, FrameType } from '@ferry/protocol';
import { shortFingerprint } from '@ferry/protocol/node';
import {
  hashTree,
  listTree,
  makeTempDir,
  randomFileAlone,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/files';
import { joinChatByHand } from '@ferry/testkit/hostile';
import { startTap } from '@ferry/testkit/relays';
import { within } from '@ferry/testkit/unit';
import { describe, expect, it } from 'vitest';
import { acceptAll, join, startPairedRoom, startRoom } from '../src/chat-core.ts';

const MiB = 1024 * 1024;

/** Whether every path listed is inside a partial folder: nothing under a final name. */
const onlyPartial = (names: readonly string[]) =>
  names.every((name) => name.startsWith(PARTIAL_DIR_PREFIX));

/** A folder holding `note.txt` and `photos/` (a file, a nested file and an empty folder). */
async function sources(label: string, bigBytes = 3 * MiB) {
  const dir = await makeTempDir(label);
  const note = await writeFileAt(dir, 'note.txt', `a note from ${label}\n`);
  await writeFileAt(dir, 'photos/a.txt', 'alpha');
  await writeRandomFile(path.join(dir, 'photos', 'sub', 'b.bin'), bigBytes);
  await fs.mkdir(path.join(dir, 'photos', 'empty'));
  return { dir, paths: [note, path.join(dir, 'photos')] };
}

describe('chat core', () => {
  it("messages go both ways, and the listener relays each joiner's to the others only", async () => {
    const { room, log, port } = await startRoom();
    const bob = await join(port, 'bob');
    const carol = await join(port, 'carol');
    await log.waitFor('joined', 1);
    expect((await bob.log.waitFor('joined')).name).toBe('carol');
    expect(carol.conversation.peers().map((peer) => peer.name)).toEqual(['alice', 'bob']);

    room.say('hello everyone');
    expect(await bob.log.waitFor('message')).toEqual({
      peer: 0,
      name: 'alice',
      text: 'hello everyone',
    });
    expect(await carol.log.waitFor('message')).toEqual({
      peer: 0,
      name: 'alice',
      text: 'hello everyone',
    });

    bob.conversation.say('hi from bob ✓');
    expect(await log.waitFor('message')).toEqual({ peer: 1, name: 'bob', text: 'hi from bob ✓' });
    expect(await carol.log.waitFor('message', 1)).toEqual({
      peer: 1,
      name: 'bob',
      text: 'hi from bob ✓',
    });

    carol.conversation.say('carol here');
    expect(await log.waitFor('message', 1)).toMatchObject({ name: 'carol', text: 'carol here' });
    expect(await bob.log.waitFor('message', 1)).toEqual({
      peer: 2,
      name: 'carol',
      text: 'carol here',
    });
    // Nobody hears their own message back.
    expect(bob.log.all('message').map((m) => m.name)).toEqual(['alice', 'carol']);
    expect(carol.log.all('message').map((m) => m.name)).toEqual(['alice', 'bob']);
  });

  it('makes names unique: a second bob is bob-2, a joiner called like the listener alice-2', async () => {
    const { room, log, port } = await startRoom();
    const bob = await join(port, 'bob');
    const bob2 = await join(port, 'bob');
    const alice2 = await join(port, 'alice');
    expect(bob.conversation.self.name).toBe('bob');
    expect(bob2.conversation.self.name).toBe('bob-2');
    expect(alice2.conversation.self.name).toBe('alice-2');
    await log.waitFor('joined', 2);
    expect(room.peers().map((peer) => peer.name)).toEqual(['bob', 'bob-2', 'alice-2']);
    expect((await bob.log.waitFor('joined', 1)).name).toBe('alice-2');
  });

  it('refuses a joiner past maxPeers with ERR_LIMIT_EXCEEDED, and takes one again when a place is free', async () => {
    const { log, port } = await startRoom({ room: { maxPeers: 2 } });
    const bob = await join(port, 'bob');
    await join(port, 'carol');
    await expect(join(port, 'dave')).rejects.toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    await bob.conversation.quit();
    expect(await log.waitFor('left')).toMatchObject({ name: 'bob', reason: 'quit' });
    const dave = await join(port, 'dave');
    expect(dave.conversation.self.name).toBe('dave');
  });

  it('sends a file and a folder each way, byte-identical, empty folders included', async () => {
    const { room, log, port } = await startRoom();
    const bob = await join(port, 'bob');
    await log.waitFor('joined');

    const fromAlice = await sources('alice');
    const bobDir = await makeTempDir('bob-in');
    acceptAll(bob.conversation, bobDir);
    await room.send(fromAlice.paths);
    const received = await bob.log.waitFor('transfer-done');
    expect(received).toMatchObject({ direction: 'in', name: 'alice', saved: 3, failed: 0 });
    expect(await log.waitFor('transfer-done')).toMatchObject({
      direction: 'out',
      name: 'bob',
      saved: 3,
      failed: 0,
    });
    expect(await hashTree(bobDir)).toEqual(await hashTree(fromAlice.dir));

    const fromBob = await sources('bob');
    const aliceDir = await makeTempDir('alice-in');
    acceptAll(room, aliceDir);
    await bob.conversation.send(fromBob.paths);
    expect(await log.waitFor('transfer-done', 1)).toMatchObject({
      direction: 'in',
      name: 'bob',
      saved: 3,
      failed: 0,
    });
    expect(await bob.log.waitFor('transfer-done', 1)).toMatchObject({
      direction: 'out',
      saved: 3,
      failed: 0,
    });
    expect(await hashTree(aliceDir)).toEqual(await hashTree(fromBob.dir));
  });

  it('a send to one joiner reaches only that joiner', async () => {
    const { room, log, port } = await startRoom();
    const bob = await join(port, 'bob');
    const carol = await join(port, 'carol');
    await log.waitFor('joined', 1);
    const bobDir = await makeTempDir('bob-in');
    acceptAll(bob.conversation, bobDir);
    const { paths } = await sources('alice', 1024);
    const bobPeer = room.peers().find((peer) => peer.name === 'bob')!.peer;
    expect(await room.send(paths, bobPeer)).toHaveLength(1);
    await bob.log.waitFor('transfer-done');
    // What goes to carol goes in order: a message after the offer would come after it.
    room.say('done');
    await carol.log.waitFor('message');
    expect(carol.log.all('offer')).toEqual([]);
    expect(bob.log.all('offer')).toHaveLength(1);
  });

  it('a declined proposal tells the proposer ERR_DECLINED and writes nothing, either way', async () => {
    const { room, log, port } = await startRoom();
    const bob = await join(port, 'bob');
    await log.waitFor('joined');
    const { paths } = await sources('alice', 1024);
    await room.send(paths);
    const offer = await bob.log.waitFor('offer');
    expect(bob.conversation.waiting().map((o) => o.number)).toEqual([offer.number]);
    await bob.conversation.decline(offer.number);
    expect(await log.waitFor('declined')).toMatchObject({ name: 'bob', code: 'ERR_DECLINED' });
    expect(bob.conversation.waiting()).toEqual([]);

    await bob.conversation.send(paths);
    const incoming = await log.waitFor('offer');
    await room.decline(incoming.number);
    expect(await bob.log.waitFor('declined')).toMatchObject({
      name: 'alice',
      code: 'ERR_DECLINED',
    });
    expect(log.all('transfer-start')).toEqual([]);
    expect(bob.log.all('transfer-start')).toEqual([]);
  });

  it('runs several transfers at once in both directions while messages go between them', async () => {
    const { room, log, port } = await startRoom();
    const bob = await join(port, 'bob');
    await log.waitFor('joined');
    const aliceDir = await makeTempDir('alice-in');
    const bobDir = await makeTempDir('bob-in');
    acceptAll(room, aliceDir);
    acceptAll(bob.conversation, bobDir);
    const a1 = await randomFileAlone('a1', 12 * MiB);
    const a2 = await sources('a2');
    const b1 = await randomFileAlone('b1', 12 * MiB);
    const b2 = await sources('b2');
    await room.send([a1.file]);
    await bob.conversation.send([b1.file]);
    room.say('one');
    await room.send(a2.paths);
    bob.conversation.say('two');
    await bob.conversation.send(b2.paths);
    room.say('three');
    bob.conversation.say('four');
    for (let i = 0; i < 4; i++) {
      await log.waitFor('transfer-done', i);
      await bob.log.waitFor('transfer-done', i);
    }
    expect(bob.log.all('message').map((m) => m.text)).toEqual(['one', 'three']);
    expect(log.all('message').map((m) => m.text)).toEqual(['two', 'four']);
    for (const done of [...log.all('transfer-done'), ...bob.log.all('transfer-done')]) {
      expect(done).toMatchObject({ failed: 0 });
      expect(done.code).toBeUndefined();
    }
    // The transfers overlapped: each side had more than one running at some point.
    const starts = (events: { name: string | number | symbol }[]) => {
      let running = 0;
      let most = 0;
      for (const event of events) {
        if (event.name === 'transfer-start') most = Math.max(most, ++running);
        if (event.name === 'transfer-done') running--;
      }
      return most;
    };
    expect(starts(log.seen)).toBeGreaterThan(1);
    expect(await hashTree(path.join(bobDir))).toEqual({
      ...(await hashTree(a1.dir)),
      ...(await hashTree(a2.dir)),
    });
    expect(await hashTree(aliceDir)).toEqual({
      ...(await hashTree(b1.dir)),
      ...(await hashTree(b2.dir)),
    });
  });

  it('a message said while a large file moves arrives before the file ends, both ways', async () => {
    const { room, log, port } = await startRoom();
    const bob = await join(port, 'bob');
    await log.waitFor('joined');
    const big = await randomFileAlone('big', 32 * MiB);
    acceptAll(bob.conversation, await makeTempDir('bob-in'));
    acceptAll(room, await makeTempDir('alice-in'));

    await room.send([big.file]);
    await bob.log.waitFor('progress');
    room.say('while it moves');
    await bob.log.waitFor('transfer-done');
    const bobOrder = bob.log.seen
      .map((event) => event.name)
      .filter((name) => name === 'message' || name === 'transfer-done');
    expect(bobOrder).toEqual(['message', 'transfer-done']);

    await bob.conversation.send([big.file]);
    await log.waitFor('progress');
    bob.conversation.say('and back');
    await log.waitFor('transfer-done', 1);
    const aliceOrder = log.seen
      .filter(
        (event) =>
          event.name === 'message' ||
          (event.name === 'transfer-done' &&
            (event.payload as { direction: string }).direction === 'in'),
      )
      .map((event) => event.name);
    expect(aliceOrder).toEqual(['message', 'transfer-done']);
  });

  it('credit: a proposer sends an accepted offer no more bytes than the initial credit plus the grants', async () => {
    const { room, log, port } = await startRoom({ room: { stallMs: 500 } });
    const { peer } = await joinChatByHand(port, { encryption: false, name: 'counter' });
    await log.waitFor('joined');
    const big = await randomFileAlone('big', 24 * MiB);
    const [number] = await room.send([big.file]);
    const proposal = await peer.expect(FrameType.PROPOSE);
    await peer.send(FrameType.ACCEPT, { offer: proposal.offer, files: [{ id: 0, offset: 0 }] });
    const grant = 3 * CHAT_DATA_CHUNK_BYTES;
    let bytes = 0;
    let granted = false;
    let last: unknown;
    for (;;) {
      const frame = await peer.next();
      if (frame === null) break;
      last = frame.message;
      if (frame.type !== FrameType.TX_DATA) continue;
      bytes += frame.payload.byteLength - 4;
      if (!granted && bytes >= CHAT.initialCreditBytes) {
        granted = true;
        await peer.send(FrameType.CREDIT, { offer: proposal.offer, bytes: grant });
      }
    }
    // Not a byte past what was granted; then, starved of credit, the peer is cut off.
    expect(bytes).toBe(CHAT.initialCreditBytes + grant);
    expect(last).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(await log.waitFor('transfer-done')).toMatchObject({
      number,
      direction: 'out',
      code: 'ERR_TIMEOUT',
    });
    expect(await log.waitFor('left')).toMatchObject({
      name: 'counter',
      reason: 'cut-off',
      code: 'ERR_TIMEOUT',
    });
  });

  it("a joiner lost mid-transfer leaves nothing under a final name on either side; the other joiner's transfer and messages go on", async () => {
    const { room, log, port } = await startRoom();
    const tap = await startTap(port);
    // Without reconnecting (--retry 0): lost is where it ends.
    const bob = await join(tap.port, 'bob', { retryMs: 0 });
    const carol = await join(port, 'carol');
    await log.waitFor('joined', 1);
    const aliceDir = await makeTempDir('alice-in');
    const bobDir = await makeTempDir('bob-in');
    const carolDir = await makeTempDir('carol-in');
    acceptAll(room, aliceDir);
    acceptAll(bob.conversation, bobDir);
    acceptAll(carol.conversation, carolDir);
    const toJoiners = await randomFileAlone('down', 32 * MiB);
    const fromBob = await randomFileAlone('up', 32 * MiB);
    await room.send([toJoiners.file]);
    await bob.conversation.send([fromBob.file]);
    // Both of bob's transfers are under way: then his network fails.
    await bob.log.waitFor('progress');
    await log.waitFor('transfer-start', 2);
    await log.waitFor('progress');
    tap.cut();

    expect(await within(bob.conversation.done, 'bob to leave')).toMatchObject({ reason: 'lost' });
    expect(await log.waitFor('left')).toMatchObject({ name: 'bob', reason: 'lost' });
    expect(await carol.log.waitFor('left')).toMatchObject({ name: 'bob', reason: 'lost' });
    // Nothing of either file has a final name: what arrived stays in a partial folder (§13.11).
    expect(onlyPartial(await listTree(bobDir)), String(await listTree(bobDir))).toBe(true);
    expect(onlyPartial(await listTree(aliceDir)), String(await listTree(aliceDir))).toBe(true);

    expect(await carol.log.waitFor('transfer-done')).toMatchObject({ saved: 1, failed: 0 });
    expect(await hashTree(carolDir)).toEqual(await hashTree(toJoiners.dir));
    carol.conversation.say('still here');
    expect(await log.waitFor('message')).toMatchObject({ name: 'carol', text: 'still here' });
    room.say('so am I');
    expect(await carol.log.waitFor('message')).toMatchObject({ name: 'alice', text: 'so am I' });
  });

  it('the listener quitting mid-transfer ends the conversation for every joiner with closed; what arrived is kept to resume, under no final name', async () => {
    const { room, log, port } = await startRoom();
    const bob = await join(port, 'bob');
    const carol = await join(port, 'carol');
    await log.waitFor('joined', 1);
    const aliceDir = await makeTempDir('alice-in');
    const bobDir = await makeTempDir('bob-in');
    acceptAll(room, aliceDir);
    acceptAll(bob.conversation, bobDir);
    const down = await randomFileAlone('down', 32 * MiB);
    const up = await randomFileAlone('up', 32 * MiB);
    const bobPeer = room.peers().find((peer) => peer.name === 'bob')!.peer;
    // What each folder holds at the moment its side reports the transfer over.
    const atDone: string[][] = [];
    bob.conversation.on('transfer-done', (done) => {
      if (done.direction === 'in') atDone.push(readdirSync(bobDir));
    });
    room.on('transfer-done', (done) => {
      if (done.direction === 'in') atDone.push(readdirSync(aliceDir));
    });
    await room.send([down.file], bobPeer);
    await bob.conversation.send([up.file]);
    // Each side has received part of the file coming to it, not only sent part of its own.
    const receiving = (events: { direction: string; bytes: number }[]) =>
      events.some((progress) => progress.direction === 'in' && progress.bytes > 0);
    await bob.log.waitUntil(() => receiving(bob.log.all('progress')), 'bob to receive');
    await log.waitUntil(() => receiving(log.all('progress')), 'alice to receive');
    await room.quit();
    expect(await within(bob.conversation.done, 'bob to leave')).toEqual({
      reason: 'closed',
      by: 'alice',
    });
    expect(await within(carol.conversation.done, 'carol to leave')).toEqual({
      reason: 'closed',
      by: 'alice',
    });
    expect(await within(room.done, 'the room to end')).toEqual({ reason: 'quit' });
    expect(() => bob.conversation.say('anyone?')).toThrow(/ended/);
    // Both transfers ended unfinished: nothing of them has a final name on either side; what
    // arrived stays in the transfer's partial folder, and the side is told where (§13.11).
    for (const done of [...bob.log.all('transfer-done'), ...log.all('transfer-done')])
      expect(done.code).toBeDefined();
    expect(onlyPartial(await listTree(bobDir)), String(await listTree(bobDir))).toBe(true);
    expect((await bob.log.waitFor('partial-kept')).outDir).toBe(bobDir);
    await within(
      (async () => {
        // The room's side of bob's upload ends as its link closes, after the room has ended.
        while (log.all('transfer-done').filter((done) => done.direction === 'in').length === 0)
          await log.waitFor('transfer-done', log.all('transfer-done').length);
      })(),
      "the room to end bob's upload",
    );
    expect(onlyPartial(await listTree(aliceDir)), String(await listTree(aliceDir))).toBe(true);
    expect(atDone.map(onlyPartial)).toEqual([true, true]);
  });

  it('pairs a joiner with the code when encrypted: keys shown, messages and a file both ways', async () => {
    const { room, log, aliceIdentity, pairedJoin } = await startPairedRoom();
    const bob = await pairedJoin('bob');
    const bobIdentity = bob.identity;
    const joined = await log.waitFor('joined');
    expect(joined.key).toBe(shortFingerprint(bobIdentity.fingerprint));
    expect(bob.conversation.peers()[0]).toMatchObject({
      name: 'alice',
      key: shortFingerprint(aliceIdentity.fingerprint),
    });
    expect(bob.conversation.self.key).toBe(shortFingerprint(bobIdentity.fingerprint));

    bob.conversation.say('over TLS');
    expect(await log.waitFor('message')).toMatchObject({ name: 'bob', text: 'over TLS' });
    room.say('paired');
    expect(await bob.log.waitFor('message')).toMatchObject({ name: 'alice', text: 'paired' });

    const fromAlice = await sources('alice');
    const bobDir = await makeTempDir('bob-in');
    acceptAll(bob.conversation, bobDir);
    await room.send(fromAlice.paths);
    expect(await bob.log.waitFor('transfer-done')).toMatchObject({ saved: 3, failed: 0 });
    expect(await hashTree(bobDir)).toEqual(await hashTree(fromAlice.dir));
    const fromBob = await sources('bob');
    const aliceDir = await makeTempDir('alice-in');
    acceptAll(room, aliceDir);
    await bob.conversation.send(fromBob.paths);
    expect(await log.waitFor('transfer-done', 1)).toMatchObject({
      direction: 'in',
      saved: 3,
      failed: 0,
    });
    expect(await hashTree(aliceDir)).toEqual(await hashTree(fromBob.dir));
  });
  it('J2: a look-alike name is told apart by its key, shown when it joins and in the list of peers', async () => {
    const { room, log, pairedJoin } = await startPairedRoom();
    const bob = await pairedJoin('bob');
    // A zero-width space: it looks like bob, it is another name, with another key.
    const impostor = await pairedJoin('bob\u200b');
    const again = await pairedJoin('bob');
    expect(impostor.conversation.self.name).toBe('bob\u200b');
    expect(again.conversation.self.name).toBe('bob-2');
    await log.waitFor('joined', 2);
    const keys = [bob, impostor, again].map(({ identity }) =>
      shortFingerprint(identity.fingerprint),
    );
    expect(new Set(keys).size).toBe(3);
    expect(room.peers().map(({ name, key }) => ({ name, key }))).toEqual([
      { name: 'bob', key: keys[0] },
      { name: 'bob\u200b', key: keys[1] },
      { name: 'bob-2', key: keys[2] },
    ]);
    // Bob hears each one join with its key, and lists them so.
    expect(await bob.log.waitFor('joined')).toMatchObject({
      name: 'bob\u200b',
      key: keys[1],
    });
    expect(await bob.log.waitFor('joined', 1)).toMatchObject({
      name: 'bob-2',
      key: keys[2],
    });
    expect(
      bob.conversation
        .peers()
        .map(({ name, key }) => ({ name, key }))
        .slice(1),
    ).toEqual([
      { name: 'bob\u200b', key: keys[1] },
      { name: 'bob-2', key: keys[2] },
    ]);
    // And the one who joined last learns everyone's key from WELCOME.
    expect(
      again.conversation
        .peers()
        .map(({ key }) => key)
        .slice(1),
    ).toEqual([keys[0], keys[1]]);
  });
});
