/**
 * Sessions between HELLO and REQUEST (K3): in clear mode anyone can greet, so these sessions
 * are bounded in number per address and overall (SESSIONS) and in time (TIMEOUTS.decidingMs,
 * which PINGs do not extend), and every refused connection is reported.
 */
import { once } from 'node:events';
import net from 'node:net';
import {
  concatFrame,
  decodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  SESSIONS,
} from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ONE_FILE,
  onCleanup,
  receiveAll,
  runCleanup,
  startSender,
  startSenderOffering,
  within,
} from './helpers.ts';

afterEach(runCleanup);

const HELLO = concatFrame(
  FrameType.HELLO,
  new TextEncoder().encode('{"software":"idle/1","name":"idle","features":[]}'),
);
const PING = concatFrame(FrameType.PING, new Uint8Array(0));
const REQUEST_ONE = concatFrame(
  FrameType.REQUEST,
  new TextEncoder().encode('{"files":[{"id":0,"offset":0}]}'),
);

/**
 * A receiver in clear from `localAddress` that greets and then only PINGs, every `pingMs`:
 * what a person still choosing looks like on the wire, and what the K3 attack sends.
 * `outcome` resolves with the first frame type it gets (OFFER, or the ERROR of a refusal),
 * or null if the sender closes without a frame; `frames` once the sender has closed.
 */
async function idleReceiver(port: number, localAddress: string, pingMs = 1_000) {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  onCleanup('idle receiver', () => socket.destroy());
  const decoder = new FrameDecoder({ expectPreamble: true });
  const frames: { type: number; message: unknown }[] = [];
  let first: (type: number | null) => void = () => {};
  const outcome = new Promise<number | null>((resolve) => {
    first = resolve;
  });
  socket.on('data', (chunk: Buffer) => {
    for (const event of decoder.push(chunk)) {
      if (event.kind !== 'frame' || event.type === FrameType.PING) continue;
      const message =
        event.type === FrameType.ERROR ? decodeMessage(FrameType.ERROR, event.payload) : undefined;
      frames.push({ type: event.type, message });
      first(event.type);
    }
  });
  const closed = once(socket, 'close').then(() => {
    first(null);
    return frames;
  });
  await within(once(socket, 'connect'), 'connect');
  socket.write(Buffer.concat([encodePreamble(), HELLO]));
  const pinger = setInterval(() => socket.write(PING), pingMs);
  onCleanup('pings', () => clearInterval(pinger));
  void closed.then(() => clearInterval(pinger));
  return {
    socket,
    outcome: within(outcome, 'the OFFER or a refusal'),
    closed: () => within(closed, 'the sender to close'),
  };
}

