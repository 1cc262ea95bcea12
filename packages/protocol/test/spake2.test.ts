import { scryptSync } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import {
  derivePasswordScalar,
  MAX_AAD_BYTES,
  scalarFromPassword,
  Spake2,
  type Spake2Context,
  Spake2Error,
  type Spake2Role,
  spake2Debug,
} from '../src/node/spake2.ts';
import { concat, thrown, toHex, utf8Bytes } from './helpers.ts';

const ORDER = p256.Point.Fn.ORDER;
const NO_AAD = new Uint8Array(0);

/** Hex as the RFC prints it (wrapped, with spaces) to bytes; refuses anything but hex digits. */
function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/.test(digits)) throw new Error(`not hex: ${text}`);
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

/** Normalises a wrapped hex vector for comparison with toHex(). */
function flat(text: string): string {
  return toHex(hex(text));
}

function context(idA: string, idB: string, aad: Uint8Array = NO_AAD): Spake2Context {
  return { idA: utf8Bytes(idA), idB: utf8Bytes(idB), aad };
}

interface Vector {
  readonly A: string;
  readonly B: string;
  readonly w: string;
  readonly x: string;
  readonly pA: string;
  readonly y: string;
  readonly pB: string;
  readonly K: string;
  readonly TT: string;
  readonly Ke: string;
  readonly Ka: string;
  readonly KcA: string;
  readonly KcB: string;
  readonly cA: string;
  readonly cB: string;
}

/*
 * The four test vectors of RFC 9382 ("SPAKE2, a Password-Authenticated Key Exchange"),
 * Appendix B "SPAKE2 Test Vectors", ciphersuite SPAKE2-P256-SHA256-HKDF-HMAC, no AAD. The hex is
 * copied verbatim, keeping the RFC's line wrapping; "A conf" and "B conf" are cA and cB. (Copied
 * from the vector files of the draft's editor, github.com/kaduk/spake2 `testvecs`, where pA is
 * printed as S and pB as T; identical to the RFC 9382 Appendix B copies in other implementations'
 * test suites.)
 */
