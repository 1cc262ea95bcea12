/**
 * Every named limit, pinned exactly at the limit and one past it (HOSTILE-INPUTS.md A2, A14,
 * B6, B15, C4, E3, G2, G8). Each test names its constant; limits tested elsewhere are listed
 * in the report that came with this file, not repeated here.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, FrameType, LIMITS, type Limits, PAIRING, PreambleFlag } from '../src/constants.ts';
import { ErrorCode, FerryError, type LimitError, UnsafeOfferError } from '../src/errors.ts';
import { FrameDecoder, type FrameEvent } from '../src/frame/decoder.ts';
import { concatFrame, encodePreamble } from '../src/frame/encode.ts';
import { decodeMessage } from '../src/messages/codec.ts';
import { checkRelativePath, validateOffer } from '../src/names.ts';
import { Connection } from '../src/node/connection.ts';
import { type Identity, loadOrCreateIdentity } from '../src/node/identity.ts';
import { Deadline, exchangePreamble, secureServer } from '../src/node/secure.ts';
import { formatCode, generateCode, normalizeCode } from '../src/pairing/code.ts';
import { PairingCodes, type PairingEvents } from '../src/pairing/codes.ts';
import { concat, header, thrown, utf8Bytes } from './helpers.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A JSON payload of exactly `bytes` bytes: `json`, then spaces (JSON whitespace). */
function padded(json: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes).fill(0x20);
  const text = utf8Bytes(json);
  if (text.byteLength > bytes) throw new Error(`${json} does not fit in ${bytes} bytes`);
  out.set(text);
  return out;
}

function expectCode(error: unknown, code: string): void {
  expect(error).toBeInstanceOf(FerryError);
  expect(error).toMatchObject({ code });
}

const SESSION = '00112233445566778899aabbccddeeff';

/** Frame limits: the whole frame at the cap decodes, payload and all; one byte more is refused from its header. */
const FRAME_LIMITS = [
  { constant: 'maxControlPayloadBytes', type: FrameType.HELLO, json: '{"software":"x","name":"x","features":[]}' },
  { constant: 'maxRequestPayloadBytes', type: FrameType.REQUEST, json: '{"files":[]}' },
  { constant: 'maxOfferPayloadBytes', type: FrameType.OFFER, json: `{"session":"${SESSION}","sender":{"name":"a","host":"b"},"entries":[]}` },
  { constant: 'maxAuthPayloadBytes', type: FrameType.AUTH, json: '{"method":"trusted"}' },
  { constant: 'maxDataPayloadBytes', type: FrameType.DATA, json: undefined },
] as const;

describe('frame limits (LIMITS)', () => {
  describe.each(FRAME_LIMITS)('$constant', ({ constant, type, json }) => {
    /** Decodes one whole frame under `limits`; returns its payload once the codec accepted it. */
    function decodeWhole(length: number, limits: Limits = LIMITS): number {
      const payload = json === undefined ? new Uint8Array(length).fill(0x61) : padded(json, length);
      const decoder = new FrameDecoder({ limits });
      const events: FrameEvent[] = [...decoder.push(header(type, length)), ...decoder.push(payload)];
      decoder.end();
      let bytes = 0;
      for (const event of events) {
        if (event.kind === 'data') bytes += event.bytes.byteLength;
        if (event.kind === 'frame') {
          if (type !== FrameType.DATA) decodeMessage(type, event.payload);
          bytes += event.payload.byteLength;
        }
      }
      return bytes;
    }

    it(`A2 ${constant}: a whole frame of exactly ${LIMITS[constant]} bytes (the real constant) is decoded, payload and all`, () => {
      expect(decodeWhole(LIMITS[constant])).toBe(LIMITS[constant]);
    });

    it(`A1 ${constant}: ${LIMITS[constant]} + 1 bytes is refused with ERR_LIMIT_EXCEEDED from the header, nothing buffered`, () => {
      const decoder = new FrameDecoder();
      const error = thrown(() => decoder.push(concat(header(type, LIMITS[constant] + 1), new Uint8Array(1024))));
      expectCode(error, ErrorCode.LIMIT_EXCEEDED);
      expect((error as LimitError).name).toBe('LimitError');
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(FRAME_HEADER_BYTES);
    });

    it(`A2, A1 ${constant}: a lowered limit is honoured exactly at it and refused one past it`, () => {
      const limits: Limits = { ...LIMITS, [constant]: 100 };
      expect(decodeWhole(100, limits)).toBe(100);
      expectCode(thrown(() => new FrameDecoder({ limits }).push(header(type, 101))), ErrorCode.LIMIT_EXCEEDED);
    });
  });

  it('A2, A1 PING payload: exactly 0 bytes is a PING; 1 byte is refused with ERR_LIMIT_EXCEEDED', () => {
    expect(new FrameDecoder().push(header(FrameType.PING, 0))).toEqual([{ kind: 'frame', type: FrameType.PING, payload: new Uint8Array(0) }]);
    expectCode(thrown(() => new FrameDecoder().push(header(FrameType.PING, 1))), ErrorCode.LIMIT_EXCEEDED);
  });
});

