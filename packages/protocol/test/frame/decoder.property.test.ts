/**
 * Property tests of the frame decoder (HOSTILE-INPUTS.md A1, A3, A7, A11): a valid stream
 * decodes to the same events however it is cut, any other bytes fail with a typed error, and
 * the decoder never holds more than the current frame's cap plus its header.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FRAME_HEADER_BYTES,
  FrameType,
  LIMITS,
  type Limits,
  PREAMBLE_BYTES,
} from '../../src/constants.ts';
import { ErrorCode, FerryError, LimitError } from '../../src/errors.ts';
import { FrameDecoder, type FrameEvent, maxPayloadFor } from '../../src/frame/decoder.ts';
import { decodeMessage, isMessageType } from '../../src/messages/codec.ts';
import {
  byteByByte,
  concat,
  decodeChunks,
  frame,
  header,
  plain,
  preamble,
  splitAt,
  thrown,
} from '../helpers.ts';

/** Caps small enough that random frames reach them, and every cap differs from the others. */
const SMALL: Limits = {
  ...LIMITS,
  maxAuthPayloadBytes: 12,
  maxControlPayloadBytes: 24,
  maxRequestPayloadBytes: 32,
  maxOfferPayloadBytes: 48,
  maxDataPayloadBytes: 16,
};
const KNOWN_TYPES: readonly number[] = Object.values(FrameType);
const ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
const U32_MAX = 0xffff_ffff;
const TOP_BIT = 0x8000_0000;