const VECTORS: readonly Vector[] = [
  {
    A: 'server',
    B: 'client',
    w: '2ee57912099d31560b3a44b1184b9b4866e904c49d12ac5042c97dca461b1a5f',
    x: '43dd0fd7215bdcb482879fca3220c6a968e66d70b1356cac18bb26c84a78d729',
    pA: `04a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a8798434751470
      f9010153ac33d0d5f2047ffdb1a3e42c9b4e6be662766e1eeb4116988ede5f912c`,
    y: 'dcb60106f276b02606d8ef0a328c02e4b629f84f89786af5befb0bc75b6e66be',
    pB: `0406557e482bd03097ad0cbaa5df82115460d951e3451962f1eaf4367a420676
      d09857ccbc522686c83d1852abfa8ed6e4a1155cf8f1543ceca528afb591a1e0b7`,
    K: `0412af7e89717850671913e6b469ace67bd90a4df8ce45c2af19010175e37eed
      69f75897996d539356e2fa6a406d528501f907e04d97515fbe83db277b715d3325`,
    TT: `06000000000000007365727665720600000000000000636c69656e744100000
      00000000004a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a8798434751
      470f9010153ac33d0d5f2047ffdb1a3e42c9b4e6be662766e1eeb4116988ede5f912c4
      1000000000000000406557e482bd03097ad0cbaa5df82115460d951e3451962f1eaf43
      67a420676d09857ccbc522686c83d1852abfa8ed6e4a1155cf8f1543ceca528afb591a
      1e0b741000000000000000412af7e89717850671913e6b469ace67bd90a4df8ce45c2a
      f19010175e37eed69f75897996d539356e2fa6a406d528501f907e04d97515fbe83db2
      77b715d332520000000000000002ee57912099d31560b3a44b1184b9b4866e904c49d1
      2ac5042c97dca461b1a5f`,
    Ke: '0e0672dc86f8e45565d338b0540abe69',
    Ka: '15bdf72e2b35b5c9e5663168e960a91b',
    KcA: '00c12546835755c86d8c0db7851ae86f',
    KcB: 'a9fa3406c3b781b93d804485430ca27a',
    cA: '58ad4aa88e0b60d5061eb6b5dd93e80d9c4f00d127c65b3b35b1b5281fee38f0',
    cB: 'd3e2e547f1ae04f2dbdbf0fc4b79f8ecff2dff314b5d32fe9fcef2fb26dc459b',
  },
  {
    A: '',
    B: 'client',
    w: '0548d8729f730589e579b0475a582c1608138ddf7054b73b5381c7e883e2efae',
    x: '403abbe3b1b4b9ba17e3032849759d723939a27a27b9d921c500edde18ed654b',
    pA: `04a897b769e681c62ac1c2357319a3d363f610839c4477720d24cbe32f5fd85f
      44fb92ba966578c1b712be6962498834078262caa5b441ecfa9d4a9485720e918a`,
    y: '903023b6598908936ea7c929bd761af6039577a9c3f9581064187c3049d87065',
    pB: `04e0f816fd1c35e22065d5556215c097e799390d16661c386e0ecc84593974a6
      1b881a8c82327687d0501862970c64565560cb5671f696048050ca66ca5f8cc7fc`,
    K: `048f83ec9f6e4f87cc6f9dc740bdc2769725f923364f01c84148c049a39a735e
      bda82eac03e00112fd6a5710682767cff5361f7e819e53d8d3c3a2922e0d837aa6`,
    TT: `00000000000000000600000000000000636c69656e74410000000000000004a
      897b769e681c62ac1c2357319a3d363f610839c4477720d24cbe32f5fd85f44fb92ba9
      66578c1b712be6962498834078262caa5b441ecfa9d4a9485720e918a4100000000000
      00004e0f816fd1c35e22065d5556215c097e799390d16661c386e0ecc84593974a61b8
      81a8c82327687d0501862970c64565560cb5671f696048050ca66ca5f8cc7fc4100000
      000000000048f83ec9f6e4f87cc6f9dc740bdc2769725f923364f01c84148c049a39a7
      35ebda82eac03e00112fd6a5710682767cff5361f7e819e53d8d3c3a2922e0d837aa62
      0000000000000000548d8729f730589e579b0475a582c1608138ddf7054b73b5381c7e
      883e2efae`,
    Ke: '642f05c473c2cd79909f9a841e2f30a7',
    Ka: '0bf89b18180af97353ba198789c2b963',
    KcA: 'c6be376fc7cd1301fd0a13adf3e7bffd',
    KcB: 'b7243f4ae60440a49b3f8cab3c1fba07',
    cA: '47d29e6666af1b7dd450d571233085d7a9866e4d49d2645e2df975489521232b',
    cB: '3313c5cefc361d27fb16847a91c2a73b766ffa90a4839122a9b70a2f6bd1d6df',
  },
  {
    A: 'server',
    B: '',
    w: '626e0cdc7b14c9db3e52a0b1b3a768c98e37852d5db30febe0497b14eae8c254',
    x: '07adb3db6bc623d3399726bfdbfd3d15a58ea776ab8a308b00392621291f9633',
    pA: `04f88fb71c99bfffaea370966b7eb99cd4be0ff1a7d335caac4211c4afd855e2
      e15a873b298503ad8ba1d9cbb9a392d2ba309b48bfd7879aefd0f2cea6009763b0`,
    y: 'b6a4fc8dbb629d4ba51d6f91ed1532cf87adec98f25dd153a75accafafedec16',
    pB: `040c269d6be017dccb15182ac6bfcd9e2a14de019dd587eaf4bdfd353f031101
      e7cca177f8eb362a6e83e7d5e729c0732e1b528879c086f39ba0f31a9661bd34db`,
    K: `0445ee233b8ecb51ebd6e7da3f307e88a1616bae2166121221fdc0dadb986afa
      f3ec8a988dc9c626fa3b99f58a7ca7c9b844bb3e8dd9554aafc5b53813504c1cbe`,
    TT: `06000000000000007365727665720000000000000000410000000000000004f
      88fb71c99bfffaea370966b7eb99cd4be0ff1a7d335caac4211c4afd855e2e15a873b2
      98503ad8ba1d9cbb9a392d2ba309b48bfd7879aefd0f2cea6009763b04100000000000
      000040c269d6be017dccb15182ac6bfcd9e2a14de019dd587eaf4bdfd353f031101e7c
      ca177f8eb362a6e83e7d5e729c0732e1b528879c086f39ba0f31a9661bd34db4100000
      0000000000445ee233b8ecb51ebd6e7da3f307e88a1616bae2166121221fdc0dadb986
      afaf3ec8a988dc9c626fa3b99f58a7ca7c9b844bb3e8dd9554aafc5b53813504c1cbe2
      000000000000000626e0cdc7b14c9db3e52a0b1b3a768c98e37852d5db30febe0497b1
      4eae8c254`,
    Ke: '005184ff460da2ce59062c87733c299c',
    Ka: '3521297d736598fc0a1127600efa1afb',
    KcA: 'f3da53604f0aeecea5a33be7bddf6edf',
    KcB: '9e3f86848736f159bd92b6e107ec6799',
    cA: 'bc9f9bbe99f26d0b2260e6456e05a86196a3307ec6663a18bf6ac825736533b2',
    cB: 'c2370e1bf813b086dff0d834e74425a06e6390f48f5411900276dcccc5a297ec',
  },
  {
    A: '',
    B: '',
    w: '7bf46c454b4c1b25799527d896508afd5fc62ef4ec59db1efb49113063d70cca',
    x: '8cef65df64bb2d0f83540c53632de911b5b24b3eab6cc74a97609fd659e95473',
    pA: `04a65b367a3f613cf9f0654b1b28a1e3a8a40387956c8ba6063e8658563890f4
      6ca1ef6a676598889fc28de2950ab8120b79a5ef1ea4c9f44bc98f585634b46d66`,
    y: 'd7a66f64074a84652d8d623a92e20c9675c61cb5b4f6a0063e4648a2fdc02d53',
    pB: `04589f13218822710d98d8b2123a079041052d9941b9cf88c6617ddb2fcc0494
      662eea8ba6b64692dc318250030c6af045cb738bc81ba35b043c3dcb46adf6f58d`,
    K: `041a3c03d51b452537ca2a1fea6110353c6d5ed483c4f0f86f4492ca3f378d40
      a994b4477f93c64d928edbbcd3e85a7c709b7ea73ee97986ce3d1438e135543772`,
    TT: `00000000000000000000000000000000410000000000000004a65b367a3f613
      cf9f0654b1b28a1e3a8a40387956c8ba6063e8658563890f46ca1ef6a676598889fc28
      de2950ab8120b79a5ef1ea4c9f44bc98f585634b46d66410000000000000004589f132
      18822710d98d8b2123a079041052d9941b9cf88c6617ddb2fcc0494662eea8ba6b6469
      2dc318250030c6af045cb738bc81ba35b043c3dcb46adf6f58d4100000000000000041
      a3c03d51b452537ca2a1fea6110353c6d5ed483c4f0f86f4492ca3f378d40a994b4477
      f93c64d928edbbcd3e85a7c709b7ea73ee97986ce3d1438e1355437722000000000000
      0007bf46c454b4c1b25799527d896508afd5fc62ef4ec59db1efb49113063d70cca`,
    Ke: 'fc6374762ba5cf11f4b2caa08b2cd1b9',
    Ka: '907ae0e26e8d6234318d91583cd74c86',
    KcA: '5dbd2f477166b7fb6d61febbd77a5563',
    KcB: '7689b4654407a5faeffdc8f18359d8a3',
    cA: 'dfb4db8d48ae5a675963ea5e6c19d98d4ea028d8e898dad96ea19a80ade95dca',
    cB: 'd0f0609d1613138d354f7e95f19fb556bf52d751947241e8c7118df5ef0ae175',
  },
];

