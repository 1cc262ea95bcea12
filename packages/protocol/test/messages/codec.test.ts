import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameType,
  LIMITS,
  limitsForOffer,
  REQUEST_BASE_BYTES,
  REQUEST_ITEM_BYTES,
} from '../../src/constants.ts';
import { maxPayloadFor } from '../../src/frame/decoder.ts';
import { ErrorCode, FerryError, ProtocolError } from '../../src/errors.ts';
import { decodeMessage, encodeMessage, isMessageType } from '../../src/messages/codec.ts';
import type { MessageType } from '../../src/messages/schemas.ts';
import { MESSAGE_FIXTURES } from '../frame/fixtures.ts';
import { concat, thrown, utf8Bytes } from '../helpers.ts';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const DIGEST = 'ab'.repeat(32);

/** Decodes a JSON text as a message of `type`. */
function decodeText(type: MessageType, text: string): unknown {
  return decodeMessage(type, utf8Bytes(text));
}

/** Asserts that decoding `text` as `type` fails with ERR_BAD_MESSAGE. */
function expectBad(type: MessageType, text: string | Uint8Array): void {
  const payload = typeof text === 'string' ? utf8Bytes(text) : text;
  const error = thrown(() => decodeMessage(type, payload));
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error).toMatchObject({ code: ErrorCode.BAD_MESSAGE });
}

function hello(fields: Record<string, unknown>): string {
  return JSON.stringify({ software: 'ferry/0.1.0', name: 'alice', features: [], ...fields });
}

function offer(fields: Record<string, unknown>): string {
  return JSON.stringify({
    session: '00112233445566778899aabbccddeeff',
    sender: { name: 'bob', host: 'laptop' },
    entries: [],
    ...fields,
  });
}

describe('isMessageType', () => {
  it('is true for JSON-carrying frame types and false for DATA, PING and unknown types', () => {
    for (const { type } of MESSAGE_FIXTURES) expect(isMessageType(type)).toBe(true);
    expect(isMessageType(FrameType.DATA)).toBe(false);
    expect(isMessageType(FrameType.PING)).toBe(false);
    expect(isMessageType(0)).toBe(false);
    expect(isMessageType(0xff)).toBe(false);
  });
});

describe('decodeMessage strictness', () => {
  describe.each(MESSAGE_FIXTURES)('$name', ({ type, json }) => {
    it('A9: rejects an unknown extra field', () => {
      expectBad(type, `${json.slice(0, -1)}${json === '{}' ? '' : ','}"extra":1}`);
    });

    it('A9: rejects trailing garbage after the JSON object', () => {
      expectBad(type, `${json}x`);
      expectBad(type, `${json}{}`);
      expectBad(type, concat(utf8Bytes(json), Uint8Array.of(0)));
    });

    it('A9: rejects a payload cut short', () => {
      expectBad(type, json.slice(0, -1));
    });

    it('A5: rejects an empty payload', () => {
      expectBad(type, '');
    });

    it('rejects JSON that is not an object', () => {
      for (const text of ['null', '[]', '1', '"x"', 'true']) expectBad(type, text);
    });

    it('accepts insignificant JSON whitespace', () => {
      expect(decodeText(type, ` \n${json}\t `)).toEqual(JSON.parse(json));
    });
  });

  it('B4: rejects invalid UTF-8 in a payload', () => {
    const [before, after] = offer({ entries: [{ kind: 'file', path: 'a__.txt', size: 1 }] }).split(
      '__',
    ) as [string, string];
    expectBad(
      FrameType.OFFER,
      concat(utf8Bytes(before), Uint8Array.of(0xff, 0xfe), utf8Bytes(after)),
    );
    expectBad(
      FrameType.OFFER,
      concat(utf8Bytes(before), Uint8Array.of(0xc0, 0xaf), utf8Bytes(after)),
    );
    expectBad(
      FrameType.OFFER,
      concat(utf8Bytes(before), Uint8Array.of(0xed, 0xa0, 0x80), utf8Bytes(after)),
    );
  });

  it('A9: rejects a __proto__ key', () => {
    expectBad(FrameType.DONE, '{"__proto__":{"x":1},"saved":0,"failed":0}');
  });

  it('A9: rejects a missing field and a field of the wrong JSON type', () => {
    expectBad(FrameType.DONE, '{"saved":0}');
    expectBad(FrameType.DONE, '{"saved":"0","failed":0}');
    expectBad(FrameType.FILE_START, '{"id":1,"offset":0,"size":null}');
  });

  it('rejects nested unknown fields', () => {
    expectBad(FrameType.OFFER, offer({ sender: { name: 'bob', host: 'laptop', ip: '1.2.3.4' } }));
    expectBad(
      FrameType.OFFER,
      offer({ entries: [{ kind: 'file', path: 'a', size: 1, mode: 511 }] }),
    );
    expectBad(FrameType.OFFER, offer({ entries: [{ kind: 'dir', path: 'a', size: 0 }] }));
    expectBad(FrameType.REQUEST, '{"files":[{"id":0,"offset":0,"path":"../../etc/passwd"}]}');
  });

  it('rejects an entry kind other than file or dir', () => {
    expectBad(
      FrameType.OFFER,
      offer({ entries: [{ kind: 'symlink', path: 'a', target: '/etc' }] }),
    );
  });
});

