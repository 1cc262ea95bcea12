/**
 * The sender core with encryption on, in-process, against the real receiver core: pairing
 * codes and their events, remembered receivers, and the caps on connections that have not
 * authenticated (HOSTILE-INPUTS.md E1, G1, G2).
 */
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LIMITS, MAGIC, normalizeCode, PairingCodes } from '@ferry/protocol';
import { derivePasswordScalar, type Identity, loadOrCreateIdentity, TrustStore } from '@ferry/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { createReceiver, type ReceiverEvents } from '../../receiver/src/receiver.ts';
import type { SenderOptions } from '../src/sender.ts';
import { idleClient, onCleanup, runCleanup, silentLogger, startSenderOffering, tempDir, within } from './helpers.ts';

afterEach(runCleanup);

interface Machine {
  readonly dir: string;
  readonly identity: Identity;
  /** The receivers it remembers as a sender. */
  readonly receivers: TrustStore;
  /** The senders it remembers as a receiver. */
  readonly senders: TrustStore;
}

async function machine(): Promise<Machine> {
  return reopen(await tempDir());
}

/** The machine whose configuration is in `dir`, as a new run of Ferry reads it. */
async function reopen(dir: string): Promise<Machine> {
  return {
    dir,
    identity: await loadOrCreateIdentity(dir),
    receivers: await TrustStore.open(dir, 'receiver'),
    senders: await TrustStore.open(dir, 'sender'),
  };
}

/** An encrypting sender offering one small file; `code()` is the code it shows now. */
async function startSender(me: Machine, options: Partial<SenderOptions> & { remember?: boolean } = {}) {
  const dir = await tempDir();
  await writeFile(path.join(dir, 'secret-name.txt'), 'the content');
  const { sender, log, port } = await startSenderOffering([path.join(dir, 'secret-name.txt')], {
    security: {
      encryption: true,
      identity: me.identity,
      trust: me.receivers,
      pairing: new PairingCodes(derivePasswordScalar),
      remember: options.remember ?? false,
    },
    ...options,
  });
  await log.waitFor('code');
  const code = () => normalizeCode(log.all('code').at(-1)!.code)!;
  return { sender, log, port, code };
}

/** The real receiver core, encrypted, taking everything into a fresh folder. */
async function receive(port: number, me: Machine, options: { code?: string; remember?: boolean } = {}) {
  const out = await tempDir();
  const receiver = createReceiver({
    security: { encryption: true, identity: me.identity, trust: me.senders, code: options.code, remember: options.remember ?? false },
    host: '127.0.0.1',
    port,
    name: 'bob',
    logger: silentLogger,
    decide: async (offer) => ({ items: offer.items.map((_, index) => index), outDir: out }),
  });
  const remembered: ReceiverEvents['remembered'][] = [];
  receiver.on('remembered', (event) => remembered.push(event));
  const outcome = await within(receiver.run(), 'the receiver').then(
    (result) => ({ result, error: undefined }),
    (error: unknown) => ({ result: undefined, error: error as { code?: string; message: string } }),
  );
  return { out, remembered, ...outcome };
}