/** A full exchange between a fresh A and a fresh B; each side gets the other's real share. */
function exchange(
  wA: bigint,
  contextA: Spake2Context,
  wB: bigint = wA,
  contextB: Spake2Context = contextA,
): { a: ReturnType<Spake2['finish']>; b: ReturnType<Spake2['finish']> } {
  const sideA = Spake2.start('A', wA, contextA);
  const sideB = Spake2.start('B', wB, contextB);
  return { a: sideA.finish(sideB.message), b: sideB.finish(sideA.message) };
}

/** Whether both confirmations go through, each checked by the other side. */
function confirmed(result: ReturnType<typeof exchange>): { byA: boolean; byB: boolean } {
  return { byA: result.a.verify(result.b.confirmation), byB: result.b.verify(result.a.confirmation) };
}

describe('SPAKE2 against the RFC 9382 Appendix B vectors', () => {
  for (const vector of VECTORS) {
    it(`reproduces every value of A='${vector.A}', B='${vector.B}' on both sides`, () => {
      const w = BigInt(`0x${vector.w}`);
      const ctx = context(vector.A, vector.B);
      const sideA = Spake2.start('A', w, ctx, BigInt(`0x${vector.x}`));
      const sideB = Spake2.start('B', w, ctx, BigInt(`0x${vector.y}`));
      expect(toHex(sideA.message)).toBe(flat(vector.pA));
      expect(toHex(sideB.message)).toBe(flat(vector.pB));

      const fromA = spake2Debug(sideA, hex(vector.pB));
      const fromB = spake2Debug(sideB, hex(vector.pA));
      for (const { trace } of [fromA, fromB]) {
        expect(toHex(trace.K)).toBe(flat(vector.K));
        expect(toHex(trace.TT)).toBe(flat(vector.TT));
        expect(toHex(trace.Ke)).toBe(vector.Ke);
        expect(toHex(trace.Ka)).toBe(vector.Ka);
        expect(toHex(trace.KcA)).toBe(vector.KcA);
        expect(toHex(trace.KcB)).toBe(vector.KcB);
        expect(toHex(trace.cA)).toBe(vector.cA);
        expect(toHex(trace.cB)).toBe(vector.cB);
      }
      expect(toHex(fromA.keys.ke)).toBe(vector.Ke);
      expect(toHex(fromB.keys.ke)).toBe(vector.Ke);
      expect(toHex(fromA.keys.confirmation)).toBe(vector.cA);
      expect(toHex(fromB.keys.confirmation)).toBe(vector.cB);
      expect(fromA.keys.verify(fromB.keys.confirmation)).toBe(true);
      expect(fromB.keys.verify(fromA.keys.confirmation)).toBe(true);
      // A side never accepts its own MAC back (a reflected confirmation).
      expect(fromA.keys.verify(fromA.keys.confirmation)).toBe(false);
      expect(fromB.keys.verify(fromB.keys.confirmation)).toBe(false);
    });

    it(`finish() gives the same keys as the trace for A='${vector.A}', B='${vector.B}'`, () => {
      const w = BigInt(`0x${vector.w}`);
      const ctx = context(vector.A, vector.B);
      const keysA = Spake2.start('A', w, ctx, BigInt(`0x${vector.x}`)).finish(hex(vector.pB));
      const keysB = Spake2.start('B', w, ctx, BigInt(`0x${vector.y}`)).finish(hex(vector.pA));
      expect(toHex(keysA.ke)).toBe(vector.Ke);
      expect(toHex(keysB.ke)).toBe(vector.Ke);
      expect(toHex(keysA.confirmation)).toBe(vector.cA);
      expect(toHex(keysB.confirmation)).toBe(vector.cB);
      expect(keysA.verify(hex(vector.cB))).toBe(true);
      expect(keysB.verify(hex(vector.cA))).toBe(true);
    });
  }

  it('takes the RFC 9382 §6 M and N for P-256 (pA and pB above depend on them)', () => {
    // With x = 1 and w = 1, pA = P + M and pB = P + N: M and N read back exactly.
    const ctx = context('', '');
    const G = p256.Point.BASE;
    const M = p256.Point.fromBytes(Spake2.start('A', 1n, ctx, 1n).message).subtract(G);
    const N = p256.Point.fromBytes(Spake2.start('B', 1n, ctx, 1n).message).subtract(G);
    expect(M.toHex(true)).toBe('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f');
    expect(N.toHex(true)).toBe('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49');
  });
});