describe('decodeMessage field limits', () => {
  it('accepts HELLO software of 64 UTF-8 bytes and rejects 65', () => {
    expect(decodeText(FrameType.HELLO, hello({ software: 'é'.repeat(32) }))).toBeTruthy();
    expectBad(FrameType.HELLO, hello({ software: `${'é'.repeat(32)}a` }));
  });

  it('accepts a name of maxNameBytes UTF-8 bytes and rejects one more, counting bytes not UTF-16 units', () => {
    const atLimit = '日'.repeat(42) + 'ab';
    expect(utf8Bytes(atLimit).byteLength).toBe(LIMITS.maxNameBytes);
    expect(decodeText(FrameType.HELLO, hello({ name: atLimit }))).toBeTruthy();
    expectBad(FrameType.HELLO, hello({ name: `${atLimit}c` }));
    expectBad(FrameType.HELLO, hello({ name: '日'.repeat(43) }));
    expect(
      decodeText(FrameType.OFFER, offer({ sender: { name: atLimit, host: atLimit } })),
    ).toBeTruthy();
    expectBad(FrameType.OFFER, offer({ sender: { name: 'bob', host: `${atLimit}c` } }));
  });

  it('accepts 16 HELLO features of up to 32 characters and rejects a 17th, a longer or a malformed one', () => {
    const features = Array.from({ length: 16 }, (_, i) => `f${i}`);
    expect(decodeText(FrameType.HELLO, hello({ features }))).toBeTruthy();
    expect(decodeText(FrameType.HELLO, hello({ features: ['a'.repeat(32)] }))).toBeTruthy();
    expectBad(FrameType.HELLO, hello({ features: [...features, 'f16'] }));
    expectBad(FrameType.HELLO, hello({ features: ['a'.repeat(33)] }));
    expectBad(FrameType.HELLO, hello({ features: ['Resume'] }));
    expectBad(FrameType.HELLO, hello({ features: [''] }));
  });

  it('rejects an OFFER session that is not 32 lowercase hex digits', () => {
    expectBad(FrameType.OFFER, offer({ session: '00112233445566778899AABBCCDDEEFF' }));
    expectBad(FrameType.OFFER, offer({ session: '00112233445566778899aabbccddeef' }));
  });

  it('A4: accepts sizes up to 2^53 - 1 and rejects larger, negative, fractional and non-finite ones', () => {
    const entries = (size: string) =>
      offer({ entries: [] }).replace(
        '"entries":[]',
        `"entries":[{"kind":"file","path":"a","size":${size}}]`,
      );
    expect(decodeText(FrameType.OFFER, entries(String(MAX_SAFE)))).toBeTruthy();
    for (const size of [
      '9007199254740992',
      '9007199254740993',
      '1e300',
      '1e400',
      '-1',
      '1.5',
      '"1"',
    ]) {
      expectBad(FrameType.OFFER, entries(size));
    }
    expect(
      decodeText(FrameType.FILE_START, `{"id":0,"offset":${MAX_SAFE},"size":${MAX_SAFE}}`),
    ).toBeTruthy();
    expectBad(FrameType.FILE_START, '{"id":0,"offset":0,"size":9007199254740992}');
    expectBad(FrameType.FILE_START, '{"id":0,"offset":-1,"size":1}');
    expect(decodeText(FrameType.DONE, `{"saved":${MAX_SAFE},"failed":0}`)).toBeTruthy();
    expectBad(FrameType.DONE, '{"saved":9007199254740992,"failed":0}');
  });

  it('A14: accepts an entry id of maxEntries - 1 and rejects maxEntries', () => {
    const last = LIMITS.maxEntries - 1;
    expect(decodeText(FrameType.FILE_END, `{"id":${last},"sha256":"${DIGEST}"}`)).toBeTruthy();
    expectBad(FrameType.FILE_END, `{"id":${last + 1},"sha256":"${DIGEST}"}`);
    expect(decodeText(FrameType.REQUEST, `{"files":[{"id":${last},"offset":0}]}`)).toBeTruthy();
    expectBad(FrameType.REQUEST, `{"files":[{"id":${last + 1},"offset":0}]}`);
    expectBad(FrameType.REQUEST, '{"files":[{"id":-1,"offset":0}]}');
    expectBad(FrameType.REQUEST, '{"files":[{"id":0.5,"offset":0}]}');
  });

  it('A14: accepts maxEntries REQUEST files and OFFER entries and rejects one more', () => {
    const files = (count: number) =>
      `{"files":[${Array(count).fill('{"id":0,"offset":0}').join(',')}]}`;
    expect(decodeText(FrameType.REQUEST, files(LIMITS.maxEntries))).toBeTruthy();
    expectBad(FrameType.REQUEST, files(LIMITS.maxEntries + 1));
    const entries = (count: number) =>
      offer({}).replace(
        '"entries":[]',
        `"entries":[${Array(count).fill('{"kind":"dir","path":"a"}').join(',')}]`,
      );
    expect(decodeText(FrameType.OFFER, entries(LIMITS.maxEntries))).toBeTruthy();
    expectBad(FrameType.OFFER, entries(LIMITS.maxEntries + 1));
  });

  it('accepts only a 64-digit lowercase hex SHA-256', () => {
    expectBad(FrameType.FILE_END, `{"id":0,"sha256":"${DIGEST.toUpperCase()}"}`);
    expectBad(FrameType.FILE_END, `{"id":0,"sha256":"${DIGEST.slice(1)}"}`);
    expectBad(FrameType.FILE_END, `{"id":0,"sha256":"${DIGEST}0"}`);
    expectBad(FrameType.FILE_ACK, `{"id":0,"ok":true,"sha256":"${'g'.repeat(64)}"}`);
  });

  it('accepts ERR_ codes of up to 60 characters after the prefix and rejects others', () => {
    expect(
      decodeText(FrameType.ERROR, `{"code":"ERR_${'A'.repeat(60)}","message":""}`),
    ).toBeTruthy();
    expect(
      decodeText(FrameType.ERROR, '{"code":"ERR_FROM_THE_FUTURE_2","message":""}'),
    ).toBeTruthy();
    for (const code of [
      `ERR_${'A'.repeat(61)}`,
      'ERR_',
      'err_declined',
      'ERR_bad',
      'DECLINED',
      'ERR_X\n',
    ]) {
      expectBad(FrameType.ERROR, JSON.stringify({ code, message: '' }));
    }
  });

  it('accepts an ERROR or FILE_ABORT message of maxErrorMessageBytes and rejects one more byte', () => {
    const atLimit = '€'.repeat(341) + 'a';
    expect(utf8Bytes(atLimit).byteLength).toBe(LIMITS.maxErrorMessageBytes);
    expect(
      decodeText(FrameType.ERROR, JSON.stringify({ code: 'ERR_X', message: atLimit })),
    ).toBeTruthy();
    expectBad(FrameType.ERROR, JSON.stringify({ code: 'ERR_X', message: `${atLimit}a` }));
    expect(
      decodeText(FrameType.FILE_ABORT, JSON.stringify({ id: 0, code: 'ERR_X', message: atLimit })),
    ).toBeTruthy();
    expectBad(
      FrameType.FILE_ABORT,
      JSON.stringify({ id: 0, code: 'ERR_X', message: `${atLimit}a` }),
    );
  });

  it('requires FILE_ACK ok:true to carry only sha256 and ok:false to carry only code', () => {
    expect(decodeText(FrameType.FILE_ACK, `{"id":0,"ok":true,"sha256":"${DIGEST}"}`)).toEqual({
      id: 0,
      ok: true,
      sha256: DIGEST,
    });
    expect(decodeText(FrameType.FILE_ACK, '{"id":0,"ok":false,"code":"ERR_NO_SPACE"}')).toEqual({
      id: 0,
      ok: false,
      code: 'ERR_NO_SPACE',
    });
    expectBad(FrameType.FILE_ACK, '{"id":0,"ok":true,"code":"ERR_NO_SPACE"}');
    expectBad(FrameType.FILE_ACK, `{"id":0,"ok":false,"sha256":"${DIGEST}"}`);
    expectBad(FrameType.FILE_ACK, `{"id":0,"ok":false,"code":"ERR_NO_SPACE","sha256":"${DIGEST}"}`);
    expectBad(FrameType.FILE_ACK, `{"id":0,"ok":"yes","sha256":"${DIGEST}"}`);
  });
});