/** An offer entry. */
const file = (p: string, size = 1) => ({ kind: 'file' as const, path: p, size });

function expectUnsafe(fn: () => unknown): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(UnsafeOfferError);
  expectCode(error, ErrorCode.UNSAFE_OFFER);
}

describe('offer limits (LIMITS)', () => {
  it(`E3, A14 maxEntries: validateOffer accepts exactly ${LIMITS.maxEntries} distinct entries (the real constant)`, () => {
    const entries = Array.from({ length: LIMITS.maxEntries }, (_, i) => ({ kind: 'dir' as const, path: `d${i}` }));
    expect(validateOffer(entries).entries).toHaveLength(LIMITS.maxEntries);
    expectUnsafe(() => validateOffer([...entries, { kind: 'dir', path: 'one-more' }]));
    // Two validations of 200,000 entries: seconds on a loaded machine, not the default 5.
  }, 60_000);

  it('B6 maxComponentBytes: a component of exactly 255 UTF-8 bytes is accepted, 256 refused, counting bytes', () => {
    const atLimit = `${'é'.repeat(127)}a`;
    expect(utf8Bytes(atLimit).byteLength).toBe(LIMITS.maxComponentBytes);
    expect(checkRelativePath(`d/${atLimit}`)).toEqual(['d', atLimit]);
    expectUnsafe(() => checkRelativePath(`d/${atLimit}b`));
  });

  it('B6 maxComponentBytes: a lowered limit is honoured exactly at it and refused one past it', () => {
    const limits: Limits = { ...LIMITS, maxComponentBytes: 4 };
    expect(checkRelativePath('abcd/日a', limits)).toEqual(['abcd', '日a']);
    expectUnsafe(() => checkRelativePath('abcde', limits));
    expectUnsafe(() => checkRelativePath('ok/日ab', limits));
  });

  it('B6 maxPathBytes: a lowered limit is honoured exactly at it and refused one past it, counting bytes', () => {
    const limits: Limits = { ...LIMITS, maxPathBytes: 10 };
    expect(checkRelativePath('ab/cd/日e', limits)).toEqual(['ab', 'cd', '日e']);
    expectUnsafe(() => checkRelativePath('ab/cd/日ef', limits));
    expectUnsafe(() => validateOffer([file('ab/cd/日ef')], limits));
  });

  it(`B15 maxDepth: exactly ${LIMITS.maxDepth} components are accepted and ${LIMITS.maxDepth} + 1 refused, in a path and in an offer`, () => {
    const atLimit = Array(LIMITS.maxDepth).fill('a').join('/');
    expect(checkRelativePath(atLimit)).toHaveLength(LIMITS.maxDepth);
    expect(validateOffer([file(atLimit)]).entries).toHaveLength(1);
    expectUnsafe(() => validateOffer([file(`${atLimit}/a`)]));
  });

  it('A4 maxFileSize: a lowered limit lets a file of exactly it through validateOffer and refuses one byte more', () => {
    const limits: Limits = { ...LIMITS, maxFileSize: 1000 };
    expect(validateOffer([file('a', 1000)], limits).totalBytes).toBe(1000);
    expectUnsafe(() => validateOffer([file('a', 1001)], limits));
  });

  it('A4 maxFileSize: OFFER, REQUEST and FILE_START take exactly 2^53 - 1 and refuse 2^53 (ERR_BAD_MESSAGE)', () => {
    const max = LIMITS.maxFileSize;
    const text = (json: string) => utf8Bytes(json);
    const offer = (size: string) => `{"session":"${SESSION}","sender":{"name":"a","host":"b"},"entries":[{"kind":"file","path":"a","size":${size}}]}`;
    expect(decodeMessage(FrameType.OFFER, text(offer(String(max)))).entries[0]).toEqual(file('a', max));
    expectCode(thrown(() => decodeMessage(FrameType.OFFER, text(offer('9007199254740992')))), ErrorCode.BAD_MESSAGE);
    expect(decodeMessage(FrameType.REQUEST, text(`{"files":[{"id":0,"offset":${max}}]}`)).files[0]?.offset).toBe(max);
    expectCode(thrown(() => decodeMessage(FrameType.REQUEST, text('{"files":[{"id":0,"offset":9007199254740992}]}'))), ErrorCode.BAD_MESSAGE);
    expect(decodeMessage(FrameType.FILE_START, text(`{"id":0,"offset":0,"size":${max}}`)).size).toBe(max);
    expectCode(thrown(() => decodeMessage(FrameType.FILE_START, text('{"id":0,"offset":0,"size":9007199254740992}'))), ErrorCode.BAD_MESSAGE);
  });

  it('C4 maxTotalSize: a lowered limit is reached exactly by many files and refused one byte past it', () => {
    const limits: Limits = { ...LIMITS, maxTotalSize: 1000 };
    const files = Array.from({ length: 10 }, (_, i) => file(`f${i}`, 100));
    expect(validateOffer(files, limits).totalBytes).toBe(1000);
    expectUnsafe(() => validateOffer([...files.slice(0, 9), file('f9', 101)], limits));
  });
});