describe('SPAKE2 exchanges with random scalars', () => {
  const aad = utf8Bytes('tls exporter of one session');

  it('agrees on Ke and confirms on both sides when the password and context match', () => {
    const w = 0x1234567890abcdefn;
    const result = exchange(w, context('receiver', 'sender', aad));
    expect(result.a.ke).toHaveLength(16);
    expect(result.a.confirmation).toHaveLength(32);
    expect(toHex(result.a.ke)).toBe(toHex(result.b.ke));
    expect(confirmed(result)).toEqual({ byA: true, byB: true });
  });

  it('works with empty identities and an empty AAD, and with w = 0', () => {
    expect(confirmed(exchange(42n, context('', '')))).toEqual({ byA: true, byB: true });
    expect(confirmed(exchange(0n, context('a', 'b')))).toEqual({ byA: true, byB: true });
  });

  it('fails on both sides, with different keys, when the codes differ', () => {
    const ctx = context('receiver', 'sender', aad);
    const result = exchange(1000n, ctx, 1001n);
    expect(toHex(result.a.ke)).not.toBe(toHex(result.b.ke));
    expect(confirmed(result)).toEqual({ byA: false, byB: false });
  });

  it('fails when the AAD differs, as with a man in the middle terminating two TLS sessions', () => {
    const w = 777n;
    const result = exchange(w, context('receiver', 'sender', utf8Bytes('session 1')), w, context('receiver', 'sender', utf8Bytes('session 2')));
    expect(confirmed(result)).toEqual({ byA: false, byB: false });
    // AAD only enters the confirmation keys, so Ke alone does not show it: use Ke only after verify().
    expect(toHex(result.a.ke)).toBe(toHex(result.b.ke));
  });

  it('fails when either identity differs', () => {
    const w = 31337n;
    const wrongA = exchange(w, context('receiver', 'sender', aad), w, context('mallory', 'sender', aad));
    expect(confirmed(wrongA)).toEqual({ byA: false, byB: false });
    expect(toHex(wrongA.a.ke)).not.toBe(toHex(wrongA.b.ke));
    const wrongB = exchange(w, context('receiver', 'sender', aad), w, context('receiver', 'mallory', aad));
    expect(confirmed(wrongB)).toEqual({ byA: false, byB: false });
    // Identities are length-prefixed: moving a byte from one to the other is a different transcript.
    const shifted = exchange(w, context('ab', 'c'), w, context('a', 'bc'));
    expect(confirmed(shifted)).toEqual({ byA: false, byB: false });
  });

  it('fails when both sides claim the same role', () => {
    const ctx = context('receiver', 'sender');
    const one = Spake2.start('A', 5n, ctx);
    const two = Spake2.start('A', 5n, ctx);
    const keysOne = one.finish(two.message);
    const keysTwo = two.finish(one.message);
    expect(keysOne.verify(keysTwo.confirmation)).toBe(false);
  });

  it('draws a fresh share each time, so a replayed share is never ours again', () => {
    const ctx = context('receiver', 'sender');
    const shares = new Set<string>();
    for (let i = 0; i < 8; i++) shares.add(toHex(Spake2.start('A', 99n, ctx).message));
    for (let i = 0; i < 8; i++) shares.add(toHex(Spake2.start('B', 99n, ctx).message));
    expect(shares.size).toBe(16);
  });

  it('keys a replayed share to nothing useful: a recorded confirmation fails in a new exchange', () => {
    const ctx = context('receiver', 'sender', aad);
    const first = Spake2.start('A', 5n, ctx);
    const sender = Spake2.start('B', 5n, ctx);
    const recorded = sender.finish(first.message);
    // An attacker replays A's old share to a new B, and the old B's confirmation to a new A.
    const replayB = Spake2.start('B', 5n, ctx);
    const replayed = replayB.finish(first.message);
    expect(replayed.verify(recorded.confirmation)).toBe(false);
    const newA = Spake2.start('A', 5n, ctx).finish(sender.message);
    expect(newA.verify(recorded.confirmation)).toBe(false);
  });

  it('does not see later changes to the caller’s context buffers', () => {
    const idA = utf8Bytes('receiver');
    const sideA = Spake2.start('A', 8n, { idA, idB: utf8Bytes('sender'), aad: NO_AAD });
    const sideB = Spake2.start('B', 8n, context('receiver', 'sender'));
    idA.fill(0);
    const keysA = sideA.finish(sideB.message);
    const keysB = sideB.finish(sideA.message);
    expect(keysA.verify(keysB.confirmation)).toBe(true);
  });
});

