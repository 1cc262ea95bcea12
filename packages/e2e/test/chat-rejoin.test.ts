/**
 * A conversation that heals (PROTOCOL.md §13.11), in-process on loopback: the listener's room
 * served by the sender core, joiners made by the receiver core, a relay between them that
 * resets the connection. WELCOME's ticket, a joiner that reconnects by itself with it, a ticket
 * another key cannot use, and a clear joiner that is asked about again.
 */
import net from 'node:net';
import {
  CHAT_FEATURE,
  FrameType,
  normalizeCode,
  PairingCodes,
  RESUME_FEATURE,
  type Welcome,
} from '@ferry/protocol';
import {
  Connection,
  Deadline,
  derivePasswordScalar,
  exchangePreamble,
  loadOrCreateIdentity,
  secureClient,
  shortFingerprint,
  TrustStore,
} from '@ferry/protocol/node';
import { startCutRelay } from '@ferry/testkit/cut-relay';
import { makeTempDir } from '@ferry/testkit/files';
import { connectScriptedReceiver, type ScriptedReceiver } from '@ferry/testkit/hostile';
import { onCleanup, within } from '@ferry/testkit/unit';
import { describe, expect, it } from 'vitest';
import { join, startRoom } from '../src/chat-core.ts';

/** Reconnecting quickly, as a test may: the first wait 20 ms, never more than 200 ms. */
const FAST = { firstMs: 20, maxMs: 200 };

/** An encrypted listener (alice) whose joiners pair with the code it shows now. */
async function startPairedRoom() {
  const aliceConfig = await makeTempDir('alice-config');
  const aliceIdentity = await loadOrCreateIdentity(aliceConfig);
  const started = await startRoom({
    room: { key: shortFingerprint(aliceIdentity.fingerprint) },
    sender: {
      security: {
        encryption: true,
        identity: aliceIdentity,
        trust: await TrustStore.open(aliceConfig, 'receiver'),
        pairing: new PairingCodes(derivePasswordScalar),
        remember: false,
      },
    },
  });
  let codes = 0;
  /** The pairing code the listener shows now (each pairs once). */
  const nextCode = async () =>
    normalizeCode((await started.senderLog.waitFor('code', codes++)).code)!;
  return { ...started, aliceIdentity, nextCode };
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
    const { port, nextCode, aliceIdentity } = await startPairedRoom();
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
  });

  it('a paired joiner whose connection is reset reconnects by itself with its ticket, no code', async () => {
    const { room, log, port, senderLog } = await startPairedRoom();
    const relay = await startCutRelay(port);
    const config = await makeTempDir('bob-config');
    const identity = await loadOrCreateIdentity(config);
    const code = normalizeCode((await senderLog.waitFor('code')).code)!;
    const bob = await join(relay.port, 'bob', {
      security: {
        encryption: true,
        identity,
        trust: await TrustStore.open(config, 'sender'),
        code,
        remember: false,
      },
      retryMs: 20_000,
      backoff: FAST,
    });
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
      key: shortFingerprint(identity.fingerprint),
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
});
