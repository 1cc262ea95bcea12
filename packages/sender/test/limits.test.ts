/**
 * The sender's limits with their real values, exactly at each limit and one past it
 * (HOSTILE-INPUTS.md A1, A2, B15, E1): connections waiting to authenticate (PAIRING), frame
 * caps on what a receiver sends (LIMITS), and the depth of the folders it offers.
 */
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  concatFrame,
  encodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  LIMITS,
  limitsForOffer,
  MAGIC,
  PAIRING,
  REQUEST_BASE_BYTES,
  REQUEST_ITEM_BYTES,
} from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { scanOffer } from '@ferry/engine';
import { header, idleClient, onCleanup, padded, readFrames, runCleanup, startSender, startSenderOffering, tempDir, within } from './helpers.ts';

afterEach(runCleanup);

describe('PAIRING.maxPending and maxPendingPerHost (E1)', () => {
  it(`E1 maxPending: ${PAIRING.maxPending} connections may wait to authenticate; one more is closed at once and told nothing`, async () => {
    const { log, port } = await startSender();
    const waiting: Socket[] = [];
    // Spread over addresses, so the per-address cap is not what is tested here.
    for (let i = 0; i < PAIRING.maxPending; i++) {
      waiting.push((await idleClient(port, `127.0.0.${2 + (i % (PAIRING.maxPending / 2))}`, MAGIC)).socket);
      await log.waitFor('connected', i);
    }
    expect(log.all('refused')).toEqual([]);
    // From an address that already holds as many as any other (a newcomer would take the
    // place of the busiest address's oldest instead: see E2 in security.test.ts).
    const extra = await idleClient(port, '127.0.0.2');
    expect((await within(extra.closed, 'the extra connection to be closed')).byteLength).toBe(0);
    expect((await log.waitFor('refused')).reason).toBe('too many connections waiting to authenticate');
    expect(log.all('connected')).toHaveLength(PAIRING.maxPending);
    expect(waiting.every((socket) => !socket.destroyed)).toBe(true);
  });

  it(`E1 maxPendingPerHost: ${PAIRING.maxPendingPerHost} connections from one address may wait; one more from it is closed, another address is served`, async () => {
    const { log, port } = await startSender();
    for (let i = 0; i < PAIRING.maxPendingPerHost; i++) {
      await idleClient(port, '127.0.0.2', MAGIC);
      await log.waitFor('connected', i);
    }
    expect(log.all('refused')).toEqual([]);
    const extra = await idleClient(port, '127.0.0.2');
    expect((await within(extra.closed, 'the extra connection to be closed')).byteLength).toBe(0);
    expect((await log.waitFor('refused')).reason).toBe('too many connections from one address waiting to authenticate');
    await idleClient(port, '127.0.0.3', MAGIC);
    await log.waitFor('connected', PAIRING.maxPendingPerHost);
    expect(log.all('refused')).toHaveLength(1);
  });
});

const MiB = 1024 * 1024;

/** The heap and buffers in use. */
function live(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** A full garbage collection, so what `live` counts is what is still referenced. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * A receiver in clear that writes `first`, and once the OFFER has come `then`, and collects
 * the frames the sender sends until it closes (OFFER shown as its type only).
 */
async function rawReceiver(port: number, first: readonly Uint8Array[], then: readonly Uint8Array[] = []) {
  const { socket, closed } = await idleClient(port);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  for (const part of first) socket.write(part);
  if (then.length > 0) {
    const offered = () => new FrameDecoder({ expectPreamble: true }).push(Buffer.concat(received)).some((event) => event.kind === 'frame');
    while (!offered()) await within(once(socket, 'data'), 'the OFFER');
    for (const part of then) socket.write(part);
  }
  const bytes = await within(closed, 'the sender to close the connection');
  return readFrames(bytes).map((frame) => (frame.type === FrameType.OFFER ? { ...frame, message: 'offer' } : frame));
}

/**
 * A receiver in clear that sends HELLO and, once the OFFER has come, `request` whole; resolves
 * when the sender hangs up (a refused write may end in a reset: that is expected here).
 */
async function bombingReceiver(port: number, request: Uint8Array, localAddress?: string): Promise<void> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  onCleanup('bombing receiver', () => socket.destroy());
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(encodePreamble());
  socket.write(hello);
  await within(new Promise((resolve) => socket.once('data', resolve)), 'the OFFER');
  socket.write(request);
  await within(closed, 'the sender to close the connection');
}

const HELLO = '{"software":"limits/1","name":"raw","features":[]}';
const hello = concatFrame(FrameType.HELLO, new TextEncoder().encode(HELLO));
const done = concatFrame(FrameType.DONE, encodeMessage(FrameType.DONE, { saved: 0, failed: 0 }));

