/**
 * Finding senders on the network (PROTOCOL.md §14), with real multicast between hosts made of
 * Linux network namespaces joined by a bridge (`@ferry/testkit/netns`), against Ferry's own CLIs
 * and Debian's python3-zeroconf. Needs root, iproute2, nftables and python3-zeroconf, which
 * `npm run check` installs: without them these tests fail, saying so.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DISCOVERY } from '@ferry/protocol';
import {
  hashTree,
  type JsonEvent,
  makeTempDir,
  WAIT,
  writeRandomFile,
} from '@ferry/testkit/harness';
import {
  assertNetnsReady,
  createNetnsNetwork,
  type NetnsHost,
  threeHosts,
} from '@ferry/testkit/netns';
import {
  floodSent,
  zeroconfBrowse,
  zeroconfFlood,
  zeroconfRaw,
  zeroconfRegister,
} from '@ferry/testkit/zeroconf';
import { beforeAll, describe, expect, it } from 'vitest';
import { listIn, type NetnsSender, startReceiverIn, startSenderIn } from '../src/netns-ferry.ts';

beforeAll(() => assertNetnsReady());

/** A new folder holding one random file, `<name>.bin`: the folder, to compare, and the file, to offer. */
async function offered(name: string, size = 64 * 1024): Promise<{ dir: string; file: string }> {
  const dir = await makeTempDir(`src-${name}`);
  const file = path.join(dir, `${name}.bin`);
  await writeRandomFile(file, size);
  return { dir, file };
}

/** `ferry-receive --yes --json --out <new folder> <target>` in `host`, to its exit. */
async function receiveIn(host: NetnsHost, target: string, code?: string) {
  const out = await makeTempDir('out');
  const proc = startReceiverIn(host, ['--yes', '--json', '--out', out, target], code);
  const exit = await proc.waitForExit(WAIT.transferMs);
  return { proc, exit, out };
}

function names(found: readonly JsonEvent[]): string[] {
  return found.map((event) => String(event.name)).sort();
}

/** What a `sender-found` event says of `sender`, found from another host. */
function foundAs(sender: NetnsSender) {
  return expect.objectContaining({
    event: 'sender-found',
    name: sender.name,
    port: sender.port,
    addresses: expect.arrayContaining([sender.host.ipv4]),
    key: sender.fingerprint ?? '',
    encrypted: sender.fingerprint !== undefined,
    chat: false,
    remembered: false,
  });
}

