import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shortFingerprint } from '../src/node/identity.ts';
import { rememberedName, TrustStore, TrustStoreError } from '../src/node/trust.ts';
import { fromHex, rejection, toHex } from './helpers.ts';

const POSIX = process.platform !== 'win32';

let root: string;
let file: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ferry-trust-'));
  file = path.join(root, 'trusted-senders.json');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A 32-byte fingerprint: `start` (hex) followed by `fill` bytes. */
function fingerprint(start: string, fill = 0x11): Uint8Array {
  const bytes = new Uint8Array(32).fill(fill);
  bytes.set(fromHex(start));
  return bytes;
}

const ALICE = fingerprint('a11ce000');
const BOB = fingerprint('b0b00000');

/** The folder's entries other than the list: temp files must not be left behind. */
async function leftovers(): Promise<string[]> {
  return (await readdir(root)).filter((name) => name !== 'trusted-senders.json');
}

describe('TrustStore.open', () => {
  it('treats a missing file as an empty list and creates nothing', async () => {
    const store = await TrustStore.open(root, 'sender');
    expect(store.list()).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  });

  it('treats a missing folder as an empty list', async () => {
    const store = await TrustStore.open(path.join(root, 'not', 'yet'), 'sender');
    expect(store.list()).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['truncated JSON', '{"version":1,"peers":['],
    ['not JSON at all', 'peers: alice'],
  ])('refuses %s, names the file, says how to fix it, and leaves it alone', async (_what, content) => {
    await writeFile(file, content, { mode: 0o600 });
    const error = await rejection(() => TrustStore.open(root, 'sender'));
    expect(error).toBeInstanceOf(TrustStoreError);
    expect(error).toMatchObject({ name: 'TrustStoreError', path: file });
    const message = (error as Error).message;
    expect(message).toContain(file);
    expect(message).toContain('not valid JSON');
    expect(message).toContain('move it away');
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  const good = { name: 'alice', fingerprint: 'a'.repeat(64), addresses: ['10.0.0.2'], added: '2025-01-02T03:04:05.000Z' };
  it.each([
    ['a list instead of an object', []],
    ['null', null],
    ['no version', { peers: [] }],
    ['version 0', { version: 0, peers: [] }],
    ['version "1" as a string', { version: '1', peers: [] }],
    ['no peers', { version: 1 }],
    ['an unknown top-level field', { version: 1, peers: [], extra: true }],
    ['an unknown peer field', { version: 1, peers: [{ ...good, trusted: true }] }],
    ['a missing peer field', { version: 1, peers: [{ name: 'alice', fingerprint: 'a'.repeat(64), addresses: [] }] }],
    ['an upper-case fingerprint', { version: 1, peers: [{ ...good, fingerprint: 'A'.repeat(64) }] }],
    ['a short fingerprint', { version: 1, peers: [{ ...good, fingerprint: 'a'.repeat(63) }] }],
    ['a bad date', { version: 1, peers: [{ ...good, added: 'yesterday' }] }],
    ['nine addresses', { version: 1, peers: [{ ...good, addresses: Array.from({ length: 9 }, (_, i) => `10.0.0.${i}`) }] }],
    ['an empty name', { version: 1, peers: [{ ...good, name: '  ' }] }],
    ['a name with an escape character', { version: 1, peers: [{ ...good, name: 'a\u001b[31mb' }] }],
    ['a name over 128 bytes', { version: 1, peers: [{ ...good, name: 'é'.repeat(65) }] }],
    ['the same key twice', { version: 1, peers: [good, { ...good, name: 'bob' }] }],
    ['the same name twice', { version: 1, peers: [good, { ...good, name: 'ALICE', fingerprint: 'b'.repeat(64) }] }],
  ])('refuses a file with %s and leaves it alone', async (_what, data) => {
    const content = JSON.stringify(data);
    await writeFile(file, content, { mode: 0o600 });
    const error = await rejection(() => TrustStore.open(root, 'sender'));
    expect(error).toBeInstanceOf(TrustStoreError);
    expect(error).toMatchObject({ path: file });
    expect((error as Error).message).toContain(`${file} is not a valid list of remembered peers`);
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('tells a file from a newer Ferry apart from a broken one', async () => {
    await writeFile(file, JSON.stringify({ version: 2, peers: [], groups: [] }), { mode: 0o600 });
    const error = await rejection(() => TrustStore.open(root, 'sender'));
    expect(error).toBeInstanceOf(TrustStoreError);
    expect((error as Error).message).toContain('newer Ferry');
  });

  it('refuses a folder where the file should be', async () => {
    await mkdir(file);
    const error = await rejection(() => TrustStore.open(root, 'sender'));
    expect(error).toBeInstanceOf(TrustStoreError);
    expect(error).toMatchObject({ path: file });
  });

  it.skipIf(!POSIX)('refuses a file other users may change, and says how to fix it', async () => {
    const content = JSON.stringify({ version: 1, peers: [] });
    await writeFile(file, content, { mode: 0o600 });
    for (const mode of [0o666, 0o620, 0o602]) {
      await chmod(file, mode);
      const error = await rejection(() => TrustStore.open(root, 'sender'));
      expect(error).toBeInstanceOf(TrustStoreError);
      expect((error as Error).message).toContain(`chmod 600 ${file}`);
    }
    // Readable by others is fine: it holds public keys' fingerprints and names, no secrets.
    await chmod(file, 0o644);
    expect((await TrustStore.open(root, 'sender')).list()).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('reads a valid file, including hand-written dates with an offset', async () => {
    const peer = { name: 'Alice', fingerprint: toHex(ALICE), addresses: ['alice.local'], added: '2025-01-02T03:04:05+01:00' };
    await writeFile(file, JSON.stringify({ version: 1, peers: [peer] }), { mode: 0o600 });
    const store = await TrustStore.open(root, 'sender');
    expect(store.list()).toEqual([peer]);
  });
  it('keeps the senders and the receivers a user trusts in separate lists', async () => {
    await (await TrustStore.open(root, 'sender')).remember({ name: 'Alice', fingerprint: ALICE });
    const receivers = await TrustStore.open(root, 'receiver');
    expect(receivers.list()).toEqual([]);
    expect(receivers.byFingerprint(ALICE)).toBeUndefined();
    expect(receivers.file).toBe(path.join(root, 'trusted-receivers.json'));
    expect((await TrustStore.open(root, 'sender')).byFingerprint(ALICE)?.name).toBe('Alice');
  });
});

describe('TrustStore.remember', () => {
  it('adds a peer, writes an owner-only file, and returns what it stored', async () => {
    const store = await TrustStore.open(root, 'sender');
    const before = Date.now();
    const result = await store.remember({ name: 'Alice', fingerprint: ALICE, address: '192.168.1.20' });
    expect(result.kind).toBe('added');
    const peer = result.kind === 'added' ? result.peer : undefined;
    expect(peer).toMatchObject({ name: 'Alice', fingerprint: toHex(ALICE), addresses: ['192.168.1.20'] });
    expect(Date.parse(peer!.added)).toBeGreaterThanOrEqual(before - 1000);
    expect(store.list()).toEqual([peer]);
    if (POSIX) expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, peers: [peer] });
    expect(await leftovers()).toEqual([]);
  });

  it('creates the folder, owner-only, when it is missing', async () => {
    const dir = path.join(root, 'config', 'ferry');
    const store = await TrustStore.open(dir, 'sender');
    await store.remember({ name: 'Alice', fingerprint: ALICE });
    expect((await TrustStore.open(dir, 'sender')).list()).toHaveLength(1);
    if (POSIX) expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('adds a peer with no address', async () => {
    const store = await TrustStore.open(root, 'sender');
    const result = await store.remember({ name: 'Alice', fingerprint: ALICE });
    expect(result).toMatchObject({ kind: 'added', peer: { addresses: [] } });
  });

  it('refreshes the addresses of a known key: most recent first, no duplicates, at most 8', async () => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'a' });
    await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'b' });
    expect(store.byName('alice')?.addresses).toEqual(['b', 'a']);
    await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'a' });
    expect(store.byName('alice')?.addresses).toEqual(['a', 'b']);
    await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'B' });
    expect(store.byName('alice')?.addresses).toEqual(['B', 'a']);
    for (const address of ['1', '2', '3', '4', '5', '6', '7', '8', '9']) {
      await store.remember({ name: 'Alice', fingerprint: ALICE, address });
    }
    expect(store.byName('alice')?.addresses).toEqual(['9', '8', '7', '6', '5', '4', '3', '2']);
    expect(store.list()).toHaveLength(1);
  });

  it('keeps the remembered name when a known key comes back under another name', async () => {
    const store = await TrustStore.open(root, 'sender');
    const added = await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'a' });
    const result = await store.remember({ name: 'Mallory', fingerprint: ALICE, address: 'b' });
    expect(result.kind).toBe('updated');
    expect(result.kind === 'updated' && result.peer).toMatchObject({ name: 'Alice', addresses: ['b', 'a'] });
    expect(result.kind === 'updated' && result.peer.added).toBe(added.kind === 'added' && added.peer.added);
    expect(store.byName('Mallory')).toBeUndefined();
  });

  it('reports "updated" without rewriting when nothing changes', async () => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'a' });
    const before = await readFile(file, 'utf8');
    const { mtimeMs } = await stat(file);
    expect((await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'a' })).kind).toBe('updated');
    expect((await store.remember({ name: 'Alice', fingerprint: ALICE })).kind).toBe('updated');
    expect(await readFile(file, 'utf8')).toBe(before);
    expect((await stat(file)).mtimeMs).toBe(mtimeMs);
  });

  it('never replaces a remembered key: another key under a known name is a conflict and changes nothing', async () => {
    const store = await TrustStore.open(root, 'sender');
    const added = await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'a' });
    const before = await readFile(file);
    for (const name of ['Alice', 'alice', '  ALICE ', 'Ａｌｉｃｅ']) {
      const result = await store.remember({ name, fingerprint: BOB, address: 'b' });
      expect(result.kind).toBe('conflict');
      expect(result.kind === 'conflict' && result.existing).toEqual(added.kind === 'added' && added.peer);
    }
    expect(await readFile(file)).toEqual(before);
    expect(store.byFingerprint(BOB)).toBeUndefined();
    expect(await leftovers()).toEqual([]);
  });

  it('accepts a name of exactly 128 UTF-8 bytes and refuses a longer one without truncating', async () => {
    const store = await TrustStore.open(root, 'sender');
    const fits = 'é'.repeat(64);
    expect((await store.remember({ name: fits, fingerprint: ALICE })).kind).toBe('added');
    const before = await readFile(file, 'utf8');
    const error = await rejection(() => store.remember({ name: `${fits}x`, fingerprint: BOB }));
    expect(error).toBeInstanceOf(TrustStoreError);
    expect((error as Error).message).toContain('128 UTF-8 bytes');
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(store.byName(fits)?.name).toBe(fits);
  });

  it.each([
    ['an escape sequence', 'a\u001b[2Jb'],
    ['a newline', 'alice\nbob'],
    ['DEL', 'a\u007f'],
    ['a C1 control', 'a\u009bb'],
    ['a bidi override', 'a\u202eb'],
    ['a lone surrogate', 'a\ud800'],
    ['only spaces', '   '],
    ['nothing', ''],
  ])('refuses a name with %s', async (_what, name) => {
    const store = await TrustStore.open(root, 'sender');
    await expect(store.remember({ name, fingerprint: ALICE })).rejects.toBeInstanceOf(TrustStoreError);
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses a bad address or fingerprint', async () => {
    const store = await TrustStore.open(root, 'sender');
    await expect(store.remember({ name: 'a', fingerprint: ALICE, address: 'x\ny' })).rejects.toBeInstanceOf(TrustStoreError);
    await expect(store.remember({ name: 'a', fingerprint: ALICE, address: 'x'.repeat(300) })).rejects.toBeInstanceOf(
      TrustStoreError,
    );
    await expect(store.remember({ name: 'a', fingerprint: new Uint8Array(31) })).rejects.toBeInstanceOf(TrustStoreError);
    expect(await readdir(root)).toEqual([]);
  });

  it('re-reads the file first, so another process’s change is kept', async () => {
    const first = await TrustStore.open(root, 'sender');
    const second = await TrustStore.open(root, 'sender');
    await first.remember({ name: 'Alice', fingerprint: ALICE });
    await second.remember({ name: 'Bob', fingerprint: BOB });
    expect((await TrustStore.open(root, 'sender')).list().map((peer) => peer.name)).toEqual(['Alice', 'Bob']);
    // The second store also refused to give Alice's name to another key it had not seen.
    expect((await second.remember({ name: 'alice', fingerprint: fingerprint('cc') })).kind).toBe('conflict');
  });

  it('applies simultaneous changes from one store one after another', async () => {
    const store = await TrustStore.open(root, 'sender');
    const names = Array.from({ length: 10 }, (_, i) => `peer ${i}`);
    await Promise.all(names.map((name, i) => store.remember({ name, fingerprint: fingerprint(i.toString(16).padStart(2, '0')) })));
    expect((await TrustStore.open(root, 'sender')).list().map((peer) => peer.name)).toEqual(names);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses to write over a corrupt file', async () => {
    const store = await TrustStore.open(root, 'sender');
    await writeFile(file, '{ corrupt', { mode: 0o600 });
    await expect(store.remember({ name: 'Alice', fingerprint: ALICE })).rejects.toBeInstanceOf(TrustStoreError);
    expect(await readFile(file, 'utf8')).toBe('{ corrupt');
    expect(await leftovers()).toEqual([]);
  });

  it('persists across open() calls', async () => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'a' });
    await store.remember({ name: 'Bob', fingerprint: BOB, address: 'b' });
    const reopened = await TrustStore.open(root, 'sender');
    expect(reopened.list()).toEqual(store.list());
    expect(reopened.list().map((peer) => peer.name)).toEqual(['Alice', 'Bob']);
  });
});