/** One frame of a stream: its type and payload. */
interface FrameSpec {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** The shortest payload a frame of `type` may carry: DATA one byte, TX_DATA an offer id and one byte. */
function minPayloadFor(type: number): number {
  if (type === FrameType.DATA) return 1;
  if (type === FrameType.TX_DATA) return 5;
  return 0;
}

/**
 * TX_DATA's cap (a u32 offer id and 1 MiB) does not follow the lowered limits; random frames
 * stay this short so the streams stay small. The decoder tests check that cap exactly.
 */
const TX_DATA_LONGEST = 64;

/** A valid frame of `type` under `limits`: at its cap now and then, DATA and TX_DATA never too short. */
function frameOf(
  type: number,
  limits: Limits,
  longest = Number.POSITIVE_INFINITY,
): fc.Arbitrary<FrameSpec> {
  const cap = Math.min(
    maxPayloadFor(type, limits)!,
    longest,
    type === FrameType.TX_DATA ? TX_DATA_LONGEST : Number.POSITIVE_INFINITY,
  );
  const min = minPayloadFor(type);
  return fc
    .oneof(fc.constant(cap), fc.constant(min), fc.integer({ min, max: cap }))
    .chain((length) => fc.uint8Array({ minLength: length, maxLength: length }))
    .map((payload) => ({ type, payload }));
}

/**
 * A valid stream: the preamble, then at least one frame of every type and some more, in any
 * order. Under the real limits payloads stay short; under SMALL they reach every cap.
 */
function validStream(limits: Limits, longest?: number) {
  const anyFrame = fc.constantFrom(...KNOWN_TYPES).chain((type) => frameOf(type, limits, longest));
  return fc
    .tuple(
      fc.tuple(...KNOWN_TYPES.map((type) => frameOf(type, limits, longest))),
      fc.array(anyFrame, { maxLength: 8 }),
    )
    .chain(([everyType, more]) => {
      const all = [...everyType, ...more];
      return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
    })
    .chain((frames) => fc.constantFrom(0, 1).map((flags) => ({ flags, frames })));
}

/** The bytes of a stream. */
function streamBytes(stream: { flags: number; frames: readonly FrameSpec[] }): Uint8Array {
  return concat(
    preamble(1, stream.flags),
    ...stream.frames.map((spec) => frame(spec.type, spec.payload)),
  );
}

/** The events a correct decoder must produce for a stream, in comparable form. */
function expectedEvents(stream: { flags: number; frames: readonly FrameSpec[] }) {
  const events: FrameEvent[] = [{ kind: 'preamble', version: 1, flags: stream.flags }];
  for (const { type, payload } of stream.frames) {
    events.push(
      type === FrameType.DATA ? { kind: 'data', bytes: payload } : { kind: 'frame', type, payload },
    );
  }
  return plain(events);
}

/** Offsets of every frame header in a stream of `frames` after the preamble. */
function headerOffsets(frames: readonly FrameSpec[]): number[] {
  const offsets: number[] = [];
  let at = PREAMBLE_BYTES;
  for (const spec of frames) {
    offsets.push(at);
    at += FRAME_HEADER_BYTES + spec.payload.byteLength;
  }
  return offsets;
}

/**
 * What the decoder may hold after `consumed` bytes of `bytes` were pushed without error: the
 * exact count a faithful decoder holds (partial preamble, partial header, or the control
 * payload so far; DATA is passed on, never held), and the cap that bounds it.
 */
function modelBuffer(
  bytes: Uint8Array,
  consumed: number,
  limits: Limits,
  withPreamble: boolean,
): { held: number; bound: number } {
  const start = withPreamble ? PREAMBLE_BYTES : 0;
  if (consumed < start) return { held: consumed, bound: PREAMBLE_BYTES };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = start;
  for (;;) {
    const within = consumed - at;
    if (within < FRAME_HEADER_BYTES) return { held: within, bound: FRAME_HEADER_BYTES };
    const type = bytes[at]!;
    const length = view.getUint32(at + 1);
    const cap = maxPayloadFor(type, limits)!;
    if (within < FRAME_HEADER_BYTES + length) {
      const received = within - FRAME_HEADER_BYTES;
      return { held: type === FrameType.DATA ? 0 : received, bound: cap + FRAME_HEADER_BYTES };
    }
    at += FRAME_HEADER_BYTES + length;
  }
}

/**
 * Pushes `chunks` and checks, after every push that succeeds, that the decoder holds exactly
 * what the model says, within the cap of the frame under way. Returns the events, or the error.
 */
function feedChecked(
  decoder: FrameDecoder,
  bytes: Uint8Array,
  chunks: readonly Uint8Array[],
  limits: Limits,
  withPreamble: boolean,
): { events: FrameEvent[]; error?: unknown; consumed: number; failedChunk?: Uint8Array } {
  const events: FrameEvent[] = [];
  let consumed = 0;
  for (const chunk of chunks) {
    try {
      events.push(...decoder.push(chunk));
    } catch (error) {
      // Even a refused header was never followed by buffering of its payload.
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(
        Math.max(PREAMBLE_BYTES, FRAME_HEADER_BYTES),
      );
      return { events, error, consumed, failedChunk: chunk };
    }
    consumed += chunk.byteLength;
    const { held, bound } = modelBuffer(bytes, consumed, limits, withPreamble);
    expect(decoder.bufferedBytes).toBe(held);
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(bound);
  }
  return { events, consumed };
}

function expectTypedError(error: unknown): void {
  expect(error).toBeInstanceOf(FerryError);
  expect(ERROR_CODES.has((error as FerryError).code)).toBe(true);
}

/** Split points anywhere in (and around) a stream. */
const cuts = fc.array(fc.nat({ max: 1500 }), { maxLength: 24 });

/** A frame length that sits on or next to a boundary, or anywhere. */
const hostileLength = fc.oneof(
  fc.constantFrom(
    0,
    1,
    4,
    5,
    12,
    13,
    16,
    17,
    24,
    25,
    32,
    33,
    48,
    49,
    512,
    513,
    65_536,
    65_537,
    1_048_580,
    1_048_581,
  ),
  fc.constantFrom(0x7fff_ffff, TOP_BIT, TOP_BIT + 1, U32_MAX - 1, U32_MAX),
  fc.nat({ max: 60 }),
  fc.integer({ min: 0, max: U32_MAX }),
);

/** Bytes that are mostly frame-shaped, some valid and some not, with random garbage between. */
const soup = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc
        .tuple(fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.nat({ max: 0xff })), hostileLength)
        .chain(([type, length]) =>
          fc
            .uint8Array({ maxLength: Math.min(length, 60) })
            .map((payload) => concat(header(type, length), payload)),
        ),
    ),
    { maxLength: 10 },
  )
  .map((parts) => concat(...parts));

