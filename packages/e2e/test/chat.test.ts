/**
 * A conversation between two real processes on pseudo-terminals, typed at as people would:
 * `ferry-send --chat` listening and `ferry-receive --chat` joining it, paired with the code the
 * listener shows (FERRY_CODE), each in its own HOME and FERRY_CONFIG_DIR.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadOrCreateIdentity, shortFingerprint } from '@ferry/protocol/node';
import {
  type ChatTerminal,
  joinOnPty,
  type PtyListener,
  startPtyListener,
} from '@ferry/testkit/chat';
import { hashTree, makeTempDir, WAIT, writeFileAt, writeRandomFile } from '@ferry/testkit/harness';
import { describe, expect, inject, it } from 'vitest';

/** alice listening (encrypted) and bob joined with her code; both prompts up. */
async function twoPeers(): Promise<{
  alice: PtyListener;
  bob: ChatTerminal;
  aliceHome: string;
  bobHome: string;
  code: string | undefined;
}> {
  const aliceHome = await makeTempDir('alice-home');
  const bobHome = await makeTempDir('bob-home');
  const alice = await startPtyListener({ name: 'alice', home: aliceHome });
  const code = alice.code();
  expect(code, alice.terminal.log.report('no pairing code shown')).toBeDefined();
  const bob = await joinOnPty(alice.address, code, { name: 'bob', home: bobHome });
  await alice.expect(/\* bob joined \(key [0-9A-F]{4}( [0-9A-F]{4}){3}, 127\.0\.0\.1:\d+\)/);
  return { alice, bob, aliceHome, bobHome, code };
}

/** A file and a folder (with a nested file and an empty folder) in a new source folder. */
async function fileAndFolder(label: string) {
  const src = await makeTempDir(`${label}-src`);
  const file = path.join(src, `${label}.bin`);
  await writeRandomFile(file, 3 * 1024 * 1024 + 17);
  await writeFileAt(src, `${label}-dir/notes.txt`, `notes of ${label}\n`);
  await writeFileAt(src, `${label}-dir/deep/data.bin`, randomBytes(70_000));
  await fs.mkdir(path.join(src, `${label}-dir`, 'empty'));
  return { src, paths: [file, path.join(src, `${label}-dir`)] };
}

