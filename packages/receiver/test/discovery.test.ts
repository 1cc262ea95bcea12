/**
 * ferry-receive finding senders (PROTOCOL.md §14) on a fake network: --list, picking with
 * --yes, a sender's name, the nothing-found line (M5) and the announced key (M1). The senders
 * are real cores on loopback, announced as if from 127.0.0.1.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { jsonEventProblem, RECEIVER_JSON_EVENTS } from '@ferry/cli';
import { SERVICE_NAME } from '@ferry/discovery';
import { createFakeNetwork, type FakeNetwork } from '@ferry/discovery/testing';
import { scanOffer } from '@ferry/engine';
import { PairingCodes } from '@ferry/protocol';
import {
  derivePasswordScalar,
  fingerprintHex,
  loadOrCreateIdentity,
  shortFingerprint,
  TrustStore,
} from '@ferry/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { createSender } from '../../sender/src/sender.ts';
import { EXIT } from '../src/main.ts';
import type { Prompter } from '../src/ui/prompts.ts';
import {
  jsonEvents,
  onCleanup,
  runCleanup,
  runReceive,
  silentLogger,
  sourceFiles,
  startRealSender,
  tempDir,
} from './helpers.ts';

afterEach(runCleanup);

const LOOPBACK = { address: '127.0.0.1', hostname: 'loopback' };

/** Announces a sender listening on 127.0.0.1:`port`. */
async function announce(
  network: FakeNetwork,
  name: string,
  port: number,
  options: { chat?: boolean; fingerprint?: string } = {},
) {
  await network.announcer(LOOPBACK).start({
    name,
    port,
    encrypted: options.fingerprint !== undefined,
    chat: options.chat ?? false,
    fingerprint: options.fingerprint,
  });
}

/** A real sender core with encryption on; its pairing attempts are counted. */
async function startEncryptedSender() {
  const dir = await tempDir();
  const identity = await loadOrCreateIdentity(dir);
  const pairing = new PairingCodes(derivePasswordScalar);
  const sender = createSender({
    security: {
      encryption: true,
      identity,
      trust: await TrustStore.open(dir, 'receiver'),
      pairing,
      remember: false,
    },
    offer: await scanOffer(await sourceFiles({ 'a.txt': 'alpha' })),
    host: '127.0.0.1',
    port: 0,
    name: 'alice',
    logger: silentLogger,
  });
  const events: string[] = [];
  for (const event of ['pairing-failed', 'authenticated', 'hello'] as const)
    sender.on(event, () => events.push(event));
  const listening = new Promise<{ port: number }>((resolve) => sender.on('listening', resolve));
  onCleanup('encrypted sender', () => sender.close(true));
  await sender.listen();
  return {
    port: (await listening).port,
    fingerprint: fingerprintHex(identity.fingerprint),
    events,
  };
}