/** Where a model of the framing rules says `bytes` (no preamble) must first fail, if anywhere. */
function firstFault(
  bytes: Uint8Array,
  limits: Limits,
): { at: number; code: string } | { at: -1; midFrame: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.byteLength) {
    if (at + FRAME_HEADER_BYTES > bytes.byteLength) return { at: -1, midFrame: true };
    const type = bytes[at]!;
    const length = view.getUint32(at + 1);
    const last = at + FRAME_HEADER_BYTES - 1;
    const max = maxPayloadFor(type, limits);
    if (max === undefined) return { at: last, code: ErrorCode.UNKNOWN_FRAME_TYPE };
    if (length > max) return { at: last, code: ErrorCode.LIMIT_EXCEEDED };
    if (length < minPayloadFor(type)) return { at: last, code: ErrorCode.BAD_MESSAGE };
    at += FRAME_HEADER_BYTES + length;
  }
  return { at: -1, midFrame: at > bytes.byteLength };
}

function assertWithinCaps(events: readonly FrameEvent[], limits: Limits): void {
  for (const event of events) {
    if (event.kind === 'frame')
      expect(event.payload.byteLength).toBeLessThanOrEqual(maxPayloadFor(event.type, limits)!);
    if (event.kind === 'data')
      expect(event.bytes.byteLength).toBeLessThanOrEqual(limits.maxDataPayloadBytes);
  }
}