describe('message field limits (LIMITS)', () => {
  const hello = (name: string) => utf8Bytes(JSON.stringify({ software: 'x', name, features: [] }));

  it('A14 maxNameBytes: a HELLO name of exactly 128 UTF-8 bytes is accepted and 129 refused with ERR_BAD_MESSAGE', () => {
    const atLimit = `${'😀'.repeat(31)}abcd`;
    expect(utf8Bytes(atLimit).byteLength).toBe(LIMITS.maxNameBytes);
    expect(decodeMessage(FrameType.HELLO, hello(atLimit)).name).toBe(atLimit);
    expectCode(thrown(() => decodeMessage(FrameType.HELLO, hello(`${atLimit}e`))), ErrorCode.BAD_MESSAGE);
  });

  it('A14 maxErrorMessageBytes: ERROR and FILE_ABORT take a message of exactly 1024 UTF-8 bytes and refuse 1025', () => {
    const atLimit = `${'日'.repeat(341)}a`;
    expect(utf8Bytes(atLimit).byteLength).toBe(LIMITS.maxErrorMessageBytes);
    const error = (message: string) => utf8Bytes(JSON.stringify({ code: 'ERR_INTERNAL', message }));
    const abort = (message: string) => utf8Bytes(JSON.stringify({ id: 0, code: 'ERR_SOURCE_CHANGED', message }));
    expect(decodeMessage(FrameType.ERROR, error(atLimit)).message).toBe(atLimit);
    expect(decodeMessage(FrameType.FILE_ABORT, abort(atLimit)).message).toBe(atLimit);
    expectCode(thrown(() => decodeMessage(FrameType.ERROR, error(`${atLimit}b`))), ErrorCode.BAD_MESSAGE);
    expectCode(thrown(() => decodeMessage(FrameType.FILE_ABORT, abort(`${atLimit}b`))), ErrorCode.BAD_MESSAGE);
  });

  it('A14 maxEntries: an entry id of exactly maxEntries - 1 is accepted in FILE_START, FILE_END and FILE_ACK, and maxEntries refused', () => {
    const digest = 'a'.repeat(64);
    for (const [type, json] of [
      [FrameType.FILE_START, (id: number) => `{"id":${id},"offset":0,"size":0}`],
      [FrameType.FILE_END, (id: number) => `{"id":${id},"sha256":"${digest}"}`],
      [FrameType.FILE_ACK, (id: number) => `{"id":${id},"ok":false,"code":"ERR_NO_SPACE"}`],
    ] as const) {
      expect(decodeMessage(type, utf8Bytes(json(LIMITS.maxEntries - 1)))).toMatchObject({ id: LIMITS.maxEntries - 1 });
      expectCode(thrown(() => decodeMessage(type, utf8Bytes(json(LIMITS.maxEntries)))), ErrorCode.BAD_MESSAGE);
    }
  });
});

