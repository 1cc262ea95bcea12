/**
 * SPAKE2 as RFC 9382 specifies it, for the ciphersuite SPAKE2-P256-SHA256-HKDF-HMAC: P-256,
 * SHA-256, HKDF-SHA256 and HMAC-SHA256. Two sides that share a pairing code prove to each
 * other that they know it, and derive a key, without the exchange revealing the code to an
 * eavesdropper or allowing more than one guess per exchange to an active attacker.
 *
 * Shares and K travel and enter the transcript as SEC1 uncompressed points (65 bytes), w as a
 * 32-byte big-endian integer, exactly as in the RFC's test vectors (Appendix B).
 */
import {
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';

/** Which side of the exchange we are: A sends the first share, B answers. */
export type Spake2Role = 'A' | 'B';

/** What both sides must agree on besides the password; any difference fails confirmation. */
export interface Spake2Context {
  /** Identity of A; may be empty (it is then in the transcript with length 0). */
  readonly idA: Uint8Array;
  /** Identity of B; may be empty. */
  readonly idB: Uint8Array;
  /**
   * Additional authenticated data, bound into the confirmation keys only (not into Ke), so two
   * sides with different AAD share Ke but never confirm. At most {@link MAX_AAD_BYTES} bytes.
   */
  readonly aad: Uint8Array;
}

/**
 * Why a share could not be used: `encoding` (not a valid P-256 point; says nothing about the
 * password), `identity` (the share unblinds to the identity, which happens only for a share
 * made from this very password: PROTOCOL.md §2.3), or `finished` (a second finish()).
 */
export type Spake2Failure = 'encoding' | 'identity' | 'finished';

/** A peer's share that cannot be used, or a second finish(); the message never holds secrets. */
export class Spake2Error extends Error {
  override name = 'Spake2Error';
  readonly reason: Spake2Failure;

  constructor(reason: Spake2Failure, message: string) {
    super(message);
    this.reason = reason;
  }
}

type Point = typeof p256.Point.BASE;

const Point = p256.Point;
/** The order n of the P-256 group; scalars live in [0, n). */
const ORDER = Point.Fn.ORDER;
const SCALAR_BYTES = 32;
const POINT_BYTES = 65;
/** Half of SHA-256's output: Ke and Ka are 16 bytes each (RFC 9382 §4). */
const HALF_HASH_BYTES = 16;
/** KcA || KcB: two HMAC-SHA256 keys of half the KDF's output each (RFC 9382 §4). */
const CONFIRMATION_KEYS_BYTES = 32;
const CONFIRMATION_KEYS_LABEL = Buffer.from('ConfirmationKeys', 'ascii');
/** node's HKDF accepts at most 1024 bytes of info, which is "ConfirmationKeys" || AAD. */
export const MAX_AAD_BYTES = 1024 - CONFIRMATION_KEYS_LABEL.byteLength;

/** M and N for P-256 (RFC 9382 §6), compressed SEC1; nobody knows their discrete logarithms. */
const M = Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f');
/**
 * The generator P, as a point of its own: noble gives `Point.BASE` a table of 128 precomputed
 * multiples per 8 bits of scalar, built on its first use. A pairing multiplies by P once, so
 * building the table cost 36 ms and grew the heap by about 5 MB of short-lived numbers, where a
 * multiplication without it takes about 4 ms. Both are constant-time.
 */
const P = Point.fromAffine(Point.BASE.toAffine());
const N = Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49');

/**
 * The MHF output must exceed the 32-byte group order by a security margin so that reducing it
 * mod n is practically unbiased (RFC 9382 §3.1 cites NIST SP 800-56Ar3: 64 bits more; we ask
 * for 128).
 */
const MIN_MHF_BYTES = 48;

/** Salt and cost of the pairing code's memory-hard function; changing any breaks pairing. */
const SCRYPT_SALT = Buffer.from('ferry/spake2-p256-sha256/v1', 'utf8');
const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const SCRYPT_BYTES = 64;

/** w = OS2IP(mhfOutput) mod n; requires at least 48 bytes (RFC: output should exceed the group order size by a security margin). */
export function scalarFromPassword(mhfOutput: Uint8Array): bigint {
  if (mhfOutput.byteLength < MIN_MHF_BYTES) {
    throw new RangeError(`the password hash must be at least ${MIN_MHF_BYTES} bytes`);
  }
  return bytesToBigInt(mhfOutput) % ORDER;
}

/**
 * Derives w from an already-normalised pairing code: scrypt(code as UTF-8, salt =
 * "ferry/spake2-p256-sha256/v1", N=2^15, r=8, p=1, 64 bytes), then scalarFromPassword. Slow on
 * purpose: every offline guess at a recorded exchange costs as much.
 */
export function derivePasswordScalar(code: string): Promise<bigint> {
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(code, 'utf8'), SCRYPT_SALT, SCRYPT_BYTES, SCRYPT_PARAMS, (error, hash) => {
      if (error) {
        reject(error);
        return;
      }
      try {
        resolve(scalarFromPassword(hash));
      } catch (failure) {
        reject(failure);
      } finally {
        hash.fill(0);
      }
    });
  });
}