describe.each([
  { name: 'lowered caps', limits: SMALL, longest: undefined },
  { name: 'default caps', limits: LIMITS, longest: 40 },
])('FrameDecoder properties, valid streams ($name)', ({ limits, longest }) => {
  const streams = validStream(limits, longest);
  const options = { expectPreamble: true, limits };

  it('A11: decodes a valid stream of every frame type, pushed whole, to exactly its frames', () => {
    fc.assert(
      fc.property(streams, (stream) => {
        expect(decodeChunks([streamBytes(stream)], options)).toEqual(expectedEvents(stream));
      }),
      { numRuns: 300 },
    );
  });

  it('A11: decodes the same events fed one byte per push, holding no more than the frame under way', () => {
    fc.assert(
      fc.property(streams, (stream) => {
        const bytes = streamBytes(stream);
        const decoder = new FrameDecoder(options);
        const { events, error } = feedChecked(decoder, bytes, byteByByte(bytes), limits, true);
        expect(error).toBeUndefined();
        decoder.end();
        expect(plain(events)).toEqual(expectedEvents(stream));
      }),
      { numRuns: 100 },
    );
  });

  it('A11: decodes the same events with every header split across two pushes', () => {
    const headerCuts = streams.chain((stream) =>
      fc
        .array(fc.integer({ min: 1, max: FRAME_HEADER_BYTES - 1 }), {
          minLength: stream.frames.length,
          maxLength: stream.frames.length,
        })
        .map((inside) => ({
          stream,
          points: headerOffsets(stream.frames).map((offset, i) => offset + inside[i]!),
        })),
    );
    fc.assert(
      fc.property(headerCuts, cuts, ({ stream, points }, more) => {
        const bytes = streamBytes(stream);
        const decoder = new FrameDecoder(options);
        const { events, error } = feedChecked(
          decoder,
          bytes,
          splitAt(bytes, [...points, ...more]),
          limits,
          true,
        );
        expect(error).toBeUndefined();
        decoder.end();
        expect(plain(events)).toEqual(expectedEvents(stream));
      }),
      { numRuns: 300 },
    );
  });

  it('A11: decodes the same events split at random points, many frames to a push or one byte to a push', () => {
    fc.assert(
      fc.property(streams, cuts, (stream, points) => {
        const bytes = streamBytes(stream);
        const decoder = new FrameDecoder(options);
        const { events, error } = feedChecked(decoder, bytes, splitAt(bytes, points), limits, true);
        expect(error).toBeUndefined();
        decoder.end();
        expect(plain(events)).toEqual(expectedEvents(stream));
      }),
      { numRuns: 500 },
    );
  });

  it('A11: decodes the same events for a cut at every single point of the stream', () => {
    fc.assert(
      fc.property(streams, (stream) => {
        const bytes = streamBytes(stream);
        const expected = expectedEvents(stream);
        for (let cut = 0; cut <= bytes.byteLength; cut++) {
          expect(decodeChunks([bytes.subarray(0, cut), bytes.subarray(cut)], options)).toEqual(
            expected,
          );
        }
      }),
      { numRuns: 25 },
    );
  });

  it('A6: ends with ERR_TRUNCATED when a valid stream stops anywhere inside a frame, and quietly between frames', () => {
    fc.assert(
      fc.property(streams, fc.nat(), (stream, seed) => {
        const bytes = streamBytes(stream);
        const stop = seed % (bytes.byteLength + 1);
        const decoder = new FrameDecoder(options);
        decoder.push(bytes.subarray(0, stop));
        const boundaries = new Set([
          PREAMBLE_BYTES,
          ...headerOffsets(stream.frames),
          bytes.byteLength,
        ]);
        if (boundaries.has(stop)) {
          expect(() => decoder.end()).not.toThrow();
        } else {
          expect(thrown(() => decoder.end())).toMatchObject({ code: ErrorCode.TRUNCATED });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('FrameDecoder properties, byte soup', () => {
  it('A1, A7: fails byte soup exactly at the header that breaks a rule, before buffering its payload', () => {
    fc.assert(
      fc.property(soup, (bytes) => {
        const fault = firstFault(bytes, SMALL);
        const decoder = new FrameDecoder({ limits: SMALL });
        const events: FrameEvent[] = [];
        let failedAt = -1;
        let failure: unknown;
        for (const [index, chunk] of byteByByte(bytes).entries()) {
          try {
            events.push(...decoder.push(chunk));
          } catch (error) {
            failedAt = index;
            failure = error;
            break;
          }
          expect(decoder.bufferedBytes).toBeLessThanOrEqual(
            modelBuffer(bytes, index + 1, SMALL, false).bound,
          );
        }
        assertWithinCaps(events, SMALL);
        expect(failedAt).toBe(fault.at);
        if ('code' in fault) {
          expectTypedError(failure);
          expect(failure).toMatchObject({ code: fault.code });
        } else if (fault.midFrame) {
          expect(thrown(() => decoder.end())).toMatchObject({ code: ErrorCode.TRUNCATED });
        } else {
          expect(() => decoder.end()).not.toThrow();
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    { name: 'lowered caps', limits: SMALL },
    { name: 'default caps', limits: LIMITS },
  ])(
    'A1, A7: fails byte soup in the chunk that holds the faulty header, however split, holding no more than the cap ($name)',
    ({ limits }) => {
      fc.assert(
        fc.property(soup, cuts, (bytes, points) => {
          const fault = firstFault(bytes, limits);
          const decoder = new FrameDecoder({ limits });
          const { events, error, consumed, failedChunk } = feedChecked(
            decoder,
            bytes,
            splitAt(bytes, points),
            limits,
            false,
          );
          assertWithinCaps(events, limits);
          if (error === undefined) {
            expect(fault.at).toBe(-1);
            return;
          }
          expectTypedError(error);
          expect(error).toMatchObject({ code: (fault as { code: string }).code });
          // The chunk that failed is the one holding the faulty header's last byte.
          expect(fault.at).toBeGreaterThanOrEqual(consumed);
          expect(fault.at).toBeLessThan(consumed + failedChunk!.byteLength);
          // Once failed, it stays failed, still with a typed error.
          expectTypedError(thrown(() => decoder.push(Uint8Array.of(FrameType.PING, 0, 0, 0, 0))));
        }),
        { numRuns: 500 },
      );
    },
  );

  it.each([
    { name: 'lowered caps', limits: SMALL },
    { name: 'default caps', limits: LIMITS },
  ])(
    'decodes random bytes, with or without a preamble, or throws a typed FerryError and nothing else ($name)',
    ({ limits }) => {
      const randomBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), soup);
      fc.assert(
        fc.property(fc.boolean(), randomBytes, cuts, (expectPreamble, random, points) => {
          const bytes = expectPreamble ? concat(preamble(), random) : random;
          const decoder = new FrameDecoder({ expectPreamble, limits });
          const { events, error } = feedChecked(
            decoder,
            bytes,
            splitAt(bytes, points),
            limits,
            expectPreamble,
          );
          assertWithinCaps(events, limits);
          if (error !== undefined) {
            expectTypedError(error);
            return;
          }
          try {
            for (const event of events) {
              if (event.kind === 'frame' && isMessageType(event.type))
                decodeMessage(event.type, event.payload);
            }
            decoder.end();
          } catch (caught) {
            expectTypedError(caught);
          }
        }),
        { numRuns: 500 },
      );
    },
  );

  it('A13: refuses a stream whose first bytes are not the magic at the first wrong byte, holding at most the preamble', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), cuts, (random, points) => {
        const good = preamble();
        const wrongAt = [...random.subarray(0, 8)].findIndex((byte, i) => byte !== good[i]);
        const decoder = new FrameDecoder({ expectPreamble: true });
        try {
          for (const chunk of splitAt(random, points)) {
            decoder.push(chunk);
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(PREAMBLE_BYTES);
          }
        } catch (error) {
          expectTypedError(error);
          if (wrongAt !== -1) expect(error).toMatchObject({ code: ErrorCode.BAD_MAGIC });
          return;
        }
        expect(wrongAt).toBe(-1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('FrameDecoder properties, unsigned lengths', () => {
  const topBitLength = fc.integer({ min: TOP_BIT, max: U32_MAX });

  it('A3: refuses every length with the top bit set as too long (never negative), from the header alone', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xff }),
        topBitLength,
        fc.uint8Array({ maxLength: 32 }),
        fc.constantFrom(SMALL, LIMITS),
        (type, length, tail, limits) => {
          const decoder = new FrameDecoder({ limits });
          const error = thrown(() => decoder.push(concat(header(type, length), tail)));
          expect(error).toMatchObject({
            code: KNOWN_TYPES.includes(type)
              ? ErrorCode.LIMIT_EXCEEDED
              : ErrorCode.UNKNOWN_FRAME_TYPE,
          });
          if (KNOWN_TYPES.includes(type)) expect(error).toBeInstanceOf(LimitError);
          expect(decoder.bufferedBytes).toBeLessThanOrEqual(FRAME_HEADER_BYTES);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('A3: reads a top-bit length as a large count of bytes still to come when the cap allows it', () => {
    const huge: Limits = {
      ...LIMITS,
      maxAuthPayloadBytes: U32_MAX,
      maxControlPayloadBytes: U32_MAX,
      maxRequestPayloadBytes: U32_MAX,
      maxOfferPayloadBytes: U32_MAX,
      maxDataPayloadBytes: U32_MAX,
    };
    // PING's cap is 0 and TX_DATA's a fixed 1 MiB + 4: neither follows the limits.
    const types = KNOWN_TYPES.filter(
      (type) => type !== FrameType.PING && type !== FrameType.TX_DATA,
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        topBitLength,
        fc.uint8Array({ maxLength: 64 }),
        cuts,
        (type, length, body, points) => {
          const decoder = new FrameDecoder({ limits: huge });
          const events: FrameEvent[] = [];
          for (const chunk of splitAt(concat(header(type, length), body), points))
            events.push(...decoder.push(chunk));
          // Nothing is complete: the frame still wants length - body bytes, a positive number.
          expect(events.every((event) => event.kind === 'data')).toBe(true);
          const passed = events.reduce(
            (sum, event) => sum + (event.kind === 'data' ? event.bytes.byteLength : 0),
            0,
          );
          expect(passed + decoder.bufferedBytes).toBe(body.byteLength);
          expect(decoder.bufferedBytes).toBe(type === FrameType.DATA ? 0 : body.byteLength);
          expect(decoder.midFrame).toBe(true);
          expect(decoder.framesCompleted).toBe(0);
          expect(thrown(() => decoder.end())).toMatchObject({ code: ErrorCode.TRUNCATED });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('FrameDecoder.bufferedBytes (A1)', () => {
  it('holds an OFFER announced at the default cap only as far as it has arrived, and nothing of DATA', () => {
    const decoder = new FrameDecoder();
    decoder.push(header(FrameType.OFFER, LIMITS.maxOfferPayloadBytes).subarray(0, 3));
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(header(FrameType.OFFER, LIMITS.maxOfferPayloadBytes).subarray(3));
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(new Uint8Array(1000));
    expect(decoder.bufferedBytes).toBe(1000);
    decoder.push(new Uint8Array(LIMITS.maxOfferPayloadBytes - 1000));
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(concat(header(FrameType.DATA, LIMITS.maxDataPayloadBytes), new Uint8Array(4096)));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('holds at most a header when a length over the cap is refused', () => {
    const decoder = new FrameDecoder();
    thrown(() =>
      decoder.push(
        concat(header(FrameType.OFFER, LIMITS.maxOfferPayloadBytes + 1), new Uint8Array(4096)),
      ),
    );
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(FRAME_HEADER_BYTES);
  });

  it('counts a partial preamble, and nothing once it is complete', () => {
    const decoder = new FrameDecoder({ expectPreamble: true });
    decoder.push(preamble().subarray(0, 5));
    expect(decoder.bufferedBytes).toBe(5);
    decoder.push(preamble().subarray(5));
    expect(decoder.bufferedBytes).toBe(0);
  });
});
