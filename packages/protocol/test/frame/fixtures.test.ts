import { describe, expect, it } from 'vitest';
import { FrameType } from '../../src/constants.ts';
import { FrameDecoder } from '../../src/frame/decoder.ts';
import { concatFrame, encodeFrame, encodePreamble } from '../../src/frame/encode.ts';
import { decodeMessage, encodeMessage } from '../../src/messages/codec.ts';
import {
  byteByByte,
  concat,
  decodeChunks,
  frame,
  type PlainEvent,
  preamble,
  splitAt,
  toHex,
  utf8Bytes,
} from '../helpers.ts';
import { MESSAGE_FIXTURES } from './fixtures.ts';

/** Every way of cutting `bytes` into two chunks, then one byte at a time. */
function everySplit(bytes: Uint8Array): Uint8Array[][] {
  const ways: Uint8Array[][] = [];
  for (let at = 0; at <= bytes.byteLength; at++) ways.push(splitAt(bytes, [at]));
  ways.push(byteByByte(bytes));
  return ways;
}

describe('message frame fixtures', () => {
  describe.each(MESSAGE_FIXTURES)('$name', ({ type, message, json }) => {
    const wire = frame(type, json);
    const expected: PlainEvent[] = [{ kind: 'frame', type, payload: toHex(utf8Bytes(json)) }];

    it('encodes to the fixture bytes', () => {
      expect(toHex(concatFrame(type, encodeMessage(type, message)))).toBe(toHex(wire));
    });

    it('decodes the fixture bytes to the message', () => {
      const events = new FrameDecoder().push(wire);
      expect(events).toHaveLength(1);
      const [event] = events;
      expect(event?.kind).toBe('frame');
      if (event?.kind !== 'frame') return;
      expect(event.type).toBe(type);
      expect(decodeMessage(type, event.payload)).toEqual(message);
    });

    it('round-trips through encoder and decoder', () => {
      const [head, payload] = encodeFrame(type, encodeMessage(type, message));
      const [event] = new FrameDecoder().push(concat(head, payload));
      if (event?.kind !== 'frame') throw new Error('expected a frame event');
      const decoded = decodeMessage(type, event.payload);
      expect(decoded).toEqual(message);
      expect(toHex(encodeMessage(type, decoded))).toBe(toHex(payload));
    });

    it('decodes the same when fed byte by byte and split at every point', () => {
      for (const chunks of everySplit(wire)) expect(decodeChunks(chunks)).toEqual(expected);
    });
  });
});

describe('DATA frame fixture', () => {
  const bytes = utf8Bytes('hello');
  const wire = Uint8Array.of(0x05, 0, 0, 0, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f);

  it('encodes to a header and the very same payload array', () => {
    const [head, payload] = encodeFrame(FrameType.DATA, bytes);
    expect(toHex(head)).toBe('0500000005');
    expect(payload).toBe(bytes);
    expect(toHex(concatFrame(FrameType.DATA, bytes))).toBe(toHex(wire));
  });

  it('decodes to a view of the input, not a copy', () => {
    const events = new FrameDecoder().push(wire);
    expect(events).toHaveLength(1);
    const [event] = events;
    if (event?.kind !== 'data') throw new Error('expected a data event');
    expect(toHex(event.bytes)).toBe(toHex(bytes));
    expect(event.bytes.buffer).toBe(wire.buffer);
  });

  it('round-trips through encoder and decoder', () => {
    expect(decodeChunks(encodeFrame(FrameType.DATA, bytes))).toEqual([{ kind: 'data', bytes: toHex(bytes) }]);
  });

  it('decodes the same when fed byte by byte and split at every point', () => {
    for (const chunks of everySplit(wire)) {
      expect(decodeChunks(chunks)).toEqual([{ kind: 'data', bytes: toHex(bytes) }]);
    }
  });
});

describe('PING frame fixture', () => {
  const wire = Uint8Array.of(0x0b, 0, 0, 0, 0);
  const expected: PlainEvent[] = [{ kind: 'frame', type: FrameType.PING, payload: '' }];

  it('encodes to a bare header', () => {
    expect(toHex(concatFrame(FrameType.PING, new Uint8Array(0)))).toBe(toHex(wire));
  });

  it('decodes to a PING frame with an empty payload', () => {
    expect(decodeChunks([wire])).toEqual(expected);
  });

  it('round-trips through encoder and decoder', () => {
    expect(decodeChunks(encodeFrame(FrameType.PING, new Uint8Array(0)))).toEqual(expected);
  });

  it('decodes the same when fed byte by byte and split at every point', () => {
    for (const chunks of everySplit(wire)) expect(decodeChunks(chunks)).toEqual(expected);
  });
});

describe('preamble fixture', () => {
  const wire = Uint8Array.of(0x89, 0x46, 0x45, 0x52, 0x52, 0x59, 0x0d, 0x0a, 0x00, 0x01, 0x00, 0x00);
  const expected: PlainEvent[] = [{ kind: 'preamble', version: 1, flags: 0 }];

  it('encodes to the magic, version 1 and zero flags', () => {
    expect(toHex(encodePreamble())).toBe(toHex(wire));
    expect(toHex(preamble())).toBe(toHex(wire));
  });

  it('decodes to a preamble event', () => {
    expect(decodeChunks([wire], { expectPreamble: true })).toEqual(expected);
  });

  it('round-trips through encoder and decoder', () => {
    expect(decodeChunks([encodePreamble()], { expectPreamble: true })).toEqual(expected);
  });

  it('decodes the same when fed byte by byte and split at every point', () => {
    for (const chunks of everySplit(wire)) expect(decodeChunks(chunks, { expectPreamble: true })).toEqual(expected);
  });
});

describe('a whole session stream', () => {
  const data = utf8Bytes('hello');
  const wire = concat(
    preamble(),
    ...MESSAGE_FIXTURES.map(({ type, json }) => frame(type, json)),
    frame(FrameType.DATA, data),
    frame(FrameType.PING, new Uint8Array(0)),
  );
  const expected: PlainEvent[] = [
    { kind: 'preamble', version: 1, flags: 0 },
    ...MESSAGE_FIXTURES.map(({ type, json }): PlainEvent => ({ kind: 'frame', type, payload: toHex(utf8Bytes(json)) })),
    { kind: 'data', bytes: toHex(data) },
    { kind: 'frame', type: FrameType.PING, payload: '' },
  ];

  it('decodes the same in one chunk, byte by byte and split at every point', () => {
    expect(decodeChunks([wire], { expectPreamble: true })).toEqual(expected);
    for (const chunks of everySplit(wire)) expect(decodeChunks(chunks, { expectPreamble: true })).toEqual(expected);
  });
});
