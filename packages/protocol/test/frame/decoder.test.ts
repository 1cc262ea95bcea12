import { describe, expect, it } from 'vitest';
import { CHAT, FRAME_TYPE_NAMES, FrameType, LIMITS, type Limits } from '../../src/constants.ts';
import { ErrorCode, type FerryError, LimitError, ProtocolError } from '../../src/errors.ts';
import { concatFrame } from '../../src/frame/encode.ts';
import { FrameDecoder, type FrameEvent, maxPayloadFor } from '../../src/frame/decoder.ts';
import {
  byteByByte,
  concat,
  decodeChunks,
  frame,
  header,
  preamble,
  thrown,
  toHex,
  utf8Bytes,
} from '../helpers.ts';

/** Small caps so boundary frames stay small. */
const SMALL: Limits = {
  ...LIMITS,
  maxAuthPayloadBytes: 12,
  maxControlPayloadBytes: 16,
  maxRequestPayloadBytes: 24,
  maxOfferPayloadBytes: 32,
  maxDataPayloadBytes: 8,
};

const CONTROL_TYPES = [
  FrameType.HELLO,
  FrameType.FILE_START,
  FrameType.FILE_END,
  FrameType.FILE_ABORT,
  FrameType.FILE_ACK,
  FrameType.END,
  FrameType.DONE,
  FrameType.ERROR,
  FrameType.WELCOME,
  FrameType.SAY,
  FrameType.RELAY,
  FrameType.JOINED,
  FrameType.LEFT,
  FrameType.BYE,
  FrameType.DECLINE,
  FrameType.TX_START,
  FrameType.TX_END,
  FrameType.TX_ABORT,
  FrameType.TX_ACK,
  FrameType.CREDIT,
];

/** Each frame type with the cap that applies to it under `limits`. */
function caps(limits: Limits): { name: string; type: number; cap: number }[] {
  return [
    ...CONTROL_TYPES.map((type) => ({ type, cap: limits.maxControlPayloadBytes })),
    { type: FrameType.REQUEST, cap: limits.maxRequestPayloadBytes },
    { type: FrameType.OFFER, cap: limits.maxOfferPayloadBytes },
    { type: FrameType.DATA, cap: limits.maxDataPayloadBytes },
    { type: FrameType.PING, cap: 0 },
    { type: FrameType.AUTH, cap: limits.maxAuthPayloadBytes },
    { type: FrameType.AUTH_REPLY, cap: limits.maxAuthPayloadBytes },
    { type: FrameType.AUTH_CONFIRM, cap: limits.maxAuthPayloadBytes },
    { type: FrameType.PROPOSE, cap: limits.maxOfferPayloadBytes },
    { type: FrameType.ACCEPT, cap: limits.maxRequestPayloadBytes },
    // A u32 offer id and at most 1 MiB of file bytes, whatever the other limits say.
    { type: FrameType.TX_DATA, cap: 4 + CHAT.maxTxDataBytes },
  ].map((entry) => ({ ...entry, name: FRAME_TYPE_NAMES.get(entry.type)! }));
}

function hexCases(values: readonly number[]): { value: number; hex: string }[] {
  return values.map((value) => ({ value, hex: value.toString(16).padStart(2, '0') }));
}

function expectCode(
  error: unknown,
  type: new (...args: never[]) => FerryError,
  code: string,
): void {
  expect(error).toBeInstanceOf(type);
  expect(error).toMatchObject({ code });
}

describe('maxPayloadFor', () => {
  it('gives each known frame type its cap and unknown types none', () => {
    const listed = caps(LIMITS);
    expect(listed.map(({ type }) => type).sort((a, b) => a - b)).toEqual(
      [...FRAME_TYPE_NAMES.keys()].sort((a, b) => a - b),
    );
    for (const { type, cap } of listed) expect(maxPayloadFor(type)).toBe(cap);
    expect(maxPayloadFor(0x00)).toBeUndefined();
    expect(maxPayloadFor(0x1f)).toBeUndefined();
    expect(maxPayloadFor(0xff)).toBeUndefined();
  });
});