/** A connected loopback pair of raw sockets. */
async function socketPair(): Promise<{ accepted: Socket; client: Socket }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const connection = once(server, 'connection');
  const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  cleanups.push(() => client.destroy());
  const [[accepted]] = (await Promise.all([connection, once(client, 'connect')])) as [[Socket], unknown[]];
  accepted.on('error', () => {});
  cleanups.push(() => accepted.destroy());
  return { accepted, client };
}

/** Every frame a socket receives until it closes, or until `count` frames have come. */
async function framesUntilClose(socket: Socket | tls.TLSSocket, count = Number.POSITIVE_INFINITY): Promise<{ type: number; payload: Uint8Array }[]> {
  const decoder = new FrameDecoder();
  const frames: { type: number; payload: Uint8Array }[] = [];
  try {
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      for (const event of decoder.push(chunk)) if (event.kind === 'frame') frames.push({ type: event.type, payload: event.payload });
      if (frames.length >= count) break;
    }
  } catch {
    // A reset after the last frame: what came before it is the answer.
  }
  return frames;
}

describe('error message cap when sending (LIMITS.maxErrorMessageBytes)', () => {
  it.each([
    { what: 'exactly 1024 bytes is sent whole', message: `${'日'.repeat(341)}a`, sent: `${'日'.repeat(341)}a` },
    { what: '1025 bytes is cut to 1024, never inside a character', message: `${'日'.repeat(341)}ab`, sent: `${'日'.repeat(341)}a` },
    { what: '1026 bytes ending in a 3-byte character is cut to 1023, before that character', message: `${'日'.repeat(341)}日`, sent: '日'.repeat(341) },
  ])('A14 maxErrorMessageBytes: a local error message of $what', async ({ message, sent }) => {
    const { accepted, client } = await socketPair();
    const connection = new Connection(accepted, { preambleDone: true });
    const received = framesUntilClose(client);
    await connection.sendErrorAndClose(new FerryError(ErrorCode.INTERNAL, message));
    const frames = await received;
    expect(frames).toHaveLength(1);
    const error = decodeMessage(FrameType.ERROR, frames[0]!.payload);
    expect(error).toEqual({ code: ErrorCode.INTERNAL, message: sent });
    expect(utf8Bytes(error.message).byteLength).toBeLessThanOrEqual(LIMITS.maxErrorMessageBytes);
  });
});