describe('a conversation on terminals', () => {
  it('shows messages both ways as [name] text', async () => {
    const { alice, bob } = await twoPeers();

    bob.line('hello from bob');
    await alice.expect('[bob] hello from bob');
    alice.line('hi bob, alice here');
    await bob.expect('[alice] hi bob, alice here');
    bob.line('and a second line');
    await alice.expect('[bob] and a second line');
  });

  it('/send passes a file and a folder each way, byte-identical', async () => {
    const { alice, bob } = await twoPeers();
    const fromAlice = await fileAndFolder('alice');
    const fromBob = await fileAndFolder('bob');
    const intoBob = await makeTempDir('into-bob');
    const intoAlice = await makeTempDir('into-alice');

    alice.line(`/send ${fromAlice.paths.join(' ')}`);
    await bob.expect('Type /accept #1 [DIR] or /decline #1.');
    bob.line(`/accept #1 ${intoBob}`);
    await bob.expect(
      /Saved #1 from alice: 3 files \([^)]*\) in [^\n]*SHA-256 verified\./,
      WAIT.transferMs,
    );
    await alice.expect('Sent your offer #1 to bob', WAIT.transferMs);

    bob.line(`/send ${fromBob.paths.join(' ')}`);
    const [, ours] = await bob.match(/Offered to [^\n]* as #(\d+);/);
    // Offers are numbered on each side, outgoing and incoming alike: alice's first was #1.
    const [, number] = await alice.match(/Type \/accept #(\d+) \[DIR\] or \/decline #\1\./);
    alice.line(`/accept #${number} ${intoAlice}`);
    await alice.expect(`Saved #${number} from bob: 3 files`, WAIT.transferMs);
    await bob.expect(`Sent your offer #${ours} to alice`, WAIT.transferMs);

    expect(await hashTree(intoBob)).toEqual(await hashTree(fromAlice.src));
    expect(await hashTree(intoAlice)).toEqual(await hashTree(fromBob.src));
  });

  it('/decline refuses an offer: the proposer is told, nothing is written', async () => {
    const { alice, bob, aliceHome } = await twoPeers();
    const { paths } = await fileAndFolder('bob');

    bob.line(`/send ${paths[0]}`);
    await alice.expect('Type /accept #1 [DIR] or /decline #1.');
    alice.line('/decline');
    await alice.expect('You declined #1.');
    await bob.expect('* alice declined your offer #1 (ERR_DECLINED)');
    // Messages still go after the refusal; nothing of the offer reached alice's side.
    bob.line('never mind');
    await alice.expect('[bob] never mind');
    expect(await fs.readdir(aliceHome)).toEqual([]);
  });

  it('/peers lists the other side: name, address, key and transfers in flight', async () => {
    const { alice, bob } = await twoPeers();
    const bobKey = shortFingerprint(
      (await loadOrCreateIdentity(bob.terminal.configDir)).fingerprint,
    );
    const aliceKey = shortFingerprint(
      (await loadOrCreateIdentity(alice.terminal.configDir)).fingerprint,
    );
    const row = (peer: number, name: string, key: string, transfers: number) =>
      new RegExp(`\\n {2}${peer} +${name} +127\\.0\\.0\\.1:\\d+ +${key} +${transfers}\\r?\\n`);

    alice.line('/peers');
    await alice.expect('You are alice (peer 0).');
    await alice.expect(row(1, 'bob', bobKey, 0));
    bob.line('/peers');
    await bob.expect('You are bob (peer 1).');
    await bob.expect(row(0, 'alice', aliceKey, 0));

    // While the run's 256 MiB file moves, each side counts it.
    const into = await makeTempDir('into-bob');
    alice.line(`/send ${inject('bigFile').path}`);
    await bob.expect('Type /accept #1 [DIR] or /decline #1.');
    bob.line(`/accept #1 ${into}`);
    await bob.expect('Saving #1 from alice');
    bob.line('/peers');
    await bob.expect(row(0, 'alice', aliceKey, 1));
    alice.line('/peers');
    await alice.expect(row(1, 'bob', bobKey, 1));
    await bob.expect('Saved #1 from alice', WAIT.bigTransferMs);
  });

  it('/quit on the joining side: the listener sees "bob has left" and goes on', async () => {
    const { alice, bob } = await twoPeers();

    bob.line('/quit');
    await bob.expect('* You left the conversation.');
    expect(await bob.waitForExit(), bob.terminal.log.report('bob')).toEqual({
      code: 0,
      signal: null,
    });
    await alice.expect('* bob has left');
    // The listener keeps the conversation open for others.
    expect(alice.terminal.log.exit).toBeUndefined();
  });

  it('/quit on the listening side ends the conversation for the joiner, with a line saying so', async () => {
    const { alice, bob } = await twoPeers();

    alice.line('/quit');
    await alice.expect('* You closed the conversation; everyone in it was told.');
    await bob.expect('* The conversation has ended: alice closed it.');
    expect(await alice.waitForExit(), alice.terminal.log.report('alice')).toEqual({
      code: 0,
      signal: null,
    });
    expect(await bob.waitForExit(), bob.terminal.log.report('bob')).toEqual({
      code: 0,
      signal: null,
    });
  });

  it('Ctrl-C leaves like /quit, on either side, and exits 130', async () => {
    const { alice, bob, code } = await twoPeers();

    bob.terminal.type('\x03');
    expect(await bob.waitForExit(), bob.terminal.log.report('bob')).toEqual({
      code: 130,
      signal: null,
    });
    await alice.expect('* bob has left');

    const carol = await joinOnPty(alice.address, await alice.codeAfter(code), {
      name: 'carol',
      home: await makeTempDir('carol-home'),
    });
    await alice.expect('* carol joined');
    alice.terminal.type('\x03');
    await carol.expect('* The conversation has ended: alice closed it.');
    expect(await alice.waitForExit(), alice.terminal.log.report('alice')).toEqual({
      code: 130,
      signal: null,
    });
    expect(await carol.waitForExit(), carol.terminal.log.report('carol')).toEqual({
      code: 0,
      signal: null,
    });
  });
});
