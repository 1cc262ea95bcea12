/**
 * A conversation that heals (PROTOCOL.md §13.11), in-process on loopback: the listener's room
 * served by the sender core, joiners made by the receiver core, a relay between them that
 * resets the connection. WELCOME's ticket, a joiner that reconnects by itself with it, a ticket
 * another key cannot use, and a clear joiner that is asked about again.
 */
import net from 'node:net';
import type { ConversationEvents } from '@ferry/engine';
import { CHAT_FEATURE, FrameType, RESUME_FEATURE, type Welcome } from '@ferry/protocol';
import {
  Connection,
  Deadline,
  exchangePreamble,
  loadOrCreateIdentity,
  secureClient,
  shortFingerprint,
} from '@ferry/protocol/node';
import { type CutRelay, startCutRelay } from '@ferry/testkit/cut-relay';
import { hashTree, makeTempDir, randomFileAlone } from '@ferry/testkit/files';
import { connectScriptedReceiver, type ScriptedReceiver } from '@ferry/testkit/hostile';
import { type EventLog, onCleanup, within } from '@ferry/testkit/unit';
import { describe, expect, it } from 'vitest';
import { acceptAll, join, startPairedRoom, startRoom } from '../src/chat-core.ts';

const MiB = 1024 * 1024;
/** Each way: big enough that a cut lands mid-file, small enough for a quick test. */
const FILE_BYTES = 32 * MiB;

/** Reconnecting quickly, as a test may: the first wait 20 ms, never more than 200 ms. */
const FAST = { firstMs: 20, maxMs: 200 };

/** Waits until a third of the file bob sends through `relay` has reached the room. */
function aThirdReached(relay: CutRelay, log: EventLog<ConversationEvents>): Promise<void> {
  return within(
    (async () => {
      while (relay.fromReceiver() < FILE_BYTES / 3)
        await log.waitFor('progress', log.all('progress').length);
    })(),
    'a third of the file to reach the room',
  );
}

/** A scripted joiner's HELLO asking for the conversation, with `resume` or without. */
async function hello(peer: ScriptedReceiver, features: readonly string[]): Promise<Welcome> {
  await peer.send(FrameType.HELLO, {
    software: 'scripted-joiner/0.1.0',
    name: 'mallory',
    features: [...features],
  });
  return peer.expect(FrameType.WELCOME);
}

/**
 * Connects to 127.0.0.1:`port` with `identity`, proving `ticket` (AUTH `resume`): resolves with
 * the connection when the listener took the proof, or `code-needed` when it asked for a code.
 */
async function proveTicket(
  port: number,
  identity: ScriptedReceiver['identity'] & object,
  ticket: string,
  listenerKey: Uint8Array,
): Promise<Connection | 'code-needed'> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  onCleanup('ticket prover', () => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const deadline = new Deadline(10_000, socket, 'the listener did not answer in time');
  try {
    await exchangePreamble({ socket }, 'client', true, deadline);
    const outcome = await secureClient(
      socket,
      {
        identity,
        host: '127.0.0.1',
        ticket: Buffer.from(ticket, 'hex'),
        expectFingerprint: listenerKey,
      },
      deadline,
    );
    if (outcome.kind !== 'secured') return 'code-needed';
    return new Connection(outcome.secured.socket, { preambleDone: true });
  } finally {
    deadline.clear();
  }
}