describe('limits before authentication (secure.ts)', () => {
  let identities: Promise<{ sender: Identity; receiver: Identity }> | undefined;
  /** Two identities, made once for this block (each in its own temporary folder). */
  function machines() {
    identities ??= (async () => {
      const dirs = await Promise.all([0, 1].map(() => mkdtemp(path.join(os.tmpdir(), 'ferry-limits-'))));
      const [sender, receiver] = await Promise.all(dirs.map((dir) => loadOrCreateIdentity(dir)));
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
      return { sender: sender!, receiver: receiver! };
    })();
    return identities;
  }

  /**
   * A sender's secureServer with pairing codes, and a raw TLS client that wrote `bytes` as its
   * first frames. Returns how the server side ended and every frame the client got back.
   */
  async function preAuth(bytes: Uint8Array, hangUpAfterReplies = Number.POSITIVE_INFINITY): Promise<{ serverError: unknown; replies: { type: number; payload: Uint8Array }[] }> {
    const { sender, receiver } = await machines();
    const { accepted, client } = await socketPair();
    const pairing = new PairingCodes(async () => 1n);
    pairing.start();
    const deadline = new Deadline(5_000, accepted, 'the test handshake');
    cleanups.push(() => deadline.clear());
    const server = (async () => {
      await exchangePreamble({ socket: accepted }, 'server', true, deadline);
      return secureServer(accepted, { identity: sender, pairing }, deadline);
    })();
    client.write(encodePreamble(1, PreambleFlag.TLS));
    await once(client, 'data');
    const secure = tls.connect({ socket: client, key: receiver.key, cert: receiver.cert, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    secure.on('error', () => {});
    cleanups.push(() => secure.destroy());
    await once(secure, 'secureConnect');
    const replies = framesUntilClose(secure, hangUpAfterReplies);
    secure.write(bytes);
    // A server still waiting for its next frame is let go by hanging up once its replies came.
    if (Number.isFinite(hangUpAfterReplies)) await replies.then(() => secure.destroy());
    const serverError = await server.then(
      () => undefined,
      (error: unknown) => error,
    );
    secure.destroy();
    return { serverError, replies: await replies };
  }

  it('G8 maxAuthPayloadBytes: an AUTH of exactly 512 bytes is read and answered; 513 is refused from its header', async () => {
    // At the limit: a remembered-key request the sender does not know is answered "code-needed".
    const atLimit = await preAuth(concatFrame(FrameType.AUTH, padded('{"method":"trusted"}', LIMITS.maxAuthPayloadBytes)), 1);
    expect(atLimit.replies.map((reply) => decodeMessage(FrameType.AUTH_REPLY, reply.payload))).toEqual([{ result: 'code-needed' }]);
    expectCode(atLimit.serverError, ErrorCode.CONNECTION_CLOSED);
    const over = await preAuth(header(FrameType.AUTH, LIMITS.maxAuthPayloadBytes + 1));
    expectCode(over.serverError, ErrorCode.LIMIT_EXCEEDED);
    // Nothing but the ERROR that says why comes back: no AUTH_REPLY for an oversized AUTH.
    expect(over.replies.map((reply) => reply.type)).toEqual([FrameType.ERROR]);
    expect(decodeMessage(FrameType.ERROR, over.replies[0]!.payload).code).toBe(ErrorCode.LIMIT_EXCEEDED);
  });

  it('G8 pre-auth ERROR cap: an ERROR of exactly 2048 bytes before authentication is read; 2049 is refused from its header', async () => {
    const atLimit = await preAuth(concatFrame(FrameType.ERROR, padded('{"code":"ERR_CANCELLED","message":"bye"}', 2048)));
    expectCode(atLimit.serverError, ErrorCode.CANCELLED);
    const over = await preAuth(header(FrameType.ERROR, 2049));
    expectCode(over.serverError, ErrorCode.LIMIT_EXCEEDED);
  });

  it.each([
    { name: 'HELLO', type: FrameType.HELLO, cap: 2048, over: '2049', atCap: ErrorCode.UNEXPECTED_FRAME },
    { name: 'OFFER', type: FrameType.OFFER, cap: 0, over: '1', atCap: ErrorCode.UNEXPECTED_FRAME },
    { name: 'REQUEST', type: FrameType.REQUEST, cap: 0, over: '1', atCap: ErrorCode.UNEXPECTED_FRAME },
    { name: 'DATA', type: FrameType.DATA, cap: 0, over: '1', atCap: ErrorCode.BAD_MESSAGE },
  ])('G8 pre-auth $name cap: a frame at the cap is refused as out of place ($atCap), $over bytes with ERR_LIMIT_EXCEEDED from the header', async ({ type, cap, atCap }) => {
    const atLimit = await preAuth(concat(header(type, cap), new Uint8Array(cap).fill(0x20)));
    expectCode(atLimit.serverError, atCap);
    const over = await preAuth(header(type, cap + 1));
    expectCode(over.serverError, ErrorCode.LIMIT_EXCEEDED);
    expect(over.replies.map((reply) => reply.type)).toEqual([FrameType.ERROR]);
  });
});

describe('pairing limits (PAIRING)', () => {
  it(`G2 codeDigits: codes have exactly ${PAIRING.codeDigits} digits; ${PAIRING.codeDigits} typed digits are a code, one fewer or one more is not`, () => {
    for (let i = 0; i < 50; i++) expect(generateCode()).toMatch(new RegExp(`^\\d{${PAIRING.codeDigits}}$`));
    const digits = '12345678901'.slice(0, PAIRING.codeDigits);
    expect(normalizeCode(formatCode(digits))).toBe(digits);
    expect(normalizeCode(digits.slice(1))).toBeUndefined();
    expect(normalizeCode(`${digits}9`)).toBeUndefined();
  });

  /** Codes with a fast stand-in for scrypt, and the events they emitted. */
  function codes() {
    const pairing = new PairingCodes(async (code) => BigInt(code));
    const shown: PairingEvents['code'][] = [];
    const closed: PairingEvents['closed'][] = [];
    pairing.on('code', (event) => shown.push(event));
    pairing.on('closed', (event) => closed.push(event));
    pairing.start();
    const failOnce = async () => {
      const attempt = await pairing.begin();
      attempt.shareReceived();
      attempt.end();
    };
    return { pairing, shown, closed, failOnce };
  }

  it(`G2 attemptsPerCode: ${PAIRING.attemptsPerCode} - 1 wrong guesses keep the code, one more retires it`, async () => {
    const { shown, failOnce } = codes();
    for (let i = 0; i < PAIRING.attemptsPerCode - 1; i++) await failOnce();
    expect(shown.map((event) => event.reason)).toEqual(['first']);
    await failOnce();
    expect(shown.map((event) => event.reason)).toEqual(['first', 'retired']);
  });

  it(`G2 maxRetiredCodes: after ${PAIRING.maxRetiredCodes} - 1 retired codes pairing goes on; one more stops it`, async () => {
    const { pairing, shown, closed, failOnce } = codes();
    for (let code = 0; code < PAIRING.maxRetiredCodes - 1; code++) {
      for (let i = 0; i < PAIRING.attemptsPerCode; i++) await failOnce();
    }
    expect(closed).toEqual([]);
    expect(shown.filter((event) => event.reason === 'retired')).toHaveLength(PAIRING.maxRetiredCodes - 1);
    // The current code still takes attempts.
    const attempt = await pairing.begin();
    attempt.shareReceived();
    attempt.end();
    for (let i = 1; i < PAIRING.attemptsPerCode; i++) await failOnce();
    expect(closed).toEqual([{ failed: PAIRING.maxRetiredCodes * PAIRING.attemptsPerCode }]);
    expectCode(await pairing.begin().catch((error: unknown) => error), ErrorCode.PAIRING_UNAVAILABLE);
  });
});

describe('REQUEST_ITEM_BYTES', () => {
  it('the largest REQUEST item is 39 bytes, 40 with its comma, as PROTOCOL.md §7 and constants.ts say', async () => {
    const { readFileSync } = await import('node:fs');
    const { LIMITS: limits, REQUEST_ITEM_BYTES } = await import('../src/constants.ts');
    const item = JSON.stringify({ id: limits.maxEntries - 1, offset: Number.MAX_SAFE_INTEGER });
    expect(item).toBe('{"id":199999,"offset":9007199254740991}');
    expect(item.length).toBe(39);
    expect(item.length + 1).toBeLessThanOrEqual(REQUEST_ITEM_BYTES);
    const doc = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');
    expect(doc).toContain(`\`${item}\`, takes 39 bytes (40 with its comma)`);
    const source = readFileSync(new URL('../src/constants.ts', import.meta.url), 'utf8');
    expect(source).toContain(`\`${item},\` is 40 (39 and its comma)`);
  });
});