/** The outcome of an exchange. Neither side may use `ke` before `verify` accepted the peer. */
export interface Spake2Keys {
  /** Shared secret for the application (16 bytes for this suite). */
  readonly ke: Uint8Array;
  /** MAC this side sends (cA for role A, cB for role B). */
  readonly confirmation: Uint8Array;
  /** Constant-time check of the peer's confirmation MAC; false on any length or value mismatch. */
  verify(peerConfirmation: Uint8Array): boolean;
}

/** Every intermediate value of RFC 9382's key schedule, named as in its Appendix B. */
export interface Spake2Trace {
  readonly K: Uint8Array;
  readonly TT: Uint8Array;
  readonly Ke: Uint8Array;
  readonly Ka: Uint8Array;
  readonly KcA: Uint8Array;
  readonly KcB: Uint8Array;
  readonly cA: Uint8Array;
  readonly cB: Uint8Array;
}

/** Set in Spake2's static block: the one way to reach its private state from outside. */
let traceOf: (spake: Spake2, peerMessage: Uint8Array) => { role: Spake2Role; trace: Spake2Trace };

/** One side of one exchange. Single use: a second finish() throws, whatever the first did. */
export class Spake2 {
  /** Our share (pA or pB), SEC1 uncompressed, 65 bytes. */
  readonly message: Uint8Array;
  readonly #role: Spake2Role;
  readonly #context: Spake2Context;
  #w: bigint;
  /** x for A, y for B. */
  #secret: bigint;
  #finished = false;

  private constructor(role: Spake2Role, w: bigint, secret: bigint, context: Spake2Context) {
    this.#role = role;
    this.#w = w;
    this.#secret = secret;
    this.#context = context;
    // pA = x*P + w*M, pB = y*P + w*N (RFC 9382 §3.3).
    const blind = multiply(role === 'A' ? M : N, w);
    this.message = P.multiply(secret).add(blind).toBytes(false);
  }