describe('encodeMessage', () => {
  it('writes keys in schema order whatever the order of the input object', () => {
    const text = new TextDecoder().decode(
      encodeMessage(FrameType.FILE_START, { size: 5, id: 1, offset: 0 }),
    );
    expect(text).toBe('{"id":1,"offset":0,"size":5}');
  });

  it('refuses to encode a message its schema rejects', () => {
    expect(() => encodeMessage(FrameType.DONE, { saved: -1, failed: 0 })).toThrow(FerryError);
    expect(() =>
      encodeMessage(FrameType.HELLO, { software: 'x', name: '日'.repeat(43), features: [] }),
    ).toThrow(FerryError);
  });
});

describe('decodeMessage properties', () => {
  it('decodes any bytes as any message type or throws ERR_BAD_MESSAGE', () => {
    const types = MESSAGE_FIXTURES.map(({ type }) => type);
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.json().map(utf8Bytes)),
        (type, payload) => {
          try {
            decodeMessage(type, payload);
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
            expect(error).toMatchObject({ code: ErrorCode.BAD_MESSAGE });
          }
        },
      ),
    );
  });

  it('round-trips every decodable message to the same bytes it came from, modulo key order', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (saved, failed) => {
        const message = decodeMessage(
          FrameType.DONE,
          encodeMessage(FrameType.DONE, { saved, failed }),
        );
        expect(message).toEqual({ saved, failed });
      }),
    );
  });
});

