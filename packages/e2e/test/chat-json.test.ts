/**
 * Conversations scripted through `--json`: every side prints one event per line and takes JSON
 * commands on stdin (say, send, accept, decline, peers, quit). Encrypted and paired with the code
 * the listener shows (FERRY_CODE), each process in its own FERRY_CONFIG_DIR.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadOrCreateIdentity, shortFingerprint } from '@ferry/protocol/node';
import {
  joinJson,
  type JsonChatter,
  type JsonListener,
  startJsonListener,
} from '@ferry/testkit/chat';
import { hashTree, makeTempDir, writeFileAt, writeRandomFile } from '@ferry/testkit/harness';
import { describe, expect, it } from 'vitest';

/** alice listening, bob joined. */
async function twoPeers(): Promise<{ alice: JsonListener; bob: JsonChatter }> {
  const alice = await startJsonListener();
  const bob = await joinJson(alice, 'bob');
  await alice.waitForEvent('joined', (e) => e.name === 'bob');
  return { alice, bob };
}

/** A file and a folder (a nested file, an empty folder) in a new source folder. */
async function fileAndFolder(label: string) {
  const src = await makeTempDir(`${label}-src`);
  const file = path.join(src, `${label}.bin`);
  await writeRandomFile(file, 2 * 1024 * 1024 + 5);
  await writeFileAt(src, `${label}-dir/inner/notes.txt`, `notes of ${label}\n`);
  await writeFileAt(src, `${label}-dir/data.bin`, randomBytes(40_000));
  await fs.mkdir(path.join(src, `${label}-dir`, 'empty'));
  return { src, paths: [file, path.join(src, `${label}-dir`)] };
}

/** `from` offers `paths` (to `to`, if given); `by` accepts into `dir`; both see the transfer end. */
async function sendAndAccept(
  from: JsonChatter,
  by: JsonChatter,
  paths: readonly string[],
  dir: string,
  to?: string,
) {
  const after = by.events.length;
  from.command(to === undefined ? { cmd: 'send', paths } : { cmd: 'send', paths, to });
  const offer = await by.waitForEvent('offer', undefined, { after });
  by.command({ cmd: 'accept', offer: offer.offer as number, dir });
  const done = await by.waitForEvent(
    'transfer-done',
    (e) => e.offer === offer.offer && e.direction === 'in',
    {
      after,
    },
  );
  return { offer, done };
}

