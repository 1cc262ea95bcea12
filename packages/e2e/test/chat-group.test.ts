/**
 * Conversations of three real processes, a listener and two joiners (scripted through `--json`,
 * encrypted and paired with the listener's codes), and a message beside a large file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  joinJson,
  type JsonChatter,
  type JsonListener,
  startJsonListener,
} from '@ferry/testkit/chat';
import { hashFile, listTree, makeTempDir, WAIT, writeFileAt } from '@ferry/testkit/harness';
import { describe, expect, inject, it } from 'vitest';

/** alice listening; bob and carol joined, each seen by the others. */
async function threePeers(): Promise<{
  alice: JsonListener;
  bob: JsonChatter;
  carol: JsonChatter;
}> {
  const alice = await startJsonListener();
  const bob = await joinJson(alice, 'bob');
  await alice.waitForEvent('joined', (e) => e.name === 'bob');
  const carol = await joinJson(alice, 'carol');
  await alice.waitForEvent('joined', (e) => e.name === 'carol');
  await bob.waitForEvent('joined', (e) => e.name === 'carol');
  expect(carol.events.find((e) => e.event === 'chat-ready')?.peers).toEqual([
    expect.objectContaining({ name: 'alice', peer: 0 }),
    expect.objectContaining({ name: 'bob', peer: 1 }),
  ]);
  return { alice, bob, carol };
}

/** The index of the first event of `chatter` matching, or -1. */
function indexOf(
  chatter: JsonChatter,
  name: string,
  match: (e: Record<string, unknown>) => boolean = () => true,
) {
  return chatter.events.findIndex((e) => e.event === name && match(e));
}

describe('a conversation of three processes', () => {
  it('each message reaches both other peers', async () => {
    const { alice, bob, carol } = await threePeers();

    bob.say('from bob');
    expect(await alice.waitForMessage('from bob')).toMatchObject({ from: 'bob', peer: 1 });
    expect(await carol.waitForMessage('from bob')).toMatchObject({ from: 'bob', peer: 1 });
    carol.say('from carol');
    expect(await alice.waitForMessage('from carol')).toMatchObject({ from: 'carol', peer: 2 });
    expect(await bob.waitForMessage('from carol')).toMatchObject({ from: 'carol', peer: 2 });
    alice.say('from alice');
    expect(await bob.waitForMessage('from alice')).toMatchObject({ from: 'alice', peer: 0 });
    expect(await carol.waitForMessage('from alice')).toMatchObject({ from: 'alice', peer: 0 });
    // Nobody hears their own message back.
    expect(bob.all('message').map((e) => e.text)).toEqual(['from carol', 'from alice']);
  });

  it('send to a name reaches only that peer', async () => {
    const { alice, bob, carol } = await threePeers();
    const src = await makeTempDir('src');
    const file = await writeFileAt(src, 'for-carol.txt', 'only for carol\n');
    const intoCarol = await makeTempDir('into-carol');

    alice.command({ cmd: 'send', paths: [file], to: 'carol' });
    const offer = await carol.waitForEvent('offer');
    expect(offer).toMatchObject({ from: 'alice', files: 1 });
    carol.command({ cmd: 'accept', offer: offer.offer as number, dir: intoCarol });
    await carol.waitForEvent('file-saved');
    expect(await hashFile(path.join(intoCarol, 'for-carol.txt'))).toEqual(await hashFile(file));
    // What alice says after the offer reaches bob after it would have: bob got no offer.
    alice.say('after the offer');
    await bob.waitForMessage('after the offer');
    expect(bob.all('offer')).toEqual([]);
  });

  it("a joiner killed mid-transfer leaves the other joiner's transfer and messages intact", async () => {
    const { alice, bob, carol } = await threePeers();
    const big = inject('bigFile');
    const intoBob = await makeTempDir('into-bob');
    const intoCarol = await makeTempDir('into-carol');

    alice.command({ cmd: 'send', paths: [big.path] });
    const bobOffer = await bob.waitForEvent('offer');
    const carolOffer = await carol.waitForEvent('offer');
    bob.command({ cmd: 'accept', offer: bobOffer.offer as number, dir: intoBob });
    carol.command({ cmd: 'accept', offer: carolOffer.offer as number, dir: intoCarol });
    await bob.waitForEvent('progress', (e) => e.direction === 'in');
    await carol.waitForEvent('progress', (e) => e.direction === 'in');

    bob.process.signal('SIGKILL');
    expect(await bob.waitForExit()).toMatchObject({ signal: 'SIGKILL' });
    expect(await alice.waitForEvent('left', (e) => e.name === 'bob')).toMatchObject({
      reason: 'lost',
    });
    expect(await carol.waitForEvent('left', (e) => e.name === 'bob')).toMatchObject({
      reason: 'lost',
    });
    // carol's transfer and the conversation go on.
    alice.say('bob is gone, carol');
    await carol.waitForMessage('bob is gone, carol');
    carol.say('still here');
    await alice.waitForMessage('still here');
    const saved = await carol.waitForEvent('file-saved', undefined, {
      timeoutMs: WAIT.bigTransferMs,
    });
    expect(saved).toMatchObject({ size: big.size, sha256: big.sha256 });
    expect(await hashFile(path.join(intoCarol, 'big.bin'))).toEqual({
      kind: 'file',
      size: big.size,
      sha256: big.sha256,
    });
    expect(
      await carol.waitForEvent('transfer-done', (e) => e.direction === 'in'),
    ).not.toHaveProperty('code');
    // alice's transfer to bob ended with an error; the one to carol did not.
    const toBob = await alice.waitForEvent(
      'transfer-done',
      (e) => e.direction === 'out' && e.peer === 1,
    );
    expect(toBob.code).toEqual(expect.any(String));
    const toCarol = await alice.waitForEvent(
      'transfer-done',
      (e) => e.direction === 'out' && e.peer === 2,
    );
    expect(toCarol).toMatchObject({ files: 1, failed: 0 });
    // Nothing of the file on bob's side under its final name (a killed process keeps its temp file).
    expect(await listTree(intoBob)).not.toContain('big.bin');
  });
});