describe('TrustStore lookups', () => {
  async function twoPeers(): Promise<TrustStore> {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: ALICE, address: 'Alice.local' });
    await store.remember({ name: 'Bob', fingerprint: BOB, address: '10.0.0.9' });
    await store.remember({ name: 'Bob', fingerprint: BOB, address: '10.0.0.5' });
    return store;
  }

  it('finds by fingerprint bytes or hex', async () => {
    const store = await twoPeers();
    expect(store.byFingerprint(ALICE)?.name).toBe('Alice');
    expect(store.byFingerprint(toHex(BOB))?.name).toBe('Bob');
    expect(store.byFingerprint(toHex(BOB).toUpperCase())?.name).toBe('Bob');
    expect(store.byFingerprint(fingerprint('cc'))).toBeUndefined();
    expect(store.byFingerprint(toHex(BOB).slice(0, 16))).toBeUndefined();
  });

  it('finds names after NFKC, lower-casing and trimming', async () => {
    const store = await twoPeers();
    expect(store.byName('alice')?.name).toBe('Alice');
    expect(store.byName('  ALICE\t')?.name).toBe('Alice');
    expect(store.byName('Ａｌｉｃｅ')?.name).toBe('Alice');
    expect(store.byName('alic')).toBeUndefined();
  });

  it('finds by any remembered address, ignoring case', async () => {
    const store = await twoPeers();
    expect(store.byAddress('10.0.0.9').map((peer) => peer.name)).toEqual(['Bob']);
    expect(store.byAddress('alice.LOCAL').map((peer) => peer.name)).toEqual(['Alice']);
    expect(store.byAddress('10.0.0.1')).toEqual([]);
  });

  it('hands out frozen peers', async () => {
    const store = await twoPeers();
    const peer = store.byName('bob')!;
    expect(Object.isFrozen(peer)).toBe(true);
    expect(Object.isFrozen(peer.addresses)).toBe(true);
    expect(Object.isFrozen(store.list())).toBe(true);
  });
});