describe('SPAKE2 peer shares and misuse', () => {
  const ctx = context('receiver', 'sender');
  const G = p256.Point.BASE;
  const valid = G.multiply(12345n).toBytes(false);
  const P = p256.Point.CURVE().p;
  const fieldBytes = (value: bigint) => hex(value.toString(16).padStart(64, '0'));

  const invalid: ReadonlyArray<readonly [string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['64 bytes', valid.subarray(1)],
    ['66 bytes', concat(valid, new Uint8Array(1))],
    ['one 0x00 byte (SEC1 identity)', new Uint8Array([0x00])],
    ['65 zero bytes', new Uint8Array(65)],
    ['0x04 then zeros (identity as affine (0, 0))', concat(new Uint8Array([0x04]), new Uint8Array(64))],
    ['a point off the curve', concat(valid.subarray(0, 64), new Uint8Array([valid[64]! ^ 1]))],
    ['coordinates not reduced mod p', concat(new Uint8Array([0x04]), fieldBytes(P), fieldBytes(G.y))],
    ['a valid point, compressed', G.multiply(12345n).toBytes(true)],
    ['compressed garbage', concat(new Uint8Array([0x02]), new Uint8Array(32).fill(0xff))],
    ['a valid point with a hybrid (0x06/0x07) prefix', concat(new Uint8Array([0x06 | Number(G.multiply(12345n).y & 1n)]), valid.subarray(1))],
    ['a valid point with prefix 0x05', concat(new Uint8Array([0x05]), valid.subarray(1))],
  ];

  for (const [name, share] of invalid) {
    it(`rejects ${name} with Spake2Error, from either role`, () => {
      for (const role of ['A', 'B'] as const) {
        const error = thrown(() => Spake2.start(role, 3n, ctx).finish(share));
        expect(error).toBeInstanceOf(Spake2Error);
      }
    });
  }

  it('rejects a share that is exactly w*N (or w*M): K would be the identity', () => {
    const w = 0xfeedn;
    const [M, N] = (['A', 'B'] as const).map((role) =>
      p256.Point.fromBytes(Spake2.start(role, 1n, context('', ''), 1n).message).subtract(G),
    );
    expect(thrown(() => Spake2.start('A', w, ctx).finish(N!.multiply(w).toBytes(false)))).toBeInstanceOf(Spake2Error);
    expect(thrown(() => Spake2.start('B', w, ctx).finish(M!.multiply(w).toBytes(false)))).toBeInstanceOf(Spake2Error);
  });

  it('never puts the password or keys in an error message', () => {
    const w = 0xabcdef0123456789abcdefn;
    const error = thrown(() => Spake2.start('A', w, ctx).finish(new Uint8Array(65))) as Error;
    expect(error.message).not.toMatch(/abcdef0123456789/i);
    expect(error.message).not.toContain(w.toString());
  });

  it('throws on a second finish(), even after a rejected share', () => {
    const sideA = Spake2.start('A', 3n, ctx);
    const sideB = Spake2.start('B', 3n, ctx);
    sideA.finish(sideB.message);
    expect(thrown(() => sideA.finish(sideB.message))).toBeInstanceOf(Spake2Error);
    const rejected = Spake2.start('A', 3n, ctx);
    expect(thrown(() => rejected.finish(new Uint8Array(1)))).toBeInstanceOf(Spake2Error);
    expect(thrown(() => rejected.finish(sideB.message))).toBeInstanceOf(Spake2Error);
    const traced = Spake2.start('A', 3n, ctx);
    spake2Debug(traced, sideB.message);
    expect(thrown(() => traced.finish(sideB.message))).toBeInstanceOf(Spake2Error);
  });

  it('verify() is false for a confirmation of the wrong length or value', () => {
    const { a, b } = exchange(4n, ctx);
    expect(a.verify(b.confirmation)).toBe(true);
    expect(a.verify(b.confirmation.subarray(0, 31))).toBe(false);
    expect(a.verify(concat(b.confirmation, new Uint8Array(1)))).toBe(false);
    expect(a.verify(new Uint8Array(0))).toBe(false);
    const flipped = Uint8Array.from(b.confirmation);
    flipped[31]! ^= 0x80;
    expect(a.verify(flipped)).toBe(false);
  });

  it('refuses scalars outside their ranges, a bad role and an oversized AAD', () => {
    for (const w of [-1n, ORDER, ORDER + 1n]) expect(thrown(() => Spake2.start('A', w, ctx))).toBeInstanceOf(RangeError);
    for (const x of [0n, -1n, ORDER]) expect(thrown(() => Spake2.start('A', 1n, ctx, x))).toBeInstanceOf(RangeError);
    expect(thrown(() => Spake2.start('C' as Spake2Role, 1n, ctx))).toBeInstanceOf(RangeError);
    const big = { ...ctx, aad: new Uint8Array(MAX_AAD_BYTES + 1) };
    expect(thrown(() => Spake2.start('A', 1n, big))).toBeInstanceOf(RangeError);
    const largest = { ...ctx, aad: new Uint8Array(MAX_AAD_BYTES) };
    expect(confirmed(exchange(1n, largest))).toEqual({ byA: true, byB: true });
  });
});