describe('a message beside a large file', () => {
  it('a message said while a 256 MiB file is moving arrives before the file ends', async () => {
    const alice = await startJsonListener();
    const bob = await joinJson(alice, 'bob');
    const big = inject('bigFile');
    const intoBob = await makeTempDir('into-bob');

    alice.command({ cmd: 'send', paths: [big.path] });
    const offer = await bob.waitForEvent('offer');
    bob.command({ cmd: 'accept', offer: offer.offer as number, dir: intoBob });
    await bob.waitForEvent('progress', (e) => e.direction === 'in');
    alice.say('said during the transfer');
    // And the other way, against the flow of data.
    bob.say('said back during the transfer');
    // Meanwhile peers counts the transfer in flight.
    bob.command({ cmd: 'peers' });
    expect((await bob.waitForEvent('peers')).peers).toEqual([
      expect.objectContaining({ peer: 0, name: 'alice', transfers: 1 }),
    ]);

    await bob.waitForEvent('transfer-done', (e) => e.direction === 'in', {
      timeoutMs: WAIT.bigTransferMs,
    });
    await alice.waitForEvent('transfer-done', (e) => e.direction === 'out', {
      timeoutMs: WAIT.bigTransferMs,
    });
    const message = indexOf(bob, 'message', (e) => e.text === 'said during the transfer');
    const fileSaved = indexOf(bob, 'file-saved');
    expect(message, bob.process.log.report('the message never arrived')).toBeGreaterThanOrEqual(0);
    expect(message, bob.process.log.report('the message came after the file')).toBeLessThan(
      fileSaved,
    );
    const back = indexOf(alice, 'message', (e) => e.text === 'said back during the transfer');
    const sent = indexOf(alice, 'file-sent');
    expect(
      back,
      alice.process.log.report('the message came after the file'),
    ).toBeGreaterThanOrEqual(0);
    expect(back).toBeLessThan(sent);
    expect(bob.events[fileSaved]).toMatchObject({ size: big.size, sha256: big.sha256 });
    expect(await hashFile(path.join(intoBob, 'big.bin'))).toEqual({
      kind: 'file',
      size: big.size,
      sha256: big.sha256,
    });
    expect(await fs.readdir(intoBob)).toEqual(['big.bin']);
  });
});