describe('ferry-receive --list', () => {
  it('--json prints sender-found for each sender of the mode asked, then discovery-done', async () => {
    const network = createFakeNetwork();
    await announce(network, 'alice', 7000, { fingerprint: 'ab'.repeat(32) });
    await announce(network, 'chatty', 7001, { chat: true });
    await announce(network, 'bob', 7002);
    const run = await runReceive(['--list', '--json'], { browser: network.browser() });
    expect(run.code).toBe(EXIT.ok);
    for (const line of run.stdout.lines)
      expect(jsonEventProblem(RECEIVER_JSON_EVENTS, line)).toBeUndefined();
    expect(jsonEvents(run.stdout)).toEqual([
      {
        event: 'sender-found',
        number: 1,
        name: 'alice',
        host: 'loopback',
        addresses: ['127.0.0.1'],
        port: 7000,
        key: 'ABAB ABAB ABAB ABAB',
        encrypted: true,
        chat: false,
        remembered: false,
      },
      expect.objectContaining({
        event: 'sender-found',
        number: 2,
        name: 'bob',
        key: '',
        encrypted: false,
      }),
      { event: 'discovery-done', found: 2 },
    ]);
  });

  it('--chat lists conversations only, as text', async () => {
    const network = createFakeNetwork();
    await announce(network, 'alice', 7000);
    await announce(network, 'chatty', 7001, { chat: true });
    const run = await runReceive(['--list', '--chat'], { browser: network.browser() });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.lines).toEqual([
      'Senders on this network:',
      '  1  chatty  loopback  127.0.0.1:7001  no encryption  new',
    ]);
  });

  it('marks a sender whose announced key starts a remembered key', async () => {
    const network = createFakeNetwork();
    const config = await tempDir();
    const dir = await tempDir();
    const remembered = await loadOrCreateIdentity(dir);
    await (await TrustStore.open(config, 'sender')).remember({
      name: 'alice@laptop',
      fingerprint: remembered.fingerprint,
    });
    await announce(network, 'alice', 7000, { fingerprint: fingerprintHex(remembered.fingerprint) });
    const run = await runReceive(['--list'], {
      browser: network.browser(),
      env: { FERRY_CONFIG_DIR: config },
    });
    expect(run.stdout.lines[1]).toMatch(/ remembered$/);
  });

  it('M5: nothing found: the nothing-found line and exit 1, also with --json', async () => {
    const network = createFakeNetwork();
    await announce(network, 'alice', 7000);
    const text = await runReceive(['--list'], { browser: network.browser({ blocked: true }) });
    expect(text.code).toBe(EXIT.failure);
    expect(text.stderr.lines[0]).toBe('ferry-receive: No sender found on this network in 2 s.');
    expect(text.stderr.text).toContain('a subnet, firewall or Wi-Fi may hide it');
    const json = await runReceive(['--list', '--json'], {
      browser: network.browser({ blocked: true }),
    });
    expect(json.code).toBe(EXIT.failure);
    expect(jsonEvents(json.stdout)).toEqual([
      { event: 'discovery-done', found: 0 },
      {
        event: 'error',
        code: 'ERR_NOT_FOUND',
        message: expect.stringMatching(/^No sender found on this network/),
      },
    ]);
  });

  it('M3: a hostile name is escaped in the list and in --json', async () => {
    const network = createFakeNetwork();
    await announce(network, 'a\x1b]0;pwned\x07\u202eb', 7000);
    const run = await runReceive(['--list'], { browser: network.browser() });
    expect(run.stdout.lines[1]).toContain('a\\x1b]0;pwned\\x07\\u{202e}b');
    expect(run.stdout.text).not.toMatch(/[\x07\x1b\u202e]/);
    const json = await runReceive(['--list', '--json'], { browser: network.browser() });
    expect(json.stdout.text).not.toMatch(/[\x07\x1b\u202e]/);
    expect(jsonEvents(json.stdout)[0]?.name).toBe('a\x1b]0;pwned\x07\u202eb');
  });
});