  /** Starts an exchange; `randomScalar` is only for test vectors (default: uniformly random in [1, n)). */
  static start(role: Spake2Role, w: bigint, context: Spake2Context, randomScalar?: bigint): Spake2 {
    if (role !== 'A' && role !== 'B') throw new RangeError('the SPAKE2 role must be A or B');
    if (typeof w !== 'bigint' || w < 0n || w >= ORDER) {
      throw new RangeError('the SPAKE2 password scalar must be in [0, n)');
    }
    // 0 is in the RFC's range but would send w*M (or w*N) in the clear, open to offline guessing.
    if (
      randomScalar !== undefined &&
      (typeof randomScalar !== 'bigint' || randomScalar < 1n || randomScalar >= ORDER)
    ) {
      throw new RangeError('the SPAKE2 random scalar must be in [1, n)');
    }
    if (context.aad.byteLength > MAX_AAD_BYTES) {
      throw new RangeError(`the SPAKE2 AAD must be at most ${MAX_AAD_BYTES} bytes`);
    }
    // Copies: the caller changing its buffers later must not change our transcript.
    const copy = {
      idA: Uint8Array.from(context.idA),
      idB: Uint8Array.from(context.idB),
      aad: Uint8Array.from(context.aad),
    };
    return new Spake2(role, w, randomScalar ?? randomScalarBelowOrder(), copy);
  }

  /** Computes the keys from the peer's share; throws Spake2Error if the share is not a valid P-256 point, is the identity, or finish() was already called. */
  finish(peerMessage: Uint8Array): Spake2Keys {
    const trace = this.#run(peerMessage);
    const ours = this.#role === 'A' ? trace.cA : trace.cB;
    const theirs = this.#role === 'A' ? trace.cB : trace.cA;
    const keys = new ConfirmedKeys(trace.Ke, ours, theirs);
    // Nothing else needs them; TT holds w and K.
    for (const secret of [trace.K, trace.TT, trace.Ka, trace.KcA, trace.KcB]) secret.fill(0);
    return keys;
  }