describe('a conversation that heals', () => {
  it('WELCOME carries resume only for a joiner that lists it: an empty ticket in clear', async () => {
    const { port } = await startRoom();
    const resuming = await connectScriptedReceiver(port, { encryption: false });
    const welcome = await hello(resuming, [CHAT_FEATURE, RESUME_FEATURE]);
    expect('resume' in welcome && welcome.resume).toEqual({ ticket: '' });
    const plain = await connectScriptedReceiver(port, { encryption: false });
    expect('resume' in (await hello(plain, [CHAT_FEATURE]))).toBe(false);
  });

  it('D6: WELCOME gives a paired joiner a ticket for its key alone; another key gets code-needed', async () => {
    const { port, nextCode, aliceIdentity, log } = await startPairedRoom();
    const aliceKey = aliceIdentity.fingerprint;
    const bob = await connectScriptedReceiver(port, { code: await nextCode() });
    const welcome = await hello(bob, [CHAT_FEATURE, RESUME_FEATURE]);
    if (!('resume' in welcome)) throw new Error('WELCOME without resume');
    const ticket = welcome.resume.ticket;
    expect(ticket).toMatch(/^[0-9a-f]{64}$/);
    // Without `resume` in HELLO: no field, and no ticket issued.
    const carol = await connectScriptedReceiver(port, { code: await nextCode() });
    expect('resume' in (await hello(carol, [CHAT_FEATURE]))).toBe(false);

    // Another key showing bob's ticket is asked for a code, as anyone unknown is.
    const other = await loadOrCreateIdentity(await makeTempDir('other-config'));
    expect(await proveTicket(port, other, ticket, aliceKey)).toBe('code-needed');
    // Bob's own key proves it, and is welcomed with the same ticket again.
    const again = await proveTicket(port, bob.identity!, ticket, aliceKey);
    if (again === 'code-needed') throw new Error('the ticket was refused to its own key');
    onCleanup('bob again', () => again.destroy());
    await again.send(FrameType.HELLO, {
      software: 'scripted-joiner/0.1.0',
      name: 'bob',
      features: [CHAT_FEATURE, RESUME_FEATURE],
    });
    const rewelcome = await again.expect(FrameType.WELCOME);
    expect(rewelcome).toMatchObject({ session: welcome.session, resume: { ticket } });
    expect(rewelcome.you).not.toBe(welcome.you);
    // Its first connection was dead: the room let it go (lost) for the one that came back.
    expect(await log.waitFor('left')).toMatchObject({ peer: welcome.you, reason: 'lost' });

    // Bob says goodbye: the ticket is dropped, and proving it now gets code-needed.
    await again.send(FrameType.BYE, {});
    expect(await log.waitFor('left', 1)).toMatchObject({ peer: rewelcome.you, reason: 'quit' });
    expect(await proveTicket(port, bob.identity!, ticket, aliceKey)).toBe('code-needed');
  });

  it('D6: two rejoins with one ticket at once leave one joiner in the room: the earlier one is let go (lost)', async () => {
    const { room, port, nextCode, aliceIdentity, log } = await startPairedRoom();
    const aliceKey = aliceIdentity.fingerprint;
    const bob = await connectScriptedReceiver(port, { code: await nextCode() });
    const welcome = await hello(bob, [CHAT_FEATURE, RESUME_FEATURE]);
    if (!('resume' in welcome)) throw new Error('WELCOME without resume');
    await log.waitFor('joined');
    const tries = await Promise.all([
      proveTicket(port, bob.identity!, welcome.resume.ticket, aliceKey),
      proveTicket(port, bob.identity!, welcome.resume.ticket, aliceKey),
    ]);
    const again: Connection[] = [];
    for (const attempt of tries) {
      if (attempt === 'code-needed') throw new Error('the ticket was refused to its own key');
      onCleanup('bob again', () => attempt.destroy());
      again.push(attempt);
    }
    const greeting = {
      software: 'scripted-joiner/0.1.0',
      name: 'bob',
      features: [CHAT_FEATURE, RESUME_FEATURE],
    };
    await Promise.all(again.map((connection) => connection.send(FrameType.HELLO, greeting)));
    await Promise.all(again.map((connection) => connection.expect(FrameType.WELCOME)));
    // The dead first connection and the earlier of the two rejoins both leave, lost.
    await within(log.waitFor('left', 1), 'the earlier rejoin to be let go');
    expect(log.all('left').map((left) => left.reason)).toEqual(['lost', 'lost']);
    expect(room.peers().map((peer) => peer.name)).toEqual(['bob']);
  });

  it('a paired joiner whose connection is reset reconnects by itself with its ticket, no code', async () => {
    const { room, log, port, senderLog, pairedJoin } = await startPairedRoom();
    const relay = await startCutRelay(port);
    const bob = await pairedJoin('bob', { port: relay.port, retryMs: 20_000, backoff: FAST });
    await log.waitFor('joined');
    relay.cutNow();
    expect(await bob.log.waitFor('reconnecting')).toEqual({ by: 'alice', seconds: 20 });
    const back = await within(bob.log.waitFor('reconnected'), 'bob to reconnect');
    expect(back.by).toBe('alice');
    expect(back.self.name).toBe('bob');
    // The room saw the old connection lost, and bob join again with the same key.
    expect(await log.waitFor('left')).toMatchObject({ name: 'bob', reason: 'lost' });
    expect(await log.waitFor('joined', 1)).toMatchObject({
      name: 'bob',
      key: shortFingerprint(bob.identity.fingerprint),
    });
    expect(relay.connections.length).toBe(2);
    // No pairing code was used for it: the one shown after bob's pairing is still the current one.
    expect(senderLog.all('code').length).toBe(2);
    bob.conversation.say('after the heal');
    expect(await log.waitFor('message')).toMatchObject({ name: 'bob', text: 'after the heal' });
    room.say('welcome back');
    expect(await bob.log.waitFor('message')).toMatchObject({ text: 'welcome back' });
    expect(bob.conversation.ended).toBe(false);
  });

  it('while reconnecting, say and send tell the user to try again; with --retry 0 it ends', async () => {
    const { port } = await startRoom();
    const relay = await startCutRelay(port);
    const bob = await join(relay.port, 'bob', {
      retryMs: 20_000,
      backoff: { firstMs: 60_000, maxMs: 60_000 },
    });
    relay.cutNow();
    await bob.log.waitFor('reconnecting');
    expect(() => bob.conversation.say('hi')).toThrow(
      /reconnecting to alice: try again in a moment/,
    );
    await expect(bob.conversation.send(['.'])).rejects.toThrow(/reconnecting to alice/);
    // Leaving while reconnecting ends it at once.
    await within(bob.conversation.quit(), 'bob to leave while reconnecting');
    expect(await bob.conversation.done).toMatchObject({ reason: 'quit' });

    const relay2 = await startCutRelay(port);
    const carol = await join(relay2.port, 'carol', { retryMs: 0 });
    relay2.cutNow();
    expect(await within(carol.conversation.done, 'carol to end')).toMatchObject({
      reason: 'lost',
      by: 'alice',
    });
  });

  it('leaving while an attempt to reconnect hangs on a silent listener ends at once', async () => {
    const { port } = await startRoom();
    // The first connection goes through to the room; later ones are taken and never answered.
    const sockets: net.Socket[] = [];
    let attempted!: () => void;
    const attempt = new Promise<void>((resolve) => {
      attempted = resolve;
    });
    const proxy = net.createServer((socket) => {
      socket.on('error', () => {});
      sockets.push(socket);
      if (sockets.length > 1) return attempted();
      const up = net.connect({ host: '127.0.0.1', port });
      up.on('error', () => {});
      sockets.push(up);
      socket.pipe(up).pipe(socket);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    onCleanup('silent proxy', () => {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    });
    const { port: proxyPort } = proxy.address() as net.AddressInfo;
    const bob = await join(proxyPort, 'bob', { retryMs: 60_000, backoff: FAST });
    for (const socket of sockets) socket.destroy();
    await bob.log.waitFor('reconnecting');
    await within(attempt, 'bob to try again');
    await within(bob.conversation.quit(), 'bob to leave while its attempt hangs');
    expect(await bob.conversation.done).toMatchObject({ reason: 'quit' });
  });

  it('a rejoin with the ticket hands the stash over: transfers both ways go on from where they were', async () => {
    const { room, log, port, pairedJoin } = await startPairedRoom();
    const relay = await startCutRelay(port);
    const bob = await pairedJoin('bob', { port: relay.port, retryMs: 20_000, backoff: FAST });
    await log.waitFor('joined');
    const aliceDir = await makeTempDir('alice-in');
    const bobDir = await makeTempDir('bob-in');
    acceptAll(room, aliceDir);
    acceptAll(bob.conversation, bobDir);
    const down = await randomFileAlone('down', FILE_BYTES);
    const up = await randomFileAlone('up', FILE_BYTES);
    await room.send([down.file]);
    await bob.conversation.send([up.file]);
    await log.waitFor('transfer-start', 1);
    await bob.log.waitFor('transfer-start', 1);
    await relay.passed(FILE_BYTES / 3, 20_000);
    relay.cutNow();

    // Each side paused its two transfers, then went on with them as new numbers.
    const paused = (entries: { suspended?: boolean | undefined }[]) =>
      entries.filter((done) => done.suspended).length;
    const resumedIn = await within(log.waitFor('transfer-resumed'), 'the room to resume');
    const resumedOut = await log.waitFor('transfer-resumed', 1);
    const bobResumed = [
      await bob.log.waitFor('transfer-resumed'),
      await bob.log.waitFor('transfer-resumed', 1),
    ];
    expect(paused(log.all('transfer-done'))).toBe(2);
    expect(paused(bob.log.all('transfer-done'))).toBe(2);
    expect(bob.log.all('offer').length).toBe(1);
    expect(log.all('offer').length).toBe(1);
    // Each continues a paused one, and is announced just before its own transfer-start.
    for (const [side, resumed] of [
      [log, resumedIn],
      [log, resumedOut],
      [bob.log, bobResumed[0]!],
      [bob.log, bobResumed[1]!],
    ] as const) {
      const pausedOne = side
        .all('transfer-done')
        .find((entry) => entry.number === resumed.previous);
      expect(pausedOne).toMatchObject({ suspended: true, direction: resumed.direction });
      const order = side.seen.map(
        ({ name, payload }) => `${String(name)}:${(payload as { number?: number }).number}`,
      );
      expect(order.indexOf(`transfer-resumed:${resumed.number}`)).toBe(
        order.indexOf(`transfer-start:${resumed.number}`) - 1,
      );
    }
    const done = (entries: { code?: string | undefined; suspended?: boolean | undefined }[]) =>
      entries.filter((entry) => !entry.suspended);
    await within(
      (async () => {
        while (done(log.all('transfer-done')).length < 2)
          await log.waitFor('transfer-done', log.all('transfer-done').length);
        while (done(bob.log.all('transfer-done')).length < 2)
          await bob.log.waitFor('transfer-done', bob.log.all('transfer-done').length);
      })(),
      'both transfers to finish after the heal',
    );
    for (const entry of [...done(log.all('transfer-done')), ...done(bob.log.all('transfer-done'))])
      expect(entry).toMatchObject({ saved: 1, failed: 0 });
    expect(await hashTree(bobDir)).toEqual(await hashTree(down.dir));
    expect(await hashTree(aliceDir)).toEqual(await hashTree(up.dir));
    // What had arrived before the cut was not sent again: a cut costs at most 8 MiB per file.
    const held = [resumedIn, resumedOut, ...bobResumed].reduce((sum, r) => sum + r.heldBytes, 0);
    expect(held).toBeGreaterThan(0);
    expect(relay.fromSender() + relay.fromReceiver()).toBeLessThan(2 * FILE_BYTES + 2 * 8 * MiB);
  });

  it('in clear the listener cannot tell a rejoining joiner: it is asked again, and the same folder resumes from disk', async () => {
    const { room: alice, log, port } = await startRoom();
    const relay = await startCutRelay(port);
    const bob = await join(relay.port, 'bob', { retryMs: 20_000, backoff: FAST });
    await log.waitFor('joined');
    const aliceDir = await makeTempDir('alice-in');
    acceptAll(alice, aliceDir);
    const up = await randomFileAlone('up', FILE_BYTES);
    await bob.conversation.send([up.file]);
    await log.waitFor('transfer-start');
    // Enough of the file went through the relay to be written when the connection goes.
    await aThirdReached(relay, log);
    relay.cutNow();
    expect(
      await log.waitFor('transfer-done'),
      JSON.stringify(log.seen.filter((e) => e.name !== 'progress')),
    ).toMatchObject({ suspended: true });
    // Kept at once in clear: nobody can prove to be the one who comes back.
    const kept = await log.waitFor('partial-kept');
    expect(kept).toMatchObject({ name: 'bob', outDir: aliceDir });
    await bob.log.waitFor('reconnected');
    // Bob proposes it again: the room asks its user again, and accepting resumes from disk.
    const again = await log.waitFor('offer', 1);
    expect(again.offer.entries).toEqual((await log.waitFor('offer')).offer.entries);
    const start = await log.waitFor('transfer-start', 1);
    expect(start.bytes).toBeLessThan(FILE_BYTES);
    const finished = await within(log.waitFor('transfer-done', 1), 'the transfer to finish');
    expect(finished).toMatchObject({ saved: 1, failed: 0 });
    expect(await hashTree(aliceDir)).toEqual(await hashTree(up.dir));
  });

  it('a listener restarted meanwhile is another conversation: the joiner stops and says so', async () => {
    const first = await startRoom();
    const relay = await startCutRelay(first.port);
    const bob = await join(relay.port, 'bob', { retryMs: 20_000, backoff: FAST });
    await first.log.waitFor('joined');
    // Another listener, another session, where the old one was reached.
    const second = await startRoom({ room: { session: '1'.repeat(32) } });
    relay.retarget(second.port);
    relay.cutNow();
    const ended = await within(bob.conversation.done, 'bob to stop');
    expect(ended).toMatchObject({ reason: 'lost', by: 'alice' });
    expect(ended.message).toMatch(/the listener was restarted: join again with its new code/);
    expect(bob.log.all('reconnected')).toEqual([]);
  });

  it('a joiner that does not come back before its ticket expires: what it sent is kept, and the listener is told where', async () => {
    const { room, log, port, pairedJoin } = await startPairedRoom({ stashMs: 300 });
    const relay = await startCutRelay(port);
    const bob = await pairedJoin('bob', { port: relay.port, retryMs: 0 });
    await log.waitFor('joined');
    const aliceDir = await makeTempDir('alice-in');
    acceptAll(room, aliceDir);
    const up = await randomFileAlone('up', FILE_BYTES);
    await bob.conversation.send([up.file]);
    await log.waitFor('transfer-start');
    await aThirdReached(relay, log);
    relay.cutNow();
    const paused = await log.waitFor('transfer-done');
    expect(paused).toMatchObject({ direction: 'in', suspended: true });
    const kept = await log.waitFor('partial-kept');
    expect(kept).toMatchObject({ number: paused.number, name: 'bob', outDir: aliceDir });
    expect(kept.dir.startsWith(aliceDir)).toBe(true);
    await within(bob.conversation.done, 'bob to end');
  });

  it('D6: a paired joiner stops when the listener no longer knows its ticket (code-needed) or shows another key', async () => {
    const first = await startPairedRoom();
    /** Bob, with a key of his own, joins first's room through a relay that can be retargeted. */
    const joinThrough = async () => {
      const relay = await startCutRelay(first.port);
      const bob = await first.pairedJoin('bob', {
        port: relay.port,
        retryMs: 20_000,
        backoff: FAST,
      });
      return { relay, bob };
    };
    // The same key, started again: its tickets died with it.
    const one = await joinThrough();
    await first.log.waitFor('joined');
    const restarted = await startPairedRoom({ config: first.aliceConfig });
    one.relay.retarget(restarted.port);
    one.relay.cutNow();
    const forgotten = await within(one.bob.conversation.done, 'bob to stop');
    expect(forgotten).toMatchObject({ reason: 'lost', code: 'ERR_CODE_REQUIRED' });
    expect(forgotten.message).toMatch(/join again with its new code/);
    // Another key at the same address: the ticket is never shown to it.
    const two = await joinThrough();
    await first.log.waitFor('joined', 1);
    const other = await startPairedRoom();
    two.relay.retarget(other.port);
    two.relay.cutNow();
    const changed = await within(two.bob.conversation.done, 'bob to stop');
    expect(changed).toMatchObject({ reason: 'lost', code: 'ERR_KEY_CHANGED' });
    expect(other.senderLog.all('code').length).toBe(1);
  });
});