describe('an encrypting sender', () => {
  it('pairs a receiver with its code, serves it, and shows the next code', async () => {
    const { log, port, code } = await startSender(await machine());
    const first = code();
    const { out, result } = await receive(port, await machine(), { code: first });
    expect(result?.saved).toHaveLength(1);
    expect(await readFile(path.join(out, 'secret-name.txt'), 'utf8')).toBe('the content');
    expect((await log.waitFor('authenticated')).method).toBe('code');
    expect(log.all('code').map((event) => event.reason)).toEqual(['first', 'used']);
    expect(code()).not.toBe(first);
  });

  it('A13: one port (§15): an HTTP request while a receiver pairs gets a bare 404, costs no pairing attempt, and the transfer goes on', async () => {
    const { log, port, code } = await startSender(await machine());
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const bob = await machine();
    const receiving = receive(port, bob, { code: code() });
    const answered = once(socket, 'data');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await within(answered, 'the 404');
    const { out, result, error } = await receiving;
    expect(error).toBeUndefined();
    expect(result?.saved).toHaveLength(1);
    expect(await readFile(path.join(out, 'secret-name.txt'), 'utf8')).toBe('the content');
    expect(Buffer.concat(chunks).toString('latin1')).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(log.all('pairing-failed')).toEqual([]);
    expect(log.all('session-failed')).toEqual([]);
    socket.destroy();
  });

  it('G1: a wrong code is refused with ERR_PAIRING_FAILED, counted, and the sender serves the next receiver', async () => {
    const { log, port, code } = await startSender(await machine());
    const wrong = code() === '00000000' ? '11111111' : '00000000';
    const failed = await receive(port, await machine(), { code: wrong });
    expect(failed.error?.code).toBe('ERR_PAIRING_FAILED');
    expect((await log.waitFor('pairing-failed')).failed).toBe(1);
    expect((await log.waitFor('session-failed')).code).toBe('ERR_PAIRING_FAILED');
    expect(log.all('hello')).toEqual([]);
    const { result } = await receive(port, await machine(), { code: code() });
    expect(result?.saved).toHaveLength(1);
  });

  it('I6: an unknown receiver without a code is refused with ERR_CODE_REQUIRED before anything is offered', async () => {
    const { log, port } = await startSender(await machine());
    const { error } = await receive(port, await machine());
    expect(error?.code).toBe('ERR_CODE_REQUIRED');
    expect(log.all('authenticated')).toEqual([]);
    expect(log.all('hello')).toEqual([]);
  });

  it('U13: remembers a receiver that paired with --remember as name@address (the kind of name it gets there), which then needs no code', async () => {
    const senderMachine = await machine();
    const receiverMachine = await machine();
    const { log, port, code } = await startSender(senderMachine, { remember: true });
    await receive(port, receiverMachine, { code: code(), remember: true });
    expect(await log.waitFor('remembered')).toMatchObject({ name: 'bob@127.0.0.1', result: 'added' });
    const again = await receive(port, receiverMachine);
    expect(again.error).toBeUndefined();
    expect(again.result?.saved).toHaveLength(1);
    expect(log.all('authenticated').map((event) => event.method)).toEqual(['code', 'trusted']);
    // What each side remembers is on disk for the next run.
    expect((await TrustStore.open(senderMachine.dir, 'receiver')).byName('bob@127.0.0.1')).toBeDefined();
    expect((await TrustStore.open(receiverMachine.dir, 'sender')).byName(`test-sender@${os.hostname()}`)).toBeDefined();
  });

  it('G12: a receiver forgotten with --forget while the sender runs needs a code on its next connection', async () => {
    const senderMachine = await machine();
    const receiverMachine = await machine();
    const { log, port, code } = await startSender(senderMachine, { remember: true });
    await receive(port, receiverMachine, { code: code(), remember: true });
    await log.waitFor('remembered');
    // Another process (ferry-send --forget bob@127.0.0.1) edits the list the running sender read.
    const removed = await (await TrustStore.open(senderMachine.dir, 'receiver')).forget('bob@127.0.0.1');
    expect(removed).toHaveLength(1);
    const again = await receive(port, receiverMachine);
    expect(again.error?.code).toBe('ERR_CODE_REQUIRED');
    expect(log.all('authenticated').map((event) => event.method)).toEqual(['code']);
  });

  it('G12: when its list of remembered receivers becomes unreadable, the sender says so once and lets nobody in by key', async () => {
    const senderMachine = await machine();
    const receiverMachine = await machine();
    const { log, port, code } = await startSender(senderMachine, { remember: true });
    await receive(port, receiverMachine, { code: code(), remember: true });
    await log.waitFor('remembered');
    await writeFile(path.join(senderMachine.dir, 'trusted-receivers.json'), '{ not json');
    for (let i = 0; i < 2; i++) {
      const again = await receive(port, receiverMachine);
      expect(again.error?.code).toBe('ERR_CODE_REQUIRED');
    }
    expect(log.all('trust-error')).toHaveLength(1);
    expect(log.all('trust-error')[0]!.message).toContain('is not valid JSON');
    expect(log.all('authenticated').map((event) => event.method)).toEqual(['code']);
  });

  it('remembers a sender whose name and host together pass the name limit, under a shortened name', async () => {
    const me = await machine();
    const long = 'ä'.repeat(60); // 120 UTF-8 bytes: within the limit alone, not with the host.
    const { port, code } = await startSender(await machine(), { name: long });
    const { remembered } = await receive(port, me, { code: code(), remember: true });
    expect(remembered).toHaveLength(1);
    expect(remembered[0]).toMatchObject({ result: 'added' });
    expect(Buffer.byteLength(remembered[0]!.name)).toBeLessThanOrEqual(LIMITS.maxNameBytes);
    expect(remembered[0]!.name.startsWith(`${long}@`)).toBe(true);
    expect((await reopen(me.dir)).senders.list()).toHaveLength(1);
  });

  it('says so when --remember cannot save the sender, and still delivers the files', async () => {
    const me = await machine();
    // Something that is not a file where the list goes: reading it fails with a clear error.
    await mkdir(path.join(me.dir, 'trusted-senders.json'));
    const { port, code } = await startSender(await machine());
    const { result, remembered } = await receive(port, me, { code: code(), remember: true });
    expect(result?.saved).toHaveLength(1);
    expect(remembered).toEqual([
      expect.objectContaining({ result: 'failed', reason: expect.stringContaining('is not a regular file') }),
    ]);
  });

  it('G: a machine remembered as a sender still needs a code to connect as a receiver', async () => {
    const alice = await machine();
    const bob = await machine();
    // Bob's receiver pairs with Alice's sender, and each remembers the other in that role.
    const first = await startSender(alice, { remember: true });
    await receive(first.port, bob, { code: first.code(), remember: true });
    await first.log.waitFor('remembered');
    expect(alice.receivers.list()).toHaveLength(1);
    // Alice's receiver trusts Bob's key as a sender, so it asks to be let in by key. Bob's sender
    // has never trusted Alice as a receiver: it wants a code.
    await alice.senders.remember({ name: 'bob', fingerprint: bob.identity.fingerprint });
    const bobAgain = await reopen(bob.dir);
    expect(bobAgain.senders.list()).toHaveLength(1);
    expect(bobAgain.receivers.list()).toEqual([]);
    const second = await startSender(bobAgain);
    const { error } = await receive(second.port, await reopen(alice.dir));
    expect(error?.code).toBe('ERR_CODE_REQUIRED');
    expect(second.log.all('authenticated')).toEqual([]);
  });

  it('E1: refuses connections beyond the per-address cap of unauthenticated ones, and still serves other addresses', async () => {
    const { log, port, code } = await startSender(await machine(), { maxPending: 8, maxPendingPerHost: 2 });
    // Ferry's first bytes, then nothing: connections waiting to authenticate.
    const connectFrom127002 = async () => (await idleClient(port, '127.0.0.2', MAGIC)).socket;
    await connectFrom127002();
    await connectFrom127002();
    await within(waitUntil(() => log.all('connected').length === 2), 'two connections');
    const third = await connectFrom127002();
    await within(once(third, 'close'), 'the third connection to be closed');
    expect((await log.waitFor('refused')).reason).toContain('from one address');
    // 127.0.0.1 is another address: its receiver is served while the two idle ones wait.
    const { result } = await receive(port, await machine(), { code: code() });
    expect(result?.saved).toHaveLength(1);
  });

  it('E1: refuses connections beyond the global cap of unauthenticated ones', async () => {
    const { log, port, code } = await startSender(await machine(), { maxPending: 2, maxPendingPerHost: 8 });
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      onCleanup('idle client', () => socket.destroy());
      sockets.push(socket);
    }
    await within(once(sockets[2]!, 'close'), 'the third connection to be closed');
    expect((await log.waitFor('refused')).reason).toContain('too many connections waiting to authenticate');
    // A real receiver turned away now is told the sender may be busy, not only that it is not Ferry.
    const { error } = await receive(port, await machine(), { code: code() });
    // EOF or a reset, depending on when the close reaches it.
    expect(['ERR_TRUNCATED', 'ERR_CONNECTION_CLOSED']).toContain(error?.code);
    expect(error?.message).toContain('busy with other connections');
  });

  it('E2: with every slot taken, a receiver at a new address takes the place of the oldest connection of the busiest address', async () => {
    const { log, port, code } = await startSender(await machine(), { maxPending: 4, maxPendingPerHost: 4 });
    // Ferry's first bytes, then nothing: connections waiting to authenticate.
    const idle = async (localAddress: string) => (await idleClient(port, localAddress, MAGIC)).socket;
    const flood = [await idle('127.0.0.2'), await idle('127.0.0.2'), await idle('127.0.0.3'), await idle('127.0.0.3')];
    await within(waitUntil(() => log.all('connected').length === 4), 'four connections');
    // 127.0.0.3 already holds as many as the busiest address: no room is made for a third.
    const fifth = await idle('127.0.0.3');
    await within(once(fifth, 'close'), 'the connection from 127.0.0.3 to be refused');
    expect(log.all('refused').at(-1)?.reason).toBe('too many connections waiting to authenticate');
    // The real receiver at 127.0.0.1 holds none: the oldest of 127.0.0.2 makes way for it.
    const { result } = await receive(port, await machine(), { code: code() });
    expect(result?.saved).toHaveLength(1);
    expect(flood[0]!.destroyed || flood[0]!.readableEnded).toBe(true);
    expect(log.all('refused').at(-1)).toMatchObject({ reason: expect.stringContaining('dropped to make room') });
    expect(log.all('refused').at(-1)?.peer).toContain('127.0.0.2');
    // Reported once, as refused: not as a failed session as well.
    const dropped = log.all('refused').at(-1)!.peer;
    expect(log.all('session-failed').filter((event) => event.peer === dropped)).toEqual([]);
  });

  it('E1: an unauthenticated connection is dropped at the handshake deadline', async () => {
    const { log, port } = await startSender(await machine(), { handshakeMs: 300 });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    onCleanup('silent client', () => socket.destroy());
    await within(once(socket, 'close'), 'the sender to drop a silent client');
    expect((await log.waitFor('session-failed')).code).toBe('ERR_TIMEOUT');
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