describe('FrameDecoder limits (lowered caps)', () => {
  describe.each(caps(SMALL))('$name', ({ type, cap }) => {
    it('A2: accepts a frame exactly at its cap', () => {
      const payload = new Uint8Array(cap).fill(0x61);
      const events = decodeChunks([frame(type, payload)], { limits: SMALL });
      if (type === FrameType.DATA)
        expect(events).toEqual([{ kind: 'data', bytes: '61'.repeat(cap) }]);
      else expect(events).toEqual([{ kind: 'frame', type, payload: '61'.repeat(cap) }]);
    });

    it('A1: rejects a header announcing cap + 1 before any payload arrives', () => {
      const decoder = new FrameDecoder({ limits: SMALL });
      expectCode(
        thrown(() => decoder.push(header(type, cap + 1))),
        LimitError,
        ErrorCode.LIMIT_EXCEEDED,
      );
    });

    it('A1: rejects a header announcing cap + 1 on its last byte when fed byte by byte', () => {
      const decoder = new FrameDecoder({ limits: SMALL });
      const bytes = byteByByte(header(type, cap + 1));
      for (const chunk of bytes.slice(0, -1)) expect(decoder.push(chunk)).toEqual([]);
      expectCode(
        thrown(() => decoder.push(bytes.at(-1)!)),
        LimitError,
        ErrorCode.LIMIT_EXCEEDED,
      );
    });
  });
});

describe('FrameDecoder limits (default caps, header only)', () => {
  describe.each(caps(LIMITS))('$name', ({ type, cap }) => {
    it('A2: accepts a header announcing exactly the default cap', () => {
      const decoder = new FrameDecoder();
      const events = decoder.push(header(type, cap));
      if (cap === 0) {
        expect(events).toEqual([{ kind: 'frame', type, payload: new Uint8Array(0) }]);
        expect(decoder.midFrame).toBe(false);
      } else {
        expect(events).toEqual([]);
        expect(decoder.midFrame).toBe(true);
      }
    });

    it('A1: rejects a header announcing the default cap + 1 immediately', () => {
      expectCode(
        thrown(() => new FrameDecoder().push(header(type, cap + 1))),
        LimitError,
        ErrorCode.LIMIT_EXCEEDED,
      );
    });

    it('A1: rejects a header announcing 0xFFFFFFFF before buffering', () => {
      const chunk = concat(header(type, 0xffff_ffff), new Uint8Array(64));
      expectCode(
        thrown(() => new FrameDecoder().push(chunk)),
        LimitError,
        ErrorCode.LIMIT_EXCEEDED,
      );
    });

    it('A3: rejects a length with the top bit set (0x80000000) as too large, not negative', () => {
      expectCode(
        thrown(() => new FrameDecoder().push(header(type, 0x8000_0000))),
        LimitError,
        ErrorCode.LIMIT_EXCEEDED,
      );
    });
  });

  it('A2: accepts a whole DATA frame of exactly 4 MiB and a control frame of exactly 64 KiB', () => {
    const data = new Uint8Array(LIMITS.maxDataPayloadBytes).fill(1);
    const control = new Uint8Array(LIMITS.maxControlPayloadBytes).fill(0x20);
    const decoder = new FrameDecoder();
    const events = [
      ...decoder.push(frame(FrameType.DATA, data)),
      ...decoder.push(frame(FrameType.HELLO, control)),
    ];
    decoder.end();
    expect(events.map((event) => event.kind)).toEqual(['data', 'frame']);
    expect(events[0]?.kind === 'data' && events[0].bytes.byteLength).toBe(
      LIMITS.maxDataPayloadBytes,
    );
    expect(events[1]?.kind === 'frame' && events[1].payload.byteLength).toBe(
      LIMITS.maxControlPayloadBytes,
    );
  });

  it('A3: reads a length with the top bit set as unsigned when the cap allows it', () => {
    const limits: Limits = { ...LIMITS, maxDataPayloadBytes: 0x8000_0000 };
    const decoder = new FrameDecoder({ limits });
    expect(decoder.push(header(FrameType.DATA, 0x8000_0000))).toEqual([]);
    const events = decoder.push(Uint8Array.of(7, 8, 9));
    expect(events).toHaveLength(1);
    expect(events[0]?.kind === 'data' && [...events[0].bytes]).toEqual([7, 8, 9]);
    expect(decoder.midFrame).toBe(true);
    expectCode(
      thrown(() => decoder.end()),
      ProtocolError,
      ErrorCode.TRUNCATED,
    );
  });
});