describe('ferry-receive with no address, or a name', () => {
  it('--yes with exactly one sender found takes from it', async () => {
    const network = createFakeNetwork();
    const { port } = await startRealSender(await sourceFiles({ 'a.txt': 'alpha' }));
    await announce(network, 'alice', port);
    const out = await tempDir();
    const run = await runReceive(['--yes', '--out', out], { browser: network.browser() });
    expect(run.code, run.stderr.text).toBe(EXIT.ok);
    expect(await readFile(path.join(out, 'a.txt'), 'utf8')).toBe('alpha');
  });

  it('--yes with several found is a usage error that lists them', async () => {
    const network = createFakeNetwork();
    await announce(network, 'alice', 7000);
    await network
      .announcer({ address: '127.0.0.2' })
      .start({ name: 'bob', port: 7001, encrypted: false, chat: false });
    const run = await runReceive(['--yes', '--out', await tempDir()], {
      browser: network.browser(),
    });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain(
      '2 senders found, and --yes takes one only when it is the only one',
    );
    expect(run.stderr.text).toContain('Name one (ferry-receive <name>), or type its address');
  });

  it('a name connects to the sender announced under it', async () => {
    const network = createFakeNetwork();
    const { port } = await startRealSender(await sourceFiles({ 'b.txt': 'bravo' }));
    await network
      .announcer({ address: '127.0.0.2' })
      .start({ name: 'bob', port: 7001, encrypted: false, chat: false });
    await announce(network, 'alice', port);
    const out = await tempDir();
    const run = await runReceive(['--yes', '--out', out, 'alice'], { browser: network.browser() });
    expect(run.code, run.stderr.text).toBe(EXIT.ok);
    expect(await readFile(path.join(out, 'b.txt'), 'utf8')).toBe('bravo');
  });

  it('M1: a name announced by two senders (one spoofed, without probing) is a usage error listing both', async () => {
    const network = createFakeNetwork();
    await announce(network, 'alice', 7000);
    const fqdn = `alice.${SERVICE_NAME}`;
    network.inject(
      [
        { type: 'PTR', name: SERVICE_NAME, ttl: 120, data: fqdn },
        { type: 'SRV', name: fqdn, ttl: 120, data: { target: 'spoof.local', port: 7001 } },
        {
          type: 'TXT',
          name: fqdn,
          ttl: 120,
          data: ['v=1', 'enc=0', 'mode=send'].map((entry) => Buffer.from(entry)),
        },
        { type: 'A', name: 'spoof.local', ttl: 120, data: '127.0.0.2' },
      ],
      '127.0.0.2',
    );
    const run = await runReceive(['--yes', '--out', await tempDir(), 'alice'], {
      browser: network.browser(),
    });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('2 senders on this network are named "alice"');
    expect(run.stderr.text).toContain('127.0.0.1:7000');
    expect(run.stderr.text).toContain('127.0.0.2:7001');
  });

  it('M1: a sender whose key is not the one announced is refused before any AUTH, with the impostor line', async () => {
    const network = createFakeNetwork();
    const sender = await startEncryptedSender();
    const announced = 'c0ffee'.padEnd(64, '0');
    await announce(network, 'alice', sender.port, { fingerprint: announced });
    const run = await runReceive(['--yes', '--out', await tempDir()], {
      browser: network.browser(),
      encrypted: true,
      env: { FERRY_CONFIG_DIR: await tempDir(), FERRY_CODE: '1234-5678' },
    });
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr.text.replace(/\n/g, ' ')).toContain(
      `"alice" at 127.0.0.1:${sender.port} shows key ${shortFingerprint(sender.fingerprint)} but announced ${shortFingerprint(announced)}: it may be an impostor. Nothing was sent.`,
    );
    // No pairing attempt reached the sender: the code was never tried.
    expect(sender.events).toEqual([]);
  });

  it('M3: the impostor line escapes a hostile name once', async () => {
    const network = createFakeNetwork();
    const sender = await startEncryptedSender();
    await announce(network, 'al\x1b[31mice', sender.port, { fingerprint: 'c0ffee'.padEnd(64, '0') });
    const run = await runReceive(['--yes', '--out', await tempDir()], {
      browser: network.browser(),
      encrypted: true,
      env: { FERRY_CONFIG_DIR: await tempDir(), FERRY_CODE: '1234-5678' },
    });
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr.text).toContain(`"al\\x1b[31mice" at 127.0.0.1:${sender.port} shows key`);
    expect(run.stderr.text).not.toContain('\x1b');
  });

  it('a sender whose key is the one announced pairs as usual', async () => {
    const network = createFakeNetwork();
    const sender = await startEncryptedSender();
    await announce(network, 'alice', sender.port, { fingerprint: sender.fingerprint });
    const run = await runReceive(['--yes', '--out', await tempDir(), '--json'], {
      browser: network.browser(),
      encrypted: true,
      env: { FERRY_CONFIG_DIR: await tempDir(), FERRY_CODE: '1234-5678' },
    });
    // The code is wrong, so pairing fails: but it was tried, past the key check.
    expect(jsonEvents(run.stdout).at(-1)).toMatchObject({
      event: 'error',
      code: 'ERR_PAIRING_FAILED',
    });
    expect(sender.events).toEqual(['pairing-failed']);
  });
});