describe('LIMITS on what a receiver sends', () => {
  it(`A2 maxControlPayloadBytes: a HELLO of exactly ${LIMITS.maxControlPayloadBytes} bytes is read and answered with the OFFER`, async () => {
    const { log, port } = await startSender();
    const big = concatFrame(FrameType.HELLO, padded(HELLO, LIMITS.maxControlPayloadBytes));
    const emptyRequest = concatFrame(FrameType.REQUEST, encodeMessage(FrameType.REQUEST, { files: [] }));
    const frames = await rawReceiver(port, [encodePreamble(), big, emptyRequest, done]);
    expect(frames.map((frame) => frame.type)).toEqual([FrameType.OFFER, FrameType.END]);
    expect((await log.waitFor('hello')).name).toBe('raw');
    await log.waitFor('session-complete');
  });

  it(`A1 maxControlPayloadBytes: a HELLO announcing ${LIMITS.maxControlPayloadBytes} + 1 bytes is refused from its header with ERR_LIMIT_EXCEEDED`, async () => {
    const { log, port } = await startSender();
    const frames = await rawReceiver(port, [encodePreamble(), header(FrameType.HELLO, LIMITS.maxControlPayloadBytes + 1)]);
    expect(frames).toEqual([{ type: FrameType.ERROR, message: expect.objectContaining({ code: 'ERR_LIMIT_EXCEEDED' }) }]);
    expect((await log.waitFor('session-failed')).code).toBe('ERR_LIMIT_EXCEEDED');
    expect(log.all('hello')).toEqual([]);
  });

  // The sender offers one file, so a REQUEST may take what one item does (limitsForOffer).
  const requestCap = limitsForOffer(1).maxRequestPayloadBytes;

  it(`A2 maxRequestPayloadBytes: a REQUEST of exactly the cap for a one-file offer (${requestCap} bytes) is read and served`, async () => {
    const { log, port } = await startSender();
    const request = concatFrame(FrameType.REQUEST, padded('{"files":[]}', requestCap));
    const frames = await rawReceiver(port, [encodePreamble(), hello], [request, done]);
    expect(frames.map((frame) => frame.type)).toEqual([FrameType.OFFER, FrameType.END]);
    expect(await log.waitFor('request')).toMatchObject({ files: 0 });
    await log.waitFor('session-complete');
  });

  it(`A1, K6 maxRequestPayloadBytes: a REQUEST announcing the cap for a one-file offer + 1 bytes is refused from its header with ERR_LIMIT_EXCEEDED`, async () => {
    const { log, port } = await startSender();
    const frames = await rawReceiver(port, [encodePreamble(), hello], [header(FrameType.REQUEST, requestCap + 1)]);
    expect(frames.map((frame) => frame.type)).toEqual([FrameType.OFFER, FrameType.ERROR]);
    expect(frames[1]?.message).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    expect((await log.waitFor('session-failed')).code).toBe('ERR_LIMIT_EXCEEDED');
    expect(log.all('request')).toEqual([]);
  });

  it('K6: 8 receivers sending 8 MiB REQUESTs of nested arrays at once are refused by the text scan, and the sender keeps almost none of their 64 MiB once they are refused', async () => {
    // An offer of enough empty files that a REQUEST may take the whole 8 MiB (limitsForOffer).
    const files = Math.ceil((LIMITS.maxRequestPayloadBytes - REQUEST_BASE_BYTES) / REQUEST_ITEM_BYTES);
    expect(limitsForOffer(files).maxRequestPayloadBytes).toBe(LIMITS.maxRequestPayloadBytes);
    const entries = Array.from({ length: files }, (_, id) => ({ kind: 'file' as const, path: `f${id}`, size: 0 }));
    const offer = { entries, sources: new Map(), skipped: [], fileCount: files, totalBytes: 0 };
    const { sender, log, port } = await startSenderOffering([], { offer });
    const depth = (LIMITS.maxRequestPayloadBytes - 10) / 2;
    const payload = new TextEncoder().encode(`{"files":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expect(payload.byteLength).toBe(LIMITS.maxRequestPayloadBytes);
    const bomb = concatFrame(FrameType.REQUEST, payload);
    const gc = collector();
    gc();
    const before = live();
    // From 8 addresses, so that the per-address deciding places are not what refuses them.
    await Promise.all(Array.from({ length: 8 }, (_, i) => bombingReceiver(port, bomb, `127.0.0.${2 + i}`)));
    for (let i = 0; i < 8; i++) expect((await log.waitFor('session-failed', i)).code).toBe('ERR_BAD_MESSAGE');
    expect(log.all('request')).toEqual([]);
    // Each REQUEST is held whole (within its cap) until its text is scanned, so the peak is
    // about their size; once their connections have closed, what stays measured under 1 MiB
    // alone, and up to tens of MiB with other test processes busy, hence a bound well under 64.
    await within(sender.close(), 'the sender to stop');
    // Buffers are freed by the collection after the one that finds them unreferenced.
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(live() - before).toBeLessThan(24 * MiB);
  });
});

describe('LIMITS.maxDepth when scanning (B15)', () => {
  it(`B15 maxDepth: offers a folder tree exactly ${LIMITS.maxDepth} levels deep and skips, with a reason, what lies one level deeper`, async () => {
    const root = await tempDir();
    // `top` is level 1; 62 more folders make level 63; its contents are level 64.
    const components = ['top', ...Array<string>(LIMITS.maxDepth - 2).fill('a')];
    const deepest = path.join(root, ...components);
    await mkdir(path.join(deepest, 'd'), { recursive: true });
    await writeFile(path.join(deepest, 'f.txt'), 'at the limit');
    await writeFile(path.join(deepest, 'd', 'g.txt'), 'one past it');
    const offer = await scanOffer([path.join(root, 'top')]);
    const atLimit = [...components, 'f.txt'].join('/');
    expect(atLimit.split('/')).toHaveLength(LIMITS.maxDepth);
    expect(offer.entries).toContainEqual({ kind: 'file', path: atLimit, size: 12 });
    expect(offer.entries).toContainEqual({ kind: 'dir', path: [...components, 'd'].join('/') });
    const tooDeep = [...components, 'd', 'g.txt'].join('/');
    expect(offer.entries.map((entry) => entry.path)).not.toContain(tooDeep);
    expect(offer.skipped).toEqual([{ path: tooDeep, reason: `deeper than ${LIMITS.maxDepth} levels` }]);
  });
});