describe('K7: integers are checked as written', () => {
  const doc = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');
  const table = /<!-- integers:start -->([\s\S]*?)<!-- integers:end -->/.exec(doc)?.[1] ?? '';
  const vectors = [...table.matchAll(/^\s*\| `([^`]+)` \| ([^|]+?) \|$/gm)].map(
    ([, text, read]) => ({ text: text!, read: read! }),
  );

  it('K7: PROTOCOL.md §4 lists integer vectors, accepted and refused', () => {
    expect(vectors.filter(({ read }) => !read.startsWith('refused')).length).toBeGreaterThan(0);
    expect(vectors.filter(({ read }) => read.startsWith('refused')).length).toBeGreaterThan(5);
  });

  it('K7: reads each §4 integer vector as FILE_START size as the table says', () => {
    for (const { text, read } of vectors) {
      const payload = `{"id":0,"offset":0,"size":${text}}`;
      if (read.startsWith('refused')) expectBad(FrameType.FILE_START, payload);
      else
        expect(decodeText(FrameType.FILE_START, payload)).toEqual({
          id: 0,
          offset: 0,
          size: Number(read),
        });
    }
  });

  it('K7: refuses an OFFER size written as 5.0000000000000001', () => {
    expectBad(
      FrameType.OFFER,
      offer({}).replace(
        '"entries":[]',
        '"entries":[{"kind":"file","path":"a","size":5.0000000000000001}]',
      ),
    );
  });

  it('K7: refuses a FILE_START offset written as 1e-400', () => {
    expectBad(FrameType.FILE_START, '{"id":0,"offset":1e-400,"size":5}');
  });

  it('K7: refuses a REQUEST id written as 4.0000000000000001', () => {
    expectBad(FrameType.REQUEST, '{"files":[{"id":4.0000000000000001,"offset":0}]}');
  });

  it('K7: refuses 0.0, 1e0 and -0 wherever an integer goes', () => {
    for (const text of ['0.0', '1e0', '-0']) {
      expectBad(FrameType.DONE, `{"saved":${text},"failed":0}`);
      expectBad(FrameType.FILE_END, `{"id":${text},"sha256":"${DIGEST}"}`);
      expectBad(FrameType.FILE_ACK, `{"id":${text},"ok":false,"code":"ERR_X"}`);
    }
  });
});

describe('K6: the structure is checked before any value is built', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('K6: refuses a 32 MiB OFFER nesting arrays in an unknown field, growing the process by far less than the payload', () => {
    const prefix = '{"nest": ';
    const depth = (LIMITS.maxOfferPayloadBytes - prefix.length - 1) / 2;
    const payload = utf8Bytes(`${prefix}${nested(depth)}}`);
    expect(payload.byteLength).toBe(LIMITS.maxOfferPayloadBytes);
    const before = process.memoryUsage().rss;
    expectBad(FrameType.OFFER, payload);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('K6: refuses nesting deeper than the schema in a known field, at its first extra level', () => {
    expectBad(FrameType.OFFER, offer({}).replace('"entries":[]', `"entries":[${nested(1000)}]`));
    expectBad(FrameType.OFFER, offer({ session: [[['0'.repeat(32)]]] }));
    expectBad(FrameType.REQUEST, `{"files":[${nested(10)}]}`);
    expectBad(FrameType.FILE_ACK, `{"id":0,"ok":false,"code":${nested(3)}}`);
  });

  it('K6: refuses an array of the wrong items, or too many, without building it', () => {
    expectBad(
      FrameType.OFFER,
      offer({}).replace('"entries":[]', `"entries":[${Array(1000).fill('[]').join(',')}]`),
    );
    expectBad(
      FrameType.REQUEST,
      `{"files":[${Array(LIMITS.maxEntries + 1)
        .fill('{}')
        .join(',')}]}`,
    );
    expectBad(FrameType.HELLO, hello({ features: [1] }));
  });

  it('K6: refuses a field given twice, and an unknown field before a known one', () => {
    expectBad(FrameType.DONE, '{"saved":1,"failed":0,"saved":2}');
    expectBad(FrameType.FILE_START, '{"id":0,"offset":0,"size":1,"\\u0069d":1}');
    expectBad(FrameType.DONE, '{"x":[],"saved":1,"failed":0}');
    expectBad(FrameType.DONE, '{"__proto__":{},"saved":1,"failed":0}');
  });

  it('K6: accepts escaped field names and strings that look like structure', () => {
    expect(decodeText(FrameType.DONE, '{"s\\u0061ved":1,"failed":0}')).toEqual({
      saved: 1,
      failed: 0,
    });
    const message = JSON.stringify({ code: 'ERR_X', message: '[[[{"\\"}]]] ,:' });
    expect(decodeText(FrameType.ERROR, message)).toEqual(JSON.parse(message));
  });

  it('K6: limitsForOffer caps REQUEST at what one item per offered file takes', () => {
    expect(limitsForOffer(0).maxRequestPayloadBytes).toBe(REQUEST_BASE_BYTES);
    expect(limitsForOffer(1).maxRequestPayloadBytes).toBe(REQUEST_BASE_BYTES + REQUEST_ITEM_BYTES);
    expect(limitsForOffer(LIMITS.maxEntries).maxRequestPayloadBytes).toBe(
      LIMITS.maxRequestPayloadBytes,
    );
    const widest = `{"files":[${Array(1000)
      .fill(`{"id":${LIMITS.maxEntries - 1},"offset":${MAX_SAFE}}`)
      .join(',')}]}`;
    expect(utf8Bytes(widest).byteLength).toBeLessThan(limitsForOffer(1000).maxRequestPayloadBytes);
    expect(maxPayloadFor(FrameType.REQUEST, limitsForOffer(3))).toBe(
      REQUEST_BASE_BYTES + 3 * REQUEST_ITEM_BYTES,
    );
  });
});
