/**
 * PROTOCOL.md §10.2's pairing vector: one SPAKE2 exchange (§2.3) from a typed code to the
 * confirmations, with fixed scalars, fingerprints and exporter value. The password hash is
 * computed here from the parameters §2.3 states (scryptSync), independently of the code under
 * test; everything after it runs through the real Spake2. `print.ts` writes it into the
 * document; `vectors.test.ts` checks the document and derivePasswordScalar against it.
 */
import { createHash, scryptSync } from 'node:crypto';
import { normalizeCode } from '../../src/pairing/code.ts';
import { scalarFromPassword, Spake2, spake2Debug } from '../../src/node/spake2.ts';
import { hexDump } from './hex-dump.ts';

/** What the receiver's user types: the code as the sender shows it. */
export const PAIRING_CODE_TYPED = '1234-5678';

const ascii = new TextEncoder();

/** A fixed 32-byte value for an input: SHA-256 of a label, so anyone can recompute it. */
function fixed(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label, 'utf8').digest());
}

function bigIntOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function scalarHex(value: bigint): string {
  return value.toString(16).padStart(64, '0');
}

/** Every value of the vector, in the order §10.2 lists them (all hex but the first two). */
export interface PairingVector {
  readonly typed: string;
  readonly password: string;
  readonly values: readonly (readonly [name: string, hex: string, note: string])[];
  /** By name, for the tests and the AUTH frame vectors. */
  readonly get: (name: string) => string;
}

function build(): PairingVector {
  const password = normalizeCode(PAIRING_CODE_TYPED);
  if (password === undefined) throw new Error('the vector code does not normalise');
  const passwordBytes = ascii.encode(password);
  const mhf = new Uint8Array(
    scryptSync(passwordBytes, ascii.encode('ferry/spake2-p256-sha256/v1'), 64, {
      N: 2 ** 15,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    }),
  );
  const w = scalarFromPassword(mhf);
  // Scalars below n (they are SHA-256 values far below P-256's order with these labels).
  const x = bigIntOf(fixed('ferry pairing vector: x'));
  const y = bigIntOf(fixed('ferry pairing vector: y'));
  const idA = fixed('ferry pairing vector: receiver key');
  const idB = fixed('ferry pairing vector: sender key');
  const aad = fixed('ferry pairing vector: TLS exporter');
  const context = { idA, idB, aad };
  const receiver = Spake2.start('A', w, context, x);
  const sender = Spake2.start('B', w, context, y);
  const fromA = spake2Debug(receiver, sender.message);
  const fromB = spake2Debug(sender, receiver.message);
  if (Buffer.compare(fromA.trace.TT, fromB.trace.TT) !== 0)
    throw new Error('the two sides of the vector disagree');
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  const { trace } = fromA;
  const values: [string, string, string][] = [
    ['password', hex(passwordBytes), 'the 8 digits as ASCII: the hyphen is not part of it'],
    ['scrypt', hex(mhf), 'scrypt(password, "ferry/spake2-p256-sha256/v1", N = 2^15, r = 8, p = 1)'],
    ['w', scalarHex(w), 'the 64 bytes as a big-endian integer, mod n; 32 bytes big-endian'],
    ['x', scalarHex(x), "the receiver's random scalar (fixed here)"],
    ['y', scalarHex(y), "the sender's random scalar (fixed here)"],
    ['idA', hex(idA), "the receiver's key fingerprint (fixed here)"],
    ['idB', hex(idB), "the sender's key fingerprint (fixed here)"],
    ['AAD', hex(aad), 'the TLS exporter value (fixed here)'],
    ['pA', hex(receiver.message), 'x·P + w·M, SEC1 uncompressed: AUTH `share`'],
    ['pB', hex(sender.message), 'y·P + w·N, SEC1 uncompressed: AUTH_REPLY `share`'],
    ['K', hex(trace.K), 'x·(pB − w·N) = y·(pA − w·M), SEC1 uncompressed'],
    ['TT', hex(trace.TT), 'the transcript of §2.3'],
    ['Ke', hex(trace.Ke), 'SHA-256(TT), first 16 bytes (not used by version 1)'],
    ['Ka', hex(trace.Ka), 'SHA-256(TT), last 16 bytes'],
    [
      'KcA',
      hex(trace.KcA),
      'HKDF-SHA256(salt empty, IKM Ka, info "ConfirmationKeys" ‖ AAD, 32), first 16',
    ],
    ['KcB', hex(trace.KcB), 'the same HKDF output, last 16 bytes'],
    ['cA', hex(trace.cA), 'HMAC-SHA256(KcA, TT): AUTH_CONFIRM `confirmation`'],
    ['cB', hex(trace.cB), 'HMAC-SHA256(KcB, TT): AUTH_REPLY `confirmation`'],
  ];
  if (
    hex(fromB.keys.confirmation) !== hex(trace.cB) ||
    !fromB.keys.verify(trace.cA) ||
    !fromA.keys.verify(trace.cB)
  ) {
    throw new Error('the vector does not confirm on both sides');
  }
  const byName = new Map(values.map(([name, value]) => [name, value]));
  return {
    typed: PAIRING_CODE_TYPED,
    password,
    values,
    get: (name) => {
      const value = byName.get(name);
      if (value === undefined) throw new Error(`no value ${name} in the pairing vector`);
      return value;
    },
  };
}

/** The vector, computed once (scrypt takes a moment). */
export const PAIRING_VECTOR: PairingVector = build();

/** The Markdown of §10.2's vector, between the markers `vectors.test.ts` looks for. */
export function pairingMarkdown(vector: PairingVector = PAIRING_VECTOR): string {
  const lines = [
    `Typed code: \`${vector.typed}\`. Receiver = A, sender = B.`,
    '',
    ...vector.values.flatMap(([name, value, note]) => [
      `**${name}** (${value.length / 2} bytes): ${note}.`,
      '',
      '```text',
      hexDump(new Uint8Array(Buffer.from(value, 'hex'))),
      '```',
      '',
    ]),
  ];
  return lines.join('\n');
}