describe('TrustStore.forget', () => {
  it('forgets by name, with the same comparison as byName', async () => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: ALICE });
    await store.remember({ name: 'Bob', fingerprint: BOB });
    const removed = await store.forget(' ALICE ');
    expect(removed.map((peer) => peer.name)).toEqual(['Alice']);
    expect(store.list().map((peer) => peer.name)).toEqual(['Bob']);
    expect((await TrustStore.open(root, 'sender')).list().map((peer) => peer.name)).toEqual(['Bob']);
    if (POSIX) expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await leftovers()).toEqual([]);
  });

  it('forgets by a fingerprint prefix of 8 or more digits, ignoring case and spaces', async () => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: ALICE });
    await store.remember({ name: 'Bob', fingerprint: BOB });
    expect(await store.forget('A11C E000')).toMatchObject([{ name: 'Alice' }]);
    expect(await store.forget(toHex(BOB))).toMatchObject([{ name: 'Bob' }]);
    expect(store.list()).toEqual([]);
  });

  it.each([
    ['the first group as displayed', 'A11C'],
    ['two groups as displayed', 'A11C E000'],
    ['the whole displayed key', 'A11C E000 1111 1111'],
    ['lower case', 'a11c'],
    ['without spaces', 'A11CE0001111'],
  ])('U13: forgets by the key as the apps display it: %s', async (_, typed) => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: ALICE });
    await store.remember({ name: 'Bob', fingerprint: BOB });
    expect(shortFingerprint(ALICE)).toBe('A11C E000 1111 1111');
    expect(await store.forget(typed)).toMatchObject([{ name: 'Alice' }]);
    expect(store.list().map((peer) => peer.name)).toEqual(['Bob']);
  });

  it('U13: fewer digits than one group match nothing; an ambiguous group names the keys as displayed', async () => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: fingerprint('12345678aa') });
    await store.remember({ name: 'Bob', fingerprint: fingerprint('12345678bb') });
    expect(await store.forget('123')).toEqual([]);
    const error = await rejection(() => store.forget('1234'));
    expect((error as Error).message).toContain('"Alice" (key 1234 5678 AA11 1111)');
    expect(await store.forget('1234 5678 AA')).toMatchObject([{ name: 'Alice' }]);
  });

  it('U13: both sides name a remembered peer alike: announced name @ where it is', () => {
    expect(rememberedName('root', 'vm')).toBe('root@vm');
    expect(rememberedName('root', '::ffff:192.168.1.20')).toBe('root@192.168.1.20');
    expect(rememberedName('root', 'fe80::1')).toBe('root@fe80::1');
    expect(new TextEncoder().encode(rememberedName('x'.repeat(200), 'vm')).byteLength).toBeLessThanOrEqual(128);
  });

  it('U13: a long name is cut to keep its host whole, within 128 bytes, never inside a character', () => {
    const bytes = (text: string) => new TextEncoder().encode(text).byteLength;
    const ascii = rememberedName('x'.repeat(200), '192.168.1.20');
    expect(ascii).toBe(`${'x'.repeat(128 - bytes('@192.168.1.20'))}@192.168.1.20`);
    // 'é' is 2 bytes: 115 bytes of room hold 57 of them, not half of a 58th.
    const accented = rememberedName('é'.repeat(100), '192.168.1.20');
    expect(accented).toBe(`${'é'.repeat(57)}@192.168.1.20`);
    expect(bytes(accented)).toBeLessThanOrEqual(128);
  });

  it('refuses an ambiguous prefix, lists the matches and changes nothing', async () => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'Alice', fingerprint: fingerprint('12345678aa') });
    await store.remember({ name: 'Bob', fingerprint: fingerprint('12345678bb') });
    const before = await readFile(file);
    const error = await rejection(() => store.forget('1234 5678'));
    expect(error).toBeInstanceOf(TrustStoreError);
    expect(error).toMatchObject({ path: file });
    const message = (error as Error).message;
    expect(message).toContain('"Alice" (key 1234 5678 AA11 1111)');
    expect(message).toContain('"Bob" (key 1234 5678 BB11 1111)');
    expect(await readFile(file)).toEqual(before);
    expect(await store.forget('12345678a')).toMatchObject([{ name: 'Alice' }]);
  });

  it('prefers a name that looks like a fingerprint prefix', async () => {
    const store = await TrustStore.open(root, 'sender');
    await store.remember({ name: 'deadbeef', fingerprint: ALICE });
    await store.remember({ name: 'Bob', fingerprint: fingerprint('deadbeef') });
    expect(await store.forget('DEADBEEF')).toMatchObject([{ name: 'deadbeef' }]);
    expect(await store.forget('deadbeef')).toMatchObject([{ name: 'Bob' }]);
  });

  it('returns an empty list for an unknown peer and writes nothing', async () => {
    const store = await TrustStore.open(root, 'sender');
    expect(await store.forget('nobody')).toEqual([]);
    expect(await store.forget('')).toEqual([]);
    expect(await readdir(root)).toEqual([]);
    await store.remember({ name: 'Alice', fingerprint: ALICE });
    const { mtimeMs } = await stat(file);
    expect(await store.forget('ffffffff')).toEqual([]);
    expect((await stat(file)).mtimeMs).toBe(mtimeMs);
  });

  it('refuses to change a corrupt file', async () => {
    await writeFile(file, '{"version":1,"peers":[{"name":"x"}]}', { mode: 0o600 });
    const store = await rejection(() => TrustStore.open(root, 'sender'));
    expect(store).toBeInstanceOf(TrustStoreError);
    await writeFile(file, JSON.stringify({ version: 1, peers: [] }), { mode: 0o600 });
    const opened = await TrustStore.open(root, 'sender');
    await writeFile(file, 'garbage', { mode: 0o600 });
    await expect(opened.forget('x')).rejects.toBeInstanceOf(TrustStoreError);
    expect(await readFile(file, 'utf8')).toBe('garbage');
  });
});