describe('FrameDecoder preamble', () => {
  it('A13: rejects an HTTP request at its first byte', () => {
    const decoder = new FrameDecoder({ expectPreamble: true });
    expectCode(
      thrown(() => decoder.push(utf8Bytes('G'))),
      ProtocolError,
      ErrorCode.BAD_MAGIC,
    );
    expectCode(
      thrown(() =>
        new FrameDecoder({ expectPreamble: true }).push(
          utf8Bytes('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        ),
      ),
      ProtocolError,
      ErrorCode.BAD_MAGIC,
    );
  });

  it('A13: rejects the first bytes of a TLS ClientHello', () => {
    const decoder = new FrameDecoder({ expectPreamble: true });
    expectCode(
      thrown(() => decoder.push(Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00))),
      ProtocolError,
      ErrorCode.BAD_MAGIC,
    );
  });

  it('A13: rejects a magic that goes wrong in its last byte, as soon as that byte arrives', () => {
    const bad = preamble();
    bad[7] = 0x00;
    const decoder = new FrameDecoder({ expectPreamble: true });
    const chunks = byteByByte(bad);
    for (const chunk of chunks.slice(0, 7)) expect(decoder.push(chunk)).toEqual([]);
    expectCode(
      thrown(() => decoder.push(chunks[7]!)),
      ProtocolError,
      ErrorCode.BAD_MAGIC,
    );
  });

  it.each([0, 2, 0xffff])('A13: rejects protocol version %i', (version) => {
    const decoder = new FrameDecoder({ expectPreamble: true });
    expectCode(
      thrown(() => decoder.push(preamble(version))),
      ProtocolError,
      ErrorCode.UNSUPPORTED_VERSION,
    );
  });

  it('accepts the TLS flag, the only one this version knows', () => {
    const events = new FrameDecoder({ expectPreamble: true }).push(preamble(1, 1));
    expect(events).toEqual([{ kind: 'preamble', version: 1, flags: 1 }]);
  });

  it.each(hexCases([2, 3, 0x8000, 0xffff]))(
    'A7: rejects unknown preamble flags 0x$hex',
    ({ value: flags }) => {
      const decoder = new FrameDecoder({ expectPreamble: true });
      expectCode(
        thrown(() => decoder.push(preamble(1, flags))),
        ProtocolError,
        ErrorCode.BAD_MESSAGE,
      );
    },
  );

  it('reads frames that follow the preamble in the same chunk', () => {
    const events = decodeChunks([concat(preamble(), frame(FrameType.END, '{}'))], {
      expectPreamble: true,
    });
    expect(events.map((event) => event.kind)).toEqual(['preamble', 'frame']);
  });

  it('without expectPreamble, treats the magic as a frame header and rejects it', () => {
    expectCode(
      thrown(() => new FrameDecoder().push(preamble())),
      ProtocolError,
      ErrorCode.UNKNOWN_FRAME_TYPE,
    );
  });
});

describe('FrameDecoder hostile frames', () => {
  it.each(hexCases([0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff]))(
    'A7: rejects unknown frame type 0x$hex from its header alone',
    ({ value: type }) => {
      expectCode(
        thrown(() => new FrameDecoder().push(header(type, 0))),
        ProtocolError,
        ErrorCode.UNKNOWN_FRAME_TYPE,
      );
    },
  );

  it('A5: rejects a zero-length DATA frame', () => {
    expectCode(
      thrown(() => new FrameDecoder().push(header(FrameType.DATA, 0))),
      ProtocolError,
      ErrorCode.BAD_MESSAGE,
    );
  });

  it.each([0, 1, 4])(
    'A5: rejects a TX_DATA frame of %i bytes: it needs the offer id and at least one byte',
    (length) => {
      expectCode(
        thrown(() => new FrameDecoder().push(header(FrameType.TX_DATA, length))),
        ProtocolError,
        ErrorCode.BAD_MESSAGE,
      );
    },
  );

  it('accepts a TX_DATA frame of 5 bytes, whole, as a frame', () => {
    const payload = Uint8Array.of(0, 0, 0, 1, 0x61);
    expect(decodeChunks([frame(FrameType.TX_DATA, payload)])).toEqual([
      { kind: 'frame', type: FrameType.TX_DATA, payload: '0000000161' },
    ]);
  });

  it('gathers a TX_DATA payload in memory from `allocate`, never a view of the chunk it came in', () => {
    const sizes: number[] = [];
    const decoder = new FrameDecoder({
      allocate: (bytes) => {
        sizes.push(bytes);
        return new Uint8Array(bytes);
      },
    });
    const chunk = frame(FrameType.TX_DATA, Uint8Array.of(0, 0, 0, 2, 0x61, 0x62));
    const [event] = decoder.push(chunk);
    chunk.fill(0);
    expect(sizes).toEqual([6]);
    expect(event?.kind === 'frame' && toHex(event.payload)).toBe('000000026162');
  });

  it('rejects a PING that announces a payload', () => {
    expectCode(
      thrown(() => new FrameDecoder().push(header(FrameType.PING, 1))),
      LimitError,
      ErrorCode.LIMIT_EXCEEDED,
    );
  });

  it('passes a zero-length control frame through for the message codec to refuse', () => {
    expect(decodeChunks([header(FrameType.HELLO, 0)])).toEqual([
      { kind: 'frame', type: FrameType.HELLO, payload: '' },
    ]);
  });

  it('refuses every later chunk once it has failed', () => {
    const decoder = new FrameDecoder();
    thrown(() => decoder.push(header(0xff, 0)));
    expect(thrown(() => decoder.push(frame(FrameType.END, '{}')))).toBeInstanceOf(ProtocolError);
  });

  it('emits many frames from one chunk in order', () => {
    const chunk = concat(
      frame(FrameType.END, '{}'),
      frame(FrameType.PING, ''),
      frame(FrameType.DATA, 'xy'),
      frame(FrameType.END, '{}'),
    );
    expect(decodeChunks([chunk]).map((event) => event.kind)).toEqual([
      'frame',
      'frame',
      'data',
      'frame',
    ]);
  });

  it('emits DATA pieces as they arrive, before the frame is complete', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(concat(header(FrameType.DATA, 4), Uint8Array.of(1, 2)))).toHaveLength(1);
    expect(decoder.midFrame).toBe(true);
    const events = decoder.push(Uint8Array.of(3, 4));
    expect(events[0]?.kind === 'data' && [...events[0].bytes]).toEqual([3, 4]);
    expect(decoder.midFrame).toBe(false);
  });

  it('ignores an empty chunk', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(new Uint8Array(0))).toEqual([]);
    expect(decoder.midFrame).toBe(false);
  });

  it('counts completed frames', () => {
    const decoder = new FrameDecoder();
    decoder.push(
      concat(frame(FrameType.END, '{}'), frame(FrameType.DATA, 'a'), header(FrameType.END, 2)),
    );
    expect(decoder.framesCompleted).toBe(2);
  });
});

