import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, FrameType, LIMITS, type Limits } from '../../src/constants.ts';
import { ErrorCode, FerryError } from '../../src/errors.ts';
import { FrameDecoder, type FrameEvent, maxPayloadFor } from '../../src/frame/decoder.ts';
import { decodeMessage, isMessageType } from '../../src/messages/codec.ts';
import { byteByByte, concat, decodeChunks, frame, header, preamble, splitAt } from '../helpers.ts';

const SMALL: Limits = { ...LIMITS, maxControlPayloadBytes: 24, maxOfferPayloadBytes: 48, maxDataPayloadBytes: 16 };
const KNOWN_TYPES = Object.values(FrameType);

/** A valid frame under SMALL: a known type and a payload within its cap (DATA non-empty). */
const validFrame = fc
  .constantFrom(...KNOWN_TYPES)
  .chain((type) => {
    const cap = maxPayloadFor(type, SMALL)!;
    const minLength = type === FrameType.DATA ? 1 : 0;
    return fc.uint8Array({ minLength, maxLength: cap }).map((payload) => frame(type, payload));
  });

/** A valid stream: the preamble, then frames. */
const validStream = fc.array(validFrame, { maxLength: 12 }).map((frames) => concat(preamble(), ...frames));

/** Split points anywhere in (and around) a stream. */
const cuts = fc.array(fc.nat({ max: 1024 }), { maxLength: 24 });

/** Bytes that are mostly frame-shaped, some valid and some not, with random garbage between. */
const soup = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc
        .tuple(fc.nat({ max: 0x0f }), fc.oneof(fc.nat({ max: 60 }), fc.constant(0xffff_ffff), fc.constant(0x8000_0000)))
        .chain(([type, length]) =>
          fc.uint8Array({ maxLength: Math.min(length, 60) }).map((payload) => concat(header(type, length), payload)),
        ),
    ),
    { maxLength: 10 },
  )
  .map((parts) => concat(...parts));

/** Where a model of the framing rules says `bytes` (no preamble) must first fail, if anywhere. */
function firstFault(bytes: Uint8Array, limits: Limits): { at: number; code: string } | { at: -1; midFrame: boolean } {
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
    if (type === FrameType.DATA && length === 0) return { at: last, code: ErrorCode.BAD_MESSAGE };
    at += FRAME_HEADER_BYTES + length;
  }
  return { at: -1, midFrame: at > bytes.byteLength };
}

function assertWithinCaps(events: readonly FrameEvent[], limits: Limits): void {
  for (const event of events) {
    if (event.kind === 'frame') expect(event.payload.byteLength).toBeLessThanOrEqual(maxPayloadFor(event.type, limits)!);
    if (event.kind === 'data') expect(event.bytes.byteLength).toBeLessThanOrEqual(limits.maxDataPayloadBytes);
  }
}

describe('FrameDecoder properties', () => {
  it('A11: decodes any valid stream split at random points to the same events', () => {
    fc.assert(
      fc.property(validStream, cuts, (stream, points) => {
        const whole = decodeChunks([stream], { expectPreamble: true, limits: SMALL });
        expect(decodeChunks(splitAt(stream, points), { expectPreamble: true, limits: SMALL })).toEqual(whole);
        expect(decodeChunks(byteByByte(stream), { expectPreamble: true, limits: SMALL })).toEqual(whole);
      }),
    );
  });

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
        }
        assertWithinCaps(events, SMALL);
        expect(failedAt).toBe(fault.at);
        if ('code' in fault) {
          expect(failure).toBeInstanceOf(FerryError);
          expect(failure).toMatchObject({ code: fault.code });
        } else if (fault.midFrame) {
          expect(() => decoder.end()).toThrow(FerryError);
        } else {
          expect(() => decoder.end()).not.toThrow();
        }
      }),
    );
  });

  it('fails byte soup in the chunk that holds the faulty header, however it is split', () => {
    fc.assert(
      fc.property(soup, cuts, (bytes, points) => {
        const fault = firstFault(bytes, SMALL);
        const decoder = new FrameDecoder({ limits: SMALL });
        let consumed = 0;
        for (const chunk of splitAt(bytes, points)) {
          try {
            assertWithinCaps(decoder.push(chunk), SMALL);
          } catch (error) {
            expect(error).toBeInstanceOf(FerryError);
            expect(fault.at).toBeGreaterThanOrEqual(consumed);
            expect(fault.at).toBeLessThan(consumed + chunk.byteLength);
            return;
          }
          consumed += chunk.byteLength;
        }
        expect(fault.at).toBe(-1);
      }),
    );
  });

  it('decodes random bytes, with or without a preamble, or throws a FerryError and nothing else', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), cuts, (expectPreamble, random, points) => {
        const bytes = expectPreamble ? concat(preamble(), random) : random;
        const decoder = new FrameDecoder({ expectPreamble, limits: SMALL });
        try {
          for (const chunk of splitAt(bytes, points)) {
            const events = decoder.push(chunk);
            assertWithinCaps(events, SMALL);
            for (const event of events) {
              if (event.kind === 'frame' && isMessageType(event.type)) decodeMessage(event.type, event.payload);
            }
          }
          decoder.end();
        } catch (error) {
          expect(error).toBeInstanceOf(FerryError);
        }
      }),
    );
  });
});
