/**
 * K3 against the real `ferry-send --no-encryption`: sessions that greet and then only PING
 * (what a receiver whose user is choosing sends) used to hold every place, and the sender
 * turned real receivers away without a word. Now they hold a bounded number of places per
 * address, and every connection turned away is reported.
 */
import { once } from 'node:events';
import net from 'node:net';
import { concatFrame, encodePreamble, FrameDecoder, FrameType, SESSIONS } from '@ferry/protocol';
import { onCleanup } from '@ferry/testkit/cleanup';
import {
  assertExit,
  hashTree,
  makeTempDir,
  receiveAll,
  startSender,
  WAIT,
  writeFileAt,
} from '@ferry/testkit/harness';
import { describe, expect, it } from 'vitest';

const HELLO = concatFrame(
  FrameType.HELLO,
  new TextEncoder().encode('{"software":"idle/1","name":"idle","features":[]}'),
);
const PING = concatFrame(FrameType.PING, new Uint8Array(0));

/**
 * Connects from `localAddress`, greets in clear and then PINGs every 10 s, as the attack did.
 * Resolves with the first frame type the sender sends (OFFER, or the ERROR of a refusal), or
 * null when it closes without one.
 */
async function greetAndIdle(port: number, localAddress: string): Promise<number | null> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  const pinger = setInterval(() => socket.write(PING), 10_000);
  onCleanup('idle session', () => {
    clearInterval(pinger);
    socket.destroy();
  });
  await once(socket, 'connect');
  socket.write(Buffer.concat([encodePreamble(), HELLO]));
  const decoder = new FrameDecoder({ expectPreamble: true });
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'frame' && event.type !== FrameType.PING) resolve(event.type);
      }
    });
    socket.once('close', () => {
      clearInterval(pinger);
      resolve(null);
    });
  });
}

describe('K3: idle sessions before REQUEST', () => {
  it('K3: 64 clear sessions that greet and PING from one address keep no receiver out, and each one turned away is reported', async () => {
    const src = await makeTempDir('k3-src');
    const file = await writeFileAt(src, 'a.txt', 'alpha\n');
    const sender = await startSender([file], ['--no-encryption']);
    const outcomes: (number | null)[] = [];
    for (let i = 0; i < 64; i++) outcomes.push(await greetAndIdle(sender.port, '127.0.0.2'));
    expect(outcomes.filter((type) => type === FrameType.OFFER)).toHaveLength(
      SESSIONS.maxDecidingPerHost,
    );
    const turnedAway = 64 - SESSIONS.maxDecidingPerHost;
    const refusedSoFar = () => sender.events.filter((event) => event.event === 'refused');
    await sender.waitForEvent('refused', () => refusedSoFar().length >= turnedAway);
    const refused = refusedSoFar();
    expect(refused).toHaveLength(turnedAway);
    expect(refused.every((event) => String(event.peer).startsWith('127.0.0.2:'))).toBe(true);

    const out = await makeTempDir('k3-out');
    const run = await receiveAll(sender, out, {
      args: ['--no-encryption'],
      timeoutMs: WAIT.transferMs,
    });
    assertExit(run, 0);
    expect(Object.keys(await hashTree(out))).toEqual(['a.txt']);
    await sender.stop();
  });
});