describe('sessions that have not chosen yet (K3)', () => {
  it('K3: a session that PINGs after the OFFER but sends no REQUEST is told ERR_TIMEOUT and closed after decidingMs', async () => {
    const { log, port } = await startSender(ONE_FILE, { decidingMs: 300 });
    // PINGs far more often than the deadline: they keep the link alive, not the place.
    const idle = await idleReceiver(port, '127.0.0.2', 50);
    expect(await idle.outcome).toBe(FrameType.OFFER);
    const frames = await idle.closed();
    expect(frames.map((frame) => frame.type)).toEqual([FrameType.OFFER, FrameType.ERROR]);
    expect(frames[1]?.message).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect((await log.waitFor('session-failed')).code).toBe('ERR_TIMEOUT');
  });

  it(`K3: 64 clear sessions that greet and PING from one address hold at most ${SESSIONS.maxDecidingPerHost} places; the rest are refused and reported, and a receiver at another address is served`, async () => {
    const { log, port } = await startSender();
    const outcomes: (number | null)[] = [];
    for (let i = 0; i < 64; i++)
      outcomes.push(await (await idleReceiver(port, '127.0.0.2', 10_000)).outcome);
    expect(outcomes.filter((type) => type === FrameType.OFFER)).toHaveLength(
      SESSIONS.maxDecidingPerHost,
    );
    await log.waitFor('refused', 64 - SESSIONS.maxDecidingPerHost - 1);
    expect(new Set(log.all('refused').map((refused) => refused.reason))).toEqual(
      new Set(['too many receivers from one address choosing what to take']),
    );
    const { result } = await receiveAll(port);
    expect(result.saved).toHaveLength(1);
    await log.waitFor('session-complete');
  });

  it(`K3 maxDecidingPerHost: ${SESSIONS.maxDecidingPerHost} sessions from one address may be choosing; one more is told ERR_LIMIT_EXCEEDED, another address gets the offer`, async () => {
    const { log, port } = await startSender();
    for (let i = 0; i < SESSIONS.maxDecidingPerHost; i++) {
      expect(await (await idleReceiver(port, '127.0.0.2')).outcome).toBe(FrameType.OFFER);
    }
    expect(log.all('refused')).toEqual([]);
    const extra = await idleReceiver(port, '127.0.0.2');
    expect(await extra.outcome).toBe(FrameType.ERROR);
    expect((await extra.closed())[0]?.message).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    expect((await log.waitFor('refused')).reason).toBe(
      'too many receivers from one address choosing what to take',
    );
    expect(await (await idleReceiver(port, '127.0.0.3')).outcome).toBe(FrameType.OFFER);
    expect(log.all('session-failed')).toEqual([]);
  });

  it(`K3 maxDeciding: with all ${SESSIONS.maxDeciding} places taken, a fresh address takes the place of the busiest address's oldest, and an address holding as many as any other is refused`, async () => {
    const { log, port } = await startSender();
    const perAddress = 2;
    const addresses = SESSIONS.maxDeciding / perAddress;
    const held: Awaited<ReturnType<typeof idleReceiver>>[] = [];
    for (let i = 0; i < SESSIONS.maxDeciding; i++) {
      const idle = await idleReceiver(port, `127.0.0.${2 + (i % addresses)}`);
      expect(await idle.outcome).toBe(FrameType.OFFER);
      held.push(idle);
    }
    // Every address holds as many as the busiest: one more from any of them is refused.
    const balanced = await idleReceiver(port, '127.0.0.2');
    expect(await balanced.outcome).toBe(FrameType.ERROR);
    expect((await log.waitFor('refused')).reason).toBe('too many receivers choosing what to take');
    // Make one address the busiest by one session, then come from a fresh address.
    const newcomer = await idleReceiver(port, '127.0.0.100');
    expect(await newcomer.outcome).toBe(FrameType.OFFER);
    // 127.0.0.2 ... all hold 2; the fresh address holds 0: the oldest of the first busiest goes.
    const dropped = await held[0]!.closed();
    expect(dropped.map((frame) => frame.type)).toEqual([FrameType.OFFER, FrameType.ERROR]);
    expect(dropped[1]?.message).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    const reasons = log.all('refused').map((refused) => refused.reason);
    expect(reasons).toEqual([
      'too many receivers choosing what to take',
      'dropped to make room: its address has the most receivers choosing what to take',
    ]);
    expect(log.all('session-failed')).toEqual([]);
  });

  it(`K3 maxConnectionsPerHost: one address may hold ${SESSIONS.maxConnectionsPerHost} sessions past REQUEST; one more from it is refused, another address is served`, async () => {
    const { log, port } = await startSender();
    const request = concatFrame(
      FrameType.REQUEST,
      new TextEncoder().encode('{"files":[{"id":0,"offset":0}]}'),
    );
    // Each takes the file and never acknowledges it: a session in SENDING until idleMs.
    for (let i = 0; i < SESSIONS.maxConnectionsPerHost; i++) {
      const taking = await idleReceiver(port, '127.0.0.2', 10_000);
      expect(await taking.outcome).toBe(FrameType.OFFER);
      taking.socket.write(request);
      await log.waitFor('request', i);
    }
    expect(log.all('refused')).toEqual([]);
    const extra = await idleReceiver(port, '127.0.0.2');
    expect(await extra.outcome).toBeNull();
    expect(await log.waitFor('refused')).toMatchObject({
      reason: 'too many connections from one address',
    });
    expect(await (await idleReceiver(port, '127.0.0.3')).outcome).toBe(FrameType.OFFER);
  });

  it('K3: a connection beyond maxConnections is refused and reported, not dropped silently', async () => {
    const { log, port } = await startSender(ONE_FILE, { maxConnections: 2 });
    await idleReceiver(port, '127.0.0.2');
    await idleReceiver(port, '127.0.0.3');
    await log.waitFor('hello', 1);
    const extra = await idleReceiver(port, '127.0.0.4');
    expect(await extra.outcome).toBeNull();
    expect(await log.waitFor('refused')).toMatchObject({ reason: 'too many connections at once' });
  });

  it(`K3: four addresses with ${SESSIONS.maxConnectionsPerHost} sessions each past REQUEST, PINGing and never acknowledging, fill every connection; a receiver from a fifth address is still served`, async () => {
    const { log, port } = await startSender();
    const addresses = SESSIONS.maxConnections / SESSIONS.maxConnectionsPerHost;
    expect(addresses).toBe(4);
    const held: Awaited<ReturnType<typeof idleReceiver>>[] = [];
    for (let i = 0; i < SESSIONS.maxConnections; i++) {
      const taking = await idleReceiver(port, `127.0.0.${2 + (i % addresses)}`, 50);
      expect(await taking.outcome).toBe(FrameType.OFFER);
      taking.socket.write(REQUEST_ONE);
      await log.waitFor('request', i);
      held.push(taking);
    }
    expect(log.all('refused')).toEqual([]);
    const { result } = await receiveAll(port);
    expect(result.saved).toHaveLength(1);
    await log.waitFor('session-complete');
    // The oldest session of the first busiest address made room, and was told why.
    const dropped = await held[0]!.closed();
    expect(dropped.at(-1)?.message).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    expect(log.all('refused').map((refused) => refused.reason)).toEqual([
      'dropped to make room: its address has the most connections',
    ]);
  });

  it('K3: a session that takes the files, never acknowledges them and only PINGs is told ERR_TIMEOUT and closed finishingMs after END', async () => {
    const { log, port } = await startSender(ONE_FILE, { finishingMs: 300 });
    // PINGs far more often than the deadline: they keep the link alive, not the session.
    const taking = await idleReceiver(port, '127.0.0.2', 50);
    expect(await taking.outcome).toBe(FrameType.OFFER);
    taking.socket.write(REQUEST_ONE);
    const frames = await taking.closed();
    expect(frames.at(-1)?.message).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect((await log.waitFor('session-failed')).code).toBe('ERR_TIMEOUT');
  });

  it('K3: decidingMs runs from HELLO: a receiver that greets and never reads the OFFER loses its place after decidingMs, not idleMs later', async () => {
    // An OFFER of about 16 MB, far more than the socket buffers hold.
    const files = 150_000;
    const entries = Array.from({ length: files }, (_, id) => ({
      kind: 'file' as const,
      path: `${'x'.repeat(90)}${id}`,
      size: 0,
    }));
    const offer = { entries, sources: new Map(), skipped: [], fileCount: files, totalBytes: 0 };
    const { log, port } = await startSenderOffering([], { offer, decidingMs: 300, idleMs: 600_000 });
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    socket.on('error', () => {});
    onCleanup('slow reader', () => socket.destroy());
    await within(once(socket, 'connect'), 'connect');
    socket.pause();
    socket.write(Buffer.concat([encodePreamble(), HELLO]));
    expect((await log.waitFor('session-failed')).code).toBe('ERR_TIMEOUT');
  });
});