  static {
    traceOf = (spake, peerMessage) => ({ role: spake.#role, trace: spake.#run(peerMessage) });
  }

  #run(peerMessage: Uint8Array): Spake2Trace {
    if (this.#finished)
      throw new Spake2Error('finished', 'this SPAKE2 exchange is already finished');
    // Consumed even if the share is bad: one exchange, one chance.
    this.#finished = true;
    const w = this.#w;
    const secret = this.#secret;
    this.#w = 0n;
    this.#secret = 0n;
    const peer = decodeShare(peerMessage);
    // A: K = x*(pB - w*N); B: K = y*(pA - w*M). The cofactor h of P-256 is 1 (RFC 9382 §3.3).
    const unblinded = peer.subtract(multiply(this.#role === 'A' ? N : M, w));
    if (unblinded.is0())
      throw new Spake2Error('identity', 'the peer share yields the identity element');
    const K = unblinded.multiply(secret).toBytes(false);
    const pA = this.#role === 'A' ? this.message : Uint8Array.from(peerMessage);
    const pB = this.#role === 'A' ? Uint8Array.from(peerMessage) : this.message;
    // TT = len(A) || A || len(B) || B || len(pA) || pA || len(pB) || pB || len(K) || K || len(w) || w
    const TT = transcript([
      this.#context.idA,
      this.#context.idB,
      pA,
      pB,
      K,
      bigIntToBytes(w, SCALAR_BYTES),
    ]);
    // Ke || Ka = Hash(TT)
    const hash = createHash('sha256').update(TT).digest();
    const Ke = Uint8Array.from(hash.subarray(0, HALF_HASH_BYTES));
    const Ka = Uint8Array.from(hash.subarray(HALF_HASH_BYTES));
    hash.fill(0);
    // KcA || KcB = KDF(Ka, nil, "ConfirmationKeys" || AAD, L = 32): HKDF-SHA256 with Ka as the
    // input keying material and an empty salt, as the RFC's vectors were made (salt = Ka and no
    // input keying material does not reproduce them).
    const info = Buffer.concat([CONFIRMATION_KEYS_LABEL, this.#context.aad]);
    const confirmationKeys = new Uint8Array(
      hkdfSync('sha256', Ka, new Uint8Array(0), info, CONFIRMATION_KEYS_BYTES),
    );
    const KcA = confirmationKeys.slice(0, CONFIRMATION_KEYS_BYTES / 2);
    const KcB = confirmationKeys.slice(CONFIRMATION_KEYS_BYTES / 2);
    confirmationKeys.fill(0);
    // cA = MAC(KcA, TT), cB = MAC(KcB, TT)
    const cA = new Uint8Array(createHmac('sha256', KcA).update(TT).digest());
    const cB = new Uint8Array(createHmac('sha256', KcB).update(TT).digest());
    return { K, TT, Ke, Ka, KcA, KcB, cA, cB };
  }
}

/**
 * Internals exported only so the tests can check every intermediate value of the RFC vectors:
 * finishes `spake` like finish() does (same checks, same single use) and also returns the
 * trace. Never use this outside tests: the trace holds w and K.
 */
export function spake2Debug(
  spake: Spake2,
  peerMessage: Uint8Array,
): { keys: Spake2Keys; trace: Spake2Trace } {
  const { role, trace } = traceOf(spake, peerMessage);
  const ours = role === 'A' ? trace.cA : trace.cB;
  const theirs = role === 'A' ? trace.cB : trace.cA;
  const keys = new ConfirmedKeys(
    Uint8Array.from(trace.Ke),
    Uint8Array.from(ours),
    Uint8Array.from(theirs),
  );
  return { keys, trace };
}

class ConfirmedKeys implements Spake2Keys {
  readonly ke: Uint8Array;
  readonly confirmation: Uint8Array;
  readonly #expected: Uint8Array;

  constructor(ke: Uint8Array, confirmation: Uint8Array, expected: Uint8Array) {
    this.ke = ke;
    this.confirmation = confirmation;
    this.#expected = expected;
  }

  verify(peerConfirmation: Uint8Array): boolean {
    if (!(peerConfirmation instanceof Uint8Array)) return false;
    // The length is public (always 32 for this suite); only the value needs constant time.
    if (peerConfirmation.byteLength !== this.#expected.byteLength) return false;
    return timingSafeEqual(peerConfirmation, this.#expected);
  }
}

/**
 * The peer's share as a point: exactly 65 bytes of SEC1 uncompressed encoding, on the curve.
 * The identity has no such encoding, so it cannot get through; P-256's cofactor is 1, so every
 * point on the curve is in the prime-order group (RFC 9382 §3.3 asks for h*p != I).
 */
function decodeShare(bytes: Uint8Array): Point {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== POINT_BYTES) {
    throw new Spake2Error('encoding', `the peer share must be ${POINT_BYTES} bytes`);
  }
  if (bytes[0] !== 0x04)
    throw new Spake2Error('encoding', 'the peer share is not an uncompressed point');
  let point: Point;
  try {
    point = Point.fromBytes(bytes);
    point.assertValidity();
  } catch {
    throw new Spake2Error('encoding', 'the peer share is not a point on P-256');
  }
  if (point.is0()) throw new Spake2Error('encoding', 'the peer share is the identity element');
  return point;
}

/** s*P in constant time; noble refuses 0, which here (w = 0) legitimately gives the identity. */
function multiply(point: Point, scalar: bigint): Point {
  return scalar === 0n ? Point.ZERO : point.multiply(scalar);
}

/** Uniform in [1, n) by rejection: a 32-byte draw falls outside with probability about 2^-32. */
function randomScalarBelowOrder(): bigint {
  for (;;) {
    const draw = randomBytes(SCALAR_BYTES);
    const value = bytesToBigInt(draw);
    draw.fill(0);
    if (value >= 1n && value < ORDER) return value;
  }
}

/** Each part preceded by len(part), its length as an 8-byte little-endian number (RFC 9382 §3.1). */
function transcript(parts: readonly Uint8Array[]): Uint8Array {
  const size = parts.reduce((total, part) => total + 8 + part.byteLength, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setBigUint64(offset, BigInt(part.byteLength), true);
    offset += 8;
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** OS2IP: the bytes as a big-endian unsigned integer. */
function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** I2OSP: `value` as exactly `length` big-endian bytes. */
function bigIntToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}