describe('SPAKE2 password scalars', () => {
  it('scalarFromPassword refuses fewer than 48 bytes', () => {
    expect(thrown(() => scalarFromPassword(new Uint8Array(47)))).toBeInstanceOf(RangeError);
    expect(thrown(() => scalarFromPassword(new Uint8Array(0)))).toBeInstanceOf(RangeError);
    expect(scalarFromPassword(new Uint8Array(48))).toBe(0n);
  });

  it('scalarFromPassword is the big-endian integer mod n', () => {
    expect(scalarFromPassword(new Uint8Array(64).fill(0xff))).toBe((2n ** 512n - 1n) % ORDER);
    const n = hex(ORDER.toString(16).padStart(96, '0'));
    expect(scalarFromPassword(n)).toBe(0n);
    const nPlusFive = hex((ORDER + 5n).toString(16).padStart(96, '0'));
    expect(scalarFromPassword(nPlusFive)).toBe(5n);
    const last = new Uint8Array(48);
    last[47] = 7;
    expect(scalarFromPassword(last)).toBe(7n);
  });

  it('derivePasswordScalar is scrypt(code, "ferry/spake2-p256-sha256/v1", N=2^15, r=8, p=1, 64) mod n', async () => {
    const code = '4-olive-tiger-amber';
    const expected = scryptSync(code, 'ferry/spake2-p256-sha256/v1', 64, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    expect(await derivePasswordScalar(code)).toBe(scalarFromPassword(expected));
  });

  it('derivePasswordScalar is deterministic, in [0, n), and differs between codes', async () => {
    const [one, again, other] = await Promise.all([
      derivePasswordScalar('7-maple-river-stone'),
      derivePasswordScalar('7-maple-river-stone'),
      derivePasswordScalar('7-maple-river-stona'),
    ]);
    expect(again).toBe(one);
    expect(other).not.toBe(one);
    for (const w of [one, other]) {
      expect(w >= 0n && w < ORDER).toBe(true);
    }
    // Two sides that typed the same code pair.
    expect(confirmed(exchange(one, context('r', 's'), again))).toEqual({ byA: true, byB: true });
  });
});