describe('picking on a terminal', () => {
  it('lists the senders, takes the number picked, or an address typed instead', async () => {
    const network = createFakeNetwork();
    const first = await startRealSender(await sourceFiles({ 'a.txt': 'alpha' }));
    const second = await startRealSender(await sourceFiles({ 'b.txt': 'bravo' }));
    await announce(network, 'alice', first.port);
    await network
      .announcer({ address: '127.0.0.2' })
      .start({ name: 'bob', port: 7001, encrypted: false, chat: false });
    for (const [answer, file] of [
      ['1', 'a.txt'],
      [`127.0.0.1:${second.port}`, 'b.txt'],
    ] as const) {
      const out = await tempDir();
      const asked: number[] = [];
      const prompter: Prompter = {
        pickSender: async (count) => {
          asked.push(count);
          return answer;
        },
        chooseItems: async (offer) => offer.items.map((_, index) => index),
        chooseFolder: async () => out,
        askCode: async () => null,
      };
      const run = await runReceive([], { browser: network.browser(), stdinTTY: true, prompter });
      expect(run.code, run.stderr.text).toBe(EXIT.ok);
      expect(asked).toEqual([2]);
      const width = `127.0.0.1:${first.port}`.length;
      expect(run.stdout.lines.slice(0, 3)).toEqual([
        'Senders on this network:',
        `  1  alice  loopback   ${`127.0.0.1:${first.port}`.padEnd(width)}  no encryption  new`,
        `  2  bob    127-0-0-2  ${'127.0.0.2:7001'.padEnd(width)}  no encryption  new`,
      ]);
      expect(await readFile(path.join(out, file), 'utf8')).toBe(
        file === 'a.txt' ? 'alpha' : 'bravo',
      );
    }
  });
});

describe('one sender heard twice', () => {
  it('is listed once when the name, key and port agree, and twice when the key differs (M1)', async () => {
    const network = createFakeNetwork();
    const key = 'ab'.repeat(32);
    await network
      .announcer({ address: '127.0.0.1' })
      .start({ name: 'alice', port: 7000, encrypted: true, chat: false, fingerprint: key });
    const fqdn = `alice.${SERVICE_NAME}`;
    const copy = (fp: string, source: string) =>
      network.inject(
        [
          { type: 'PTR', name: SERVICE_NAME, ttl: 120, data: fqdn },
          { type: 'SRV', name: fqdn, ttl: 120, data: { target: 'other.local', port: 7000 } },
          {
            type: 'TXT',
            name: fqdn,
            ttl: 120,
            data: ['v=1', 'enc=1', 'mode=send', `fp=${fp}`].map((entry) => Buffer.from(entry)),
          },
          { type: 'A', name: 'other.local', ttl: 120, data: source },
        ],
        source,
      );
    copy('abababababababab', '127.0.0.2');
    const once = await runReceive(['--list', '--json'], { browser: network.browser() });
    expect(jsonEvents(once.stdout).filter((event) => event.event === 'sender-found')).toHaveLength(
      1,
    );
    copy('cdcdcdcdcdcdcdcd', '127.0.0.3');
    const twice = await runReceive(['--list', '--json'], { browser: network.browser() });
    expect(
      jsonEvents(twice.stdout)
        .filter((event) => event.event === 'sender-found')
        .map((event) => event.addresses),
    ).toEqual([['127.0.0.1'], ['127.0.0.3']]);
  });
});