describe('finding senders on a network of namespaces', () => {
  it('N: lists two senders on two hosts from a third, and takes from the one named, byte-identical', async () => {
    const [h1, h2, h3] = await threeHosts();
    const aliceFiles = await offered('alice');
    const bobFiles = await offered('bob');
    const alice = await startSenderIn(h1, 'alice', [aliceFiles.file]);
    const bob = await startSenderIn(h2, 'bob', [bobFiles.file]);

    const listing = await listIn(h3);
    expect(listing.code, listing.process.log.report('--list did not exit 0')).toBe(0);
    expect(names(listing.found)).toEqual(['alice', 'bob']);
    expect(listing.found).toEqual(expect.arrayContaining([foundAs(alice), foundAs(bob)]));
    expect(listing.process.events.at(-1)).toEqual({ event: 'discovery-done', found: 2 });

    const run = await receiveIn(h3, 'bob', bob.code());
    expect(run.exit.code, run.proc.log.report('taking from "bob" failed')).toBe(0);
    expect(run.proc.events.find((e) => e.event === 'connected')?.address).toBe(bob.address);
    expect(await hashTree(run.out)).toEqual(await hashTree(bobFiles.dir));
    // Alice was listed, not connected to.
    expect(alice.process.events.filter((e) => e.event === 'connected')).toEqual([]);
  });

  it('N: a sender that stops is gone from a new listing', async () => {
    const [h1, h2, h3] = await threeHosts();
    const files = await offered('data');
    const alice = await startSenderIn(h1, 'alice', [files.file]);
    const bob = await startSenderIn(h2, 'bob', [files.file]);
    expect(names((await listIn(h3)).found)).toEqual(['alice', 'bob']);

    await bob.stop();
    const after = await listIn(h3);
    expect(after.code).toBe(0);
    expect(after.found).toEqual([foundAs(alice)]);
  });

  it('N: a sender announces itself on an interface added after it started', async () => {
    const network = await createNetnsNetwork();
    const senderHost = await network.addHost();
    const sender = await startSenderIn(senderHost, 'alice', [(await offered('data')).file]);
    const second = await network.addSegment();
    const farHost = await network.addHost(second);
    const added = await network.connect(senderHost, second);

    // The sender notices new interfaces by itself, within some seconds: list until it is seen
    // there, at most a minute.
    const deadline = Date.now() + 60_000;
    let found: JsonEvent | undefined;
    while (!found) {
      const listing = await listIn(farHost);
      found = listing.found.find((e) => e.name === 'alice');
      if (!found && Date.now() > deadline)
        throw new Error(
          listing.process.log.report(`not listed on ${second.subnet} after a minute`),
        );
    }
    expect(found).toMatchObject({ port: sender.port, key: sender.fingerprint });
    expect(found.addresses).toContain(added.ipv4);
    const run = await receiveIn(farHost, 'alice', sender.code());
    expect(run.exit.code, run.proc.log.report('taking from "alice" failed')).toBe(0);
  });

  it('N: python3-zeroconf resolves the announcements of a sender, a chat listener and a sender in clear, with port, address and TXT', async () => {
    const network = await createNetnsNetwork();
    // One sender per host, as on separate machines.
    const [h1, h2, h3, h4] = [
      await network.addHost(),
      await network.addHost(),
      await network.addHost(),
      await network.addHost(),
    ];
    const sender = await startSenderIn(h1, 'alice', [(await offered('data')).file]);
    const chat = await startSenderIn(h2, 'carol', [], ['--chat']);
    const clear = await startSenderIn(
      h3,
      'dave',
      [(await offered('data')).file],
      ['--no-encryption'],
    );
    const browse = zeroconfBrowse(h4);
    const seen = (name: string) =>
      browse.waitForEvent('found', WAIT.startMs, (event) => event.name === name);

    const txt = { v: '1', enc: '1', mode: 'send', fp: sender.keyHint };
    // The SRV target is a name of the sender's host (h1), in .local.
    const server = expect.stringMatching(/^h1\b.*\.local\.$/);
    expect(await seen('alice')).toMatchObject({ port: sender.port, server, txt });
    expect((await seen('alice')).addresses).toContain(h1.ipv4);
    // Exactly these keys, in this order (PROTOCOL.md §14).
    expect(Object.entries((await seen('alice')).txt as object)).toEqual(Object.entries(txt));
    const chatTxt = { v: '1', enc: '1', mode: 'chat', fp: chat.keyHint };
    expect(await seen('carol')).toMatchObject({ port: chat.port, txt: chatTxt });
    expect((await seen('carol')).addresses).toContain(h2.ipv4);
    expect(await seen('dave')).toMatchObject({
      port: clear.port,
      txt: { v: '1', enc: '0', mode: 'send' },
    });
    expect((await seen('dave')).txt).not.toHaveProperty('fp');
  });

  it("N: lists a sender that python3-zeroconf announces in Ferry's format, and takes from it; M6: --no-announce stays unlisted", async () => {
    const network = await createNetnsNetwork();
    const [h1, h2] = [await network.addHost(), await network.addHost()];
    const files = await offered('zed');
    const quiet = await startSenderIn(h1, 'zed', [files.file], ['--no-announce']);
    const announced = await zeroconfRegister(h1, {
      name: 'py-zed',
      port: quiet.port,
      addresses: [h1.ipv4],
      txt: ['v=1', 'enc=1', 'mode=send', `fp=${quiet.keyHint}`],
    });

    const listing = await listIn(h2);
    expect(listing.code, listing.process.log.report('--list did not exit 0')).toBe(0);
    // The sender itself, run with --no-announce, is not listed; python3-zeroconf's entry is.
    expect(names(listing.found)).toEqual(['py-zed']);
    expect(listing.found[0]).toMatchObject({
      port: quiet.port,
      addresses: [h1.ipv4],
      key: quiet.fingerprint,
      encrypted: true,
      chat: false,
    });

    const run = await receiveIn(h2, 'py-zed', quiet.code());
    expect(run.exit.code, run.proc.log.report('taking from "py-zed" failed')).toBe(0);
    expect(await hashTree(run.out)).toEqual(await hashTree(files.dir));
    announced.signal('SIGTERM');
    expect((await announced.waitForExit(WAIT.reactMs)).code).toBe(0);
  });

  it("M1: a spoofed announcement with a real sender's name and key, pointing at another key: refused as a possible impostor before any code is sent", async () => {
    const [h1, h2, h3] = await threeHosts();
    // The real alice, whose key and code the user has; unannounced, so the spoof is the only "alice".
    const alice = await startSenderIn(
      h1,
      'alice',
      [(await offered('alice')).file],
      ['--no-announce'],
    );
    // An impostor: a Ferry sender with a key of its own, announced under alice's name and hint.
    const impostor = await startSenderIn(
      h2,
      'mallory',
      [(await offered('mallory')).file],
      ['--no-announce'],
    );
    await zeroconfRegister(h2, {
      name: 'alice',
      port: impostor.port,
      addresses: [h2.ipv4],
      txt: ['v=1', 'enc=1', 'mode=send', `fp=${alice.keyHint}`],
      spoof: true,
    });

    const run = await receiveIn(h3, 'alice', alice.code());
    const report = run.proc.log.report('the receiver did not refuse the impostor');
    expect(run.exit.code, report).toBe(1);
    expect(run.proc.events.at(-1), report).toMatchObject({
      event: 'error',
      code: 'ERR_KEY_MISMATCH',
    });
    expect(String(run.proc.events.at(-1)?.message)).toMatch(/impostor/);
    expect(await fs.readdir(run.out)).toEqual([]);
    // The impostor saw a connection, and no pairing attempt on it: its code is still its first.
    await impostor.process.waitForEvent('connected', WAIT.reactMs);
    const attempts = impostor.process.events.filter(
      (e) =>
        e.event === 'pairing-failed' ||
        e.event === 'authenticated' ||
        e.event === 'hello' ||
        (e.event === 'code' && e.reason !== 'first'),
    );
    expect(attempts).toEqual([]);
    // And alice's code, never sent anywhere, still pairs with alice by her typed address.
    const typed = await receiveIn(h3, alice.address, alice.code());
    expect(typed.exit.code, typed.proc.log.report('the typed address failed')).toBe(0);
  });

  it('M2: 10,000 fake announcements from one host: the list stays capped, memory bounded, and the real sender listed', async () => {
    const [h1, h2, h3] = await threeHosts();
    const alice = await startSenderIn(h1, 'alice', [(await offered('data')).file]);
    const quiet = await listIn(h3, [], { rss: true });
    expect(quiet.found).toEqual([foundAs(alice)]);

    // Several to a packet, about 1,100 packets a second: what is tested is what the receiver
    // keeps of what it reads, not a link so full that the real answer is lost on the way.
    const flood = await zeroconfFlood(h2, { count: 10_000, rate: 10_000 });
    const before = floodSent(flood);
    const flooded = await listIn(h3, [], { rss: true });
    const during = floodSent(flood) - before;
    flood.signal('SIGTERM');
    await flood.waitForExit(WAIT.reactMs);

    const report = flooded.process.log.report(`listing under a flood of ${during} announcements`);
    // The flood kept going for the whole listing: at least 10,000 announcements while it ran.
    expect(during, report).toBeGreaterThanOrEqual(10_000);
    expect(flooded.code, report).toBe(0);
    expect(flooded.found, report).toContainEqual(foundAs(alice));
    const fakes = flooded.found.filter((e) => String(e.name).startsWith('fake-'));
    expect(fakes.length, report).toBeLessThanOrEqual(DISCOVERY.maxPerSource);
    expect(flooded.found.length, report).toBeLessThanOrEqual(DISCOVERY.maxSenders);
    // Generous: parsing 10,000+ announcements costs some garbage, keeping them would cost more.
    const growthMb = (flooded.peakRssKb - quiet.peakRssKb) / 1024;
    expect(
      growthMb,
      `${report}\npeak RSS ${quiet.peakRssKb} KiB quiet, ${flooded.peakRssKb} KiB flooded`,
    ).toBeLessThan(48);
  });

  it('M3: control, escape and bidi characters in an announced name reach the terminal escaped', async () => {
    const network = await createNetnsNetwork();
    const [h1, h2] = [await network.addHost(), await network.addHost()];
    const hostile = 'evil\u001b[2J\u202egpj.exe';
    await zeroconfRaw(h1, {
      name: hostile,
      port: 7878,
      txt: ['v=1', 'enc=0', 'mode=send'],
      server: 'evil.local.',
    });
    const proc = startReceiverIn(h2, ['--list']);
    const exit = await proc.waitForExit(WAIT.transferMs);
    const said = `${proc.log.stdout}${proc.log.stderr}`;
    expect(exit.code, proc.log.report('--list did not list the sender')).toBe(0);
    expect(said).not.toMatch(/[\u001b\u202e]/u);
    expect(said).toContain('evil\\x1b[2J\\u{202e}gpj.exe');
  });

  it('M4: goodbyes forged for a real sender: at worst it is not listed, never listed wrong, and its typed address works', async () => {
    const [h1, h2, h3] = await threeHosts();
    const files = await offered('data');
    const alice = await startSenderIn(h1, 'alice', [files.file]);
    // Ten goodbyes a second for "alice", from another host, with that host's address in them.
    await zeroconfRaw(h2, {
      name: 'alice',
      port: alice.port,
      txt: ['v=1', 'enc=1', 'mode=send', `fp=${alice.keyHint}`],
      server: 'alice.local.',
      ttl: 0,
    });
    const listing = await listIn(h3);
    const report = listing.process.log.report('listing under forged goodbyes');
    expect([0, 1], report).toContain(listing.code);
    // The forged records also look like a conflict for the name, after which the sender may
    // take another ("alice (2)"): still alice, with her key, port and address.
    for (const found of listing.found) {
      expect(found, report).toMatchObject({ port: alice.port, key: alice.fingerprint });
      expect(String(found.name)).toMatch(/^alice/);
      expect(found.addresses).toContain(h1.ipv4);
    }
    expect(listing.found.flatMap((e) => e.addresses as string[])).not.toContain(h2.ipv4);

    const typed = await receiveIn(h3, alice.address, alice.code());
    expect(typed.exit.code, typed.proc.log.report('the typed address failed')).toBe(0);
    expect(await hashTree(typed.out)).toEqual(await hashTree(files.dir));
  });

  it("M5: multicast dropped on the receiver's host: the nothing-found line, and a transfer by typed address works", async () => {
    const network = await createNetnsNetwork();
    const [h1, h2] = [await network.addHost(), await network.addHost()];
    const files = await offered('data');
    const alice = await startSenderIn(h1, 'alice', [files.file]);
    await h2.dropMulticast();

    const listing = await listIn(h2);
    expect(listing.code, listing.process.log.report('--list found something')).toBe(1);
    expect(listing.found).toEqual([]);
    expect(listing.process.events).toContainEqual({ event: 'discovery-done', found: 0 });

    const out = await makeTempDir('out');
    const text = startReceiverIn(h2, ['--yes', '--out', out], alice.code());
    const exit = await text.waitForExit(WAIT.transferMs);
    const said = `${text.log.stdout}${text.log.stderr}`;
    expect(exit.code, text.log.report('no sender: not exit 1')).toBe(1);
    expect(said).toMatch(/No sender found/);
    expect(said).toMatch(/firewall/);
    expect(said).toMatch(/type an address it shows/);
    expect(await fs.readdir(out)).toEqual([]);

    const typed = await receiveIn(h2, alice.address, alice.code());
    expect(typed.exit.code, typed.proc.log.report('the typed address failed')).toBe(0);
    expect(await hashTree(typed.out)).toEqual(await hashTree(files.dir));
  });
});