describe('a conversation scripted through --json', () => {
  it('messages go both ways as message events naming who wrote them; each side prints said for its own', async () => {
    const { alice, bob } = await twoPeers();

    bob.say('hello from bob');
    expect(await alice.waitForMessage('hello from bob')).toMatchObject({ from: 'bob', peer: 1 });
    alice.say('hi bob');
    expect(await bob.waitForMessage('hi bob')).toMatchObject({ from: 'alice', peer: 0 });
    expect(bob.all('said')).toEqual([
      { event: 'said', from: 'bob', peer: 1, text: 'hello from bob' },
    ]);
    expect(await alice.waitForEvent('said')).toEqual({
      event: 'said',
      from: 'alice',
      peer: 0,
      text: 'hi bob',
    });
    expect(alice.all('message').map((e) => e.text)).toEqual(['hello from bob']);
    expect(bob.all('message').map((e) => e.text)).toEqual(['hi bob']);
  });

  it('send and accept pass a file and a folder each way, byte-identical', async () => {
    const { alice, bob } = await twoPeers();
    const fromAlice = await fileAndFolder('alice');
    const fromBob = await fileAndFolder('bob');
    const intoBob = await makeTempDir('into-bob');
    const intoAlice = await makeTempDir('into-alice');

    const toBob = await sendAndAccept(alice, bob, fromAlice.paths, intoBob);
    expect(toBob.offer).toMatchObject({ from: 'alice', peer: 0, files: 3 });
    expect(toBob.done).toMatchObject({ files: 3, failed: 0 });
    expect(toBob.done.code).toBeUndefined();
    const toAlice = await sendAndAccept(bob, alice, fromBob.paths, intoAlice);
    expect(toAlice.done).toMatchObject({ files: 3, failed: 0 });
    await bob.waitForEvent('transfer-done', (e) => e.direction === 'out');

    expect(await hashTree(intoBob)).toEqual(await hashTree(fromAlice.src));
    expect(await hashTree(intoAlice)).toEqual(await hashTree(fromBob.src));
  });

  it('decline refuses an offer: the proposer gets a declined event, nothing is written', async () => {
    const { alice, bob } = await twoPeers();
    const { paths } = await fileAndFolder('alice');
    const intoBob = await makeTempDir('into-bob');

    alice.command({ cmd: 'send', paths });
    const offer = await bob.waitForEvent('offer');
    bob.command({ cmd: 'decline', offer: offer.offer as number });
    expect(await alice.waitForEvent('declined')).toMatchObject({
      name: 'bob',
      peer: 1,
      code: 'ERR_DECLINED',
    });
    // An offer answered is gone: accepting it now is an error, not a transfer.
    bob.command({ cmd: 'accept', offer: offer.offer as number, dir: intoBob });
    expect(await bob.waitForEvent('error')).toMatchObject({ code: 'ERR_BAD_COMMAND' });
    expect(await fs.readdir(intoBob)).toEqual([]);
  });

  it('peers lists the other side with its name, address, key and transfers', async () => {
    const { alice, bob } = await twoPeers();
    const bobKey = shortFingerprint(
      (await loadOrCreateIdentity(bob.process.configDir)).fingerprint,
    );
    const aliceKey = shortFingerprint(
      (await loadOrCreateIdentity(alice.process.configDir)).fingerprint,
    );

    alice.command({ cmd: 'peers' });
    const seenByAlice = await alice.waitForEvent('peers');
    expect(seenByAlice.peers).toEqual([
      {
        peer: 1,
        name: 'bob',
        key: bobKey,
        address: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        transfers: 0,
      },
    ]);
    bob.command({ cmd: 'peers' });
    const seenByBob = await bob.waitForEvent('peers');
    expect(seenByBob.peers).toEqual([
      { peer: 0, name: 'alice', key: aliceKey, address: alice.address, transfers: 0 },
    ]);
  });

  it('quit from the joiner: the listener gets left (quit) and goes on', async () => {
    const { alice, bob } = await twoPeers();

    expect(await bob.quit(), bob.process.log.report('bob')).toEqual({ code: 0, signal: null });
    expect(await alice.waitForEvent('left')).toMatchObject({
      peer: 1,
      name: 'bob',
      reason: 'quit',
    });
    expect(bob.all('ended')).toEqual([expect.objectContaining({ reason: 'quit' })]);
    expect(alice.process.running).toBe(true);
  });

  it('quit from the listener ends the conversation for the joiner (ended: closed)', async () => {
    const { alice, bob } = await twoPeers();

    expect(await alice.quit(), alice.process.log.report('alice')).toEqual({
      code: 0,
      signal: null,
    });
    expect(await bob.waitForEvent('ended')).toMatchObject({ reason: 'closed', by: 'alice' });
    expect(await bob.waitForExit(), bob.process.log.report('bob')).toEqual({
      code: 0,
      signal: null,
    });
  });

  it('a command line that is not a command is an error event, and the conversation goes on', async () => {
    const { alice, bob } = await twoPeers();

    bob.writeLine('{"cmd":"shout","text":"x"}');
    expect(await bob.waitForEvent('error')).toMatchObject({ code: 'ERR_BAD_COMMAND' });
    bob.writeLine('not json at all');
    await bob.waitForEvent('error', undefined, {
      after: bob.events.indexOf(bob.all('error')[0]!) + 1,
    });
    bob.say('still here');
    await alice.waitForMessage('still here');
  });
});
