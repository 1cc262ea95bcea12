/**
 * The key a sender found on the network announced (PROTOCOL.md §14.4): checked right after
 * the TLS handshake, before any AUTH, so an impostor gets no code, proof or ticket (M1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, type FerryError } from '../src/errors.ts';
import { fingerprintHex } from '../src/node/identity.ts';
import { derivePasswordScalar } from '../src/node/spake2.ts';
import { client, codes, errorOf, machine, runCleanups, server, serverSide } from './secure-kit.ts';

afterEach(runCleanups);

const hintOf = (fingerprint: Uint8Array) => fingerprintHex(fingerprint).slice(0, 16);

describe('the announced key (§14.4)', () => {
  it('M1: a sender whose key does not start with the announced fp is refused before any AUTH, with the impostor line', async () => {
    const impostor = await machine('receiver');
    const real = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current, events } = codes();
    const listening = await server(serverSide(impostor.identity, { pairing }));
    const error = await client(listening.port, {
      identity: receiver.identity,
      trust: receiver.trust,
      password: await derivePasswordScalar(current()),
      announcedKey: {
        hint: hintOf(real.identity.fingerprint),
        sender: '"alice" at 127.0.0.1:7878',
      },
    }).catch((e: unknown) => e);
    expect((error as FerryError).code).toBe(ErrorCode.KEY_MISMATCH);
    expect((error as Error).message).toMatch(
      /^"alice" at 127\.0\.0\.1:7878 shows key [0-9A-F]{4}( [0-9A-F]{4}){3} but announced [0-9A-F]{4}( [0-9A-F]{4}){3}: it may be an impostor\. Nothing was sent\. Check the address and key ferry-send shows, and type the address\.$/,
    );
    // The impostor got ERROR ERR_KEY_MISMATCH as its first frame: no AUTH, so no pairing attempt.
    const theirs = errorOf(await listening.result());
    expect(theirs.code).toBe(ErrorCode.KEY_MISMATCH);
    // It learns nothing of whom the receiver expected.
    expect(theirs.message).not.toContain('alice');
    expect(events.filter((event) => event.event === 'attempt-failed')).toEqual([]);
  });

  it('M1: a remembered sender is never recognised by its hint: an impostor announcing its fp is refused', async () => {
    const impostor = await machine('receiver');
    const real = await machine('receiver');
    const receiver = await machine('sender');
    await receiver.trust.remember({
      name: 'alice@laptop',
      fingerprint: real.identity.fingerprint,
      address: '10.0.0.5',
    });
    await impostor.trust.remember({ name: 'carol', fingerprint: receiver.identity.fingerprint });
    const listening = await server(serverSide(impostor.identity, { trust: impostor.trust }));
    const error = await client(listening.port, {
      identity: receiver.identity,
      trust: receiver.trust,
      announcedKey: {
        hint: hintOf(real.identity.fingerprint),
        sender: '"alice" at 127.0.0.1:7878',
      },
    }).catch((e: unknown) => e);
    expect((error as FerryError).code).toBe(ErrorCode.KEY_MISMATCH);
    expect(errorOf(await listening.result()).code).toBe(ErrorCode.KEY_MISMATCH);
  });

  it('a sender whose key starts with the announced fp pairs as usual', async () => {
    const sender = await machine('receiver');
    const receiver = await machine('sender');
    const { pairing, current } = codes();
    const listening = await server(serverSide(sender.identity, { pairing }));
    const outcome = await client(listening.port, {
      identity: receiver.identity,
      password: await derivePasswordScalar(current()),
      announcedKey: {
        hint: hintOf(sender.identity.fingerprint),
        sender: '"alice" at 127.0.0.1:7878',
      },
    });
    expect(outcome.kind === 'secured' && outcome.secured.peer?.method).toBe('code');
  });
});