describe('FrameDecoder end()', () => {
  it.each([1, 2, 3, 4])('A6: throws ERR_TRUNCATED after a partial header of %i bytes', (bytes) => {
    const decoder = new FrameDecoder();
    decoder.push(header(FrameType.HELLO, 2).subarray(0, bytes));
    expectCode(
      thrown(() => decoder.end()),
      ProtocolError,
      ErrorCode.TRUNCATED,
    );
  });

  it('A6: throws ERR_TRUNCATED after a header and part of a control payload', () => {
    const decoder = new FrameDecoder();
    decoder.push(frame(FrameType.DONE, '{"saved":1,"failed":0}').subarray(0, 12));
    expectCode(
      thrown(() => decoder.end()),
      ProtocolError,
      ErrorCode.TRUNCATED,
    );
  });

  it('A6: throws ERR_TRUNCATED after a header and part of a DATA payload', () => {
    const decoder = new FrameDecoder();
    decoder.push(frame(FrameType.DATA, 'hello').subarray(0, 7));
    expectCode(
      thrown(() => decoder.end()),
      ProtocolError,
      ErrorCode.TRUNCATED,
    );
  });

  it('A6: throws ERR_TRUNCATED inside the preamble, or when it never came', () => {
    const partial = new FrameDecoder({ expectPreamble: true });
    partial.push(preamble().subarray(0, 5));
    expectCode(
      thrown(() => partial.end()),
      ProtocolError,
      ErrorCode.TRUNCATED,
    );
    const silent = new FrameDecoder({ expectPreamble: true });
    expectCode(
      thrown(() => silent.end()),
      ProtocolError,
      ErrorCode.TRUNCATED,
    );
  });

  it('returns quietly between frames', () => {
    const decoder = new FrameDecoder({ expectPreamble: true });
    decoder.push(concat(preamble(), frame(FrameType.END, '{}')));
    expect(() => decoder.end()).not.toThrow();
  });
});

describe('FrameDecoder with a reused input buffer', () => {
  it('keeps a control frame intact when the caller overwrites each Buffer chunk after push', () => {
    const payload = new TextEncoder().encode(
      JSON.stringify({ code: 'ERR_INTERNAL', message: 'x'.repeat(300) }),
    );
    const stream = concatFrame(FrameType.ERROR, payload);
    const decoder = new FrameDecoder();
    const reused = Buffer.alloc(64);
    const events: FrameEvent[] = [];
    for (let at = 0; at < stream.byteLength; at += reused.byteLength) {
      const piece = stream.subarray(at, at + reused.byteLength);
      reused.set(piece);
      events.push(...decoder.push(reused.subarray(0, piece.byteLength)));
      reused.fill(0xff);
    }
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.kind === 'frame' && Buffer.from(event.payload).equals(Buffer.from(payload))).toBe(
      true,
    );
  });
});
