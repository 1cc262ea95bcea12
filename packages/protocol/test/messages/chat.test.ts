/**
 * The chat extension's messages (PROTOCOL.md §12.3): each decodes its vector, and the schema
 * refuses what §12.3 and §12.2 refuse, with ERR_BAD_MESSAGE.
 */
import { describe, expect, it } from 'vitest';
import { CHAT, CHAT_FRAME_TYPES, FrameType, LIMITS } from '../../src/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/errors.ts';
import { decodeMessage, encodeMessage, isMessageType } from '../../src/messages/codec.ts';
import type { MessageType } from '../../src/messages/schemas.ts';
import { thrown, utf8Bytes } from '../helpers.ts';
import { CHAT_VECTORS } from '../vectors/inputs.ts';

const KEY = 'ab'.repeat(32);
const DIGEST = 'cd'.repeat(32);

function decodeText(type: MessageType, text: string): unknown {
  return decodeMessage(type, utf8Bytes(text));
}

function decodeValue(type: MessageType, value: unknown): unknown {
  return decodeText(type, JSON.stringify(value));
}

function expectBad(type: MessageType, value: unknown): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const error = thrown(() => decodeText(type, text));
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error).toMatchObject({ code: ErrorCode.BAD_MESSAGE });
}

/** The JSON vectors of §12.10 with their frame type (the first byte of the frame). */
const jsonVectors = CHAT_VECTORS.filter((vector) => vector.json !== undefined).map((vector) => ({
  name: vector.name,
  type: vector.bytes[0] as MessageType,
  value: JSON.parse(vector.json!) as Record<string, unknown>,
  json: vector.json!,
}));

/** A valid message of each chat type, to vary one field at a time. */
const VALID = {
  welcome: {
    session: '00112233445566778899aabbccddeeff',
    sender: { name: 'bob', host: 'laptop' },
    you: 2,
    name: 'carol',
    peers: [{ peer: 1, name: 'alice', key: KEY }],
  },
  propose: { offer: 1, entries: [{ kind: 'file', path: 'a.txt', size: 5 }] },
  accept: { offer: 1, files: [{ id: 0, offset: 0 }] },
  decline: { offer: 1, code: 'ERR_DECLINED' },
  txStart: { offer: 1, id: 0, offset: 0, size: 5 },
  txEnd: { offer: 1, id: 0, sha256: DIGEST },
  txAbort: { offer: 1, id: 0, code: 'ERR_SOURCE_CHANGED', message: 'changed' },
  txAck: { offer: 1, id: 0, ok: true, sha256: DIGEST },
  txAckFailed: { offer: 1, id: 0, ok: false, code: 'ERR_DIGEST_MISMATCH' },
  credit: { offer: 1, bytes: 2 * 1024 * 1024 },
} as const;

/** Every message that carries an offer id. */
const WITH_OFFER: readonly { type: MessageType; value: Record<string, unknown> }[] = [
  { type: FrameType.PROPOSE, value: VALID.propose },
  { type: FrameType.ACCEPT, value: VALID.accept },
  { type: FrameType.DECLINE, value: VALID.decline },
  { type: FrameType.TX_START, value: VALID.txStart },
  { type: FrameType.TX_END, value: VALID.txEnd },
  { type: FrameType.TX_ABORT, value: VALID.txAbort },
  { type: FrameType.TX_ACK, value: VALID.txAck },
  { type: FrameType.TX_ACK, value: VALID.txAckFailed },
  { type: FrameType.CREDIT, value: VALID.credit },
];

describe('chat frame types', () => {
  it('are 0x10 to 0x1E, every one a JSON message but TX_DATA', () => {
    expect([...CHAT_FRAME_TYPES].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 15 }, (_, i) => 0x10 + i),
    );
    for (const type of CHAT_FRAME_TYPES)
      expect(isMessageType(type)).toBe(type !== FrameType.TX_DATA);
  });

  it('have a JSON vector for every JSON type', () => {
    const types = new Set(jsonVectors.map((vector) => vector.type));
    for (const type of CHAT_FRAME_TYPES)
      if (type !== FrameType.TX_DATA) expect(types.has(type as MessageType)).toBe(true);
  });
});

describe.each(jsonVectors)('$name (§12.10)', ({ type, value, json }) => {
  it('decodes its vector, and encodes back to the same text', () => {
    const decoded = decodeText(type, json);
    expect(decoded).toEqual(value);
    expect(new TextDecoder().decode(encodeMessage(type, decoded as never))).toBe(json);
  });

  it('A9: refuses an unknown field', () => {
    expectBad(type, { ...value, extra: 1 });
  });

  it.each(Object.keys(value))('A9: refuses the message without `%s`', (field) => {
    const { [field]: _, ...rest } = value;
    expectBad(type, rest);
  });
});

describe('WELCOME', () => {
  it('A9: refuses an unknown field in `sender` or in a peer', () => {
    expectBad(FrameType.WELCOME, {
      ...VALID.welcome,
      sender: { ...VALID.welcome.sender, port: 1 },
    });
    expectBad(FrameType.WELCOME, {
      ...VALID.welcome,
      peers: [{ ...VALID.welcome.peers[0], address: 'x' }],
    });
  });

  it('A14: takes 32 peers and refuses 33 (maxPeers)', () => {
    const peers = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ peer: i + 3, name: `p${i}`, key: KEY }));
    expect(
      decodeValue(FrameType.WELCOME, { ...VALID.welcome, peers: peers(CHAT.maxPeers) }),
    ).toMatchObject({
      peers: peers(CHAT.maxPeers),
    });
    expectBad(FrameType.WELCOME, { ...VALID.welcome, peers: peers(CHAT.maxPeers + 1) });
  });

  it('takes an empty list of peers and an empty key (a conversation in clear)', () => {
    expect(decodeValue(FrameType.WELCOME, { ...VALID.welcome, peers: [] })).toMatchObject({
      peers: [],
    });
    const clear = { ...VALID.welcome, peers: [{ peer: 1, name: 'alice', key: '' }] };
    expect(decodeValue(FrameType.WELCOME, clear)).toEqual(clear);
  });

  it.each(['AB'.repeat(32), 'ab'.repeat(31), `${'ab'.repeat(32)}0`, 'g'.repeat(64), ' '])(
    'refuses the key %j: 64 lowercase hex digits or nothing',
    (key) => {
      expectBad(FrameType.WELCOME, { ...VALID.welcome, peers: [{ peer: 1, name: 'alice', key }] });
      expectBad(FrameType.JOINED, { peer: 3, name: 'dave', key });
    },
  );

  it.each(['00112233445566778899AABBCCDDEEFF', '0011223344556677', ''])(
    'refuses the session %j',
    (session) => {
      expectBad(FrameType.WELCOME, { ...VALID.welcome, session });
    },
  );

  it('refuses peer id 0 (the listener, which never travels) for `you` and in `peers`', () => {
    expectBad(FrameType.WELCOME, { ...VALID.welcome, you: 0 });
    expectBad(FrameType.WELCOME, {
      ...VALID.welcome,
      peers: [{ peer: 0, name: 'alice', key: KEY }],
    });
  });

  it('refuses a `sender.host` over 128 UTF-8 bytes, and takes one of 128', () => {
    const sender = (host: string) => ({ ...VALID.welcome, sender: { name: 'bob', host } });
    expect(decodeValue(FrameType.WELCOME, sender('h'.repeat(LIMITS.maxNameBytes)))).toBeDefined();
    expectBad(FrameType.WELCOME, sender('h'.repeat(LIMITS.maxNameBytes + 1)));
  });
});

describe('chat names in WELCOME and JOINED (§12.2)', () => {
  /** Where a chat name goes in each message. */
  const places: readonly { where: string; type: MessageType; with: (name: string) => unknown }[] = [
    {
      where: 'WELCOME sender.name',
      type: FrameType.WELCOME,
      with: (name) => ({ ...VALID.welcome, sender: { name, host: 'laptop' } }),
    },
    {
      where: 'WELCOME name',
      type: FrameType.WELCOME,
      with: (name) => ({ ...VALID.welcome, name }),
    },
    {
      where: 'WELCOME peers name',
      type: FrameType.WELCOME,
      with: (name) => ({ ...VALID.welcome, peers: [{ peer: 1, name, key: KEY }] }),
    },
    { where: 'JOINED name', type: FrameType.JOINED, with: (name) => ({ peer: 3, name, key: KEY }) },
  ];

  describe.each(places)('$where', ({ type, with: withName }) => {
    it.each([
      ['empty', ''],
      ['129 bytes', 'n'.repeat(LIMITS.maxNameBytes + 1)],
      ['129 bytes of 2-byte letters and one more', `${'é'.repeat(64)}a`],
      ['ESC', 'ev\x1b[2Jil'],
      ['a newline', 'two\nlines'],
      ['CR', 'a\rb'],
      ['a C1 control', 'a\u009bb'],
      ['U+202E', 'adm\u202enimda'],
      ['U+2066', '\u2066alice'],
      ['U+200F', 'alice\u200f'],
      ['U+2028', 'a\u2028b'],
      ['a lone surrogate', 'a\ud800'],
    ])('refuses a name with %s', (_, name) => {
      expectBad(type, withName(name));
    });

    it.each([
      ['128 bytes', 'n'.repeat(LIMITS.maxNameBytes)],
      ['letters of any script', 'Zoë 日本 مرحبا'],
      ['an emoji sequence with a zero-width joiner', '\u{1f468}\u200d\u{1f469}'],
    ])('takes a name of %s', (_, name) => {
      expect(decodeValue(type, withName(name))).toEqual(withName(name));
    });
  });
});

describe('peer ids', () => {
  it.each([
    ['RELAY', FrameType.RELAY, (peer: unknown) => ({ peer, text: 'hi' })],
    ['JOINED', FrameType.JOINED, (peer: unknown) => ({ peer, name: 'dave', key: KEY })],
    ['LEFT', FrameType.LEFT, (peer: unknown) => ({ peer, reason: 'quit' })],
  ] as const)(
    '%s takes peer 1 and 2^53-1, and refuses 0, -1, 1.5, 2^53 and "1"',
    (_, type, make) => {
      expect(decodeValue(type, make(1))).toEqual(make(1));
      expect(decodeValue(type, make(Number.MAX_SAFE_INTEGER))).toEqual(
        make(Number.MAX_SAFE_INTEGER),
      );
      for (const peer of [0, -1, 1.5, '1']) expectBad(type, make(peer));
      expectBad(type, JSON.stringify(make(0)).replace('"peer":0', '"peer":9007199254740992'));
    },
  );
});

describe('LEFT', () => {
  it.each(['quit', 'lost', 'cut-off'])('takes the reason %j', (reason) => {
    expect(decodeValue(FrameType.LEFT, { peer: 1, reason })).toEqual({ peer: 1, reason });
  });

  it.each(['kicked', 'QUIT', 'cut_off', '', 'quit ', 1])('refuses the reason %j', (reason) => {
    expectBad(FrameType.LEFT, { peer: 1, reason });
  });
});

describe('BYE', () => {
  it('is {} and nothing else', () => {
    expect(decodeText(FrameType.BYE, '{}')).toEqual({});
    expectBad(FrameType.BYE, { reason: 'quit' });
    expectBad(FrameType.BYE, '[]');
  });
});

describe('offer ids', () => {
  describe.each(
    WITH_OFFER.map((entry) => ({
      ...entry,
      name: `${entry.type.toString(16)} ${JSON.stringify(entry.value).slice(0, 40)}`,
    })),
  )('frame 0x$name', ({ type, value }) => {
    it('takes offer ids 1 and 2^32-1', () => {
      expect(decodeValue(type, { ...value, offer: 1 })).toEqual({ ...value, offer: 1 });
      expect(decodeValue(type, { ...value, offer: CHAT.maxOfferId })).toEqual({
        ...value,
        offer: CHAT.maxOfferId,
      });
    });

    it('refuses offer ids 0, 2^32, -1, 1.5 and "1"', () => {
      for (const offer of [0, 2 ** 32, -1, 1.5, '1']) expectBad(type, { ...value, offer });
    });
  });
});

describe('transfer messages', () => {
  it('CREDIT refuses 0 bytes, and takes 1 and 2^53-1', () => {
    expectBad(FrameType.CREDIT, { offer: 1, bytes: 0 });
    expect(decodeValue(FrameType.CREDIT, { offer: 1, bytes: 1 })).toEqual({ offer: 1, bytes: 1 });
    const most = { offer: 1, bytes: Number.MAX_SAFE_INTEGER };
    expect(decodeValue(FrameType.CREDIT, most)).toEqual(most);
  });

  it('TX_ACK takes a digest only with ok true and a code only with ok false', () => {
    expectBad(FrameType.TX_ACK, { offer: 1, id: 0, ok: true, code: 'ERR_DIGEST_MISMATCH' });
    expectBad(FrameType.TX_ACK, { offer: 1, id: 0, ok: false, sha256: DIGEST });
    expectBad(FrameType.TX_ACK, { ...VALID.txAck, code: 'ERR_DIGEST_MISMATCH' });
  });

  it('A4: TX_START refuses sizes and offsets above 2^53-1, and entry ids from maxEntries on', () => {
    expectBad(
      FrameType.TX_START,
      JSON.stringify(VALID.txStart).replace('"size":5', '"size":9007199254740992'),
    );
    expectBad(
      FrameType.TX_START,
      JSON.stringify(VALID.txStart).replace('"offset":0', '"offset":9007199254740992'),
    );
    expectBad(FrameType.TX_START, { ...VALID.txStart, id: LIMITS.maxEntries });
    expect(
      decodeValue(FrameType.TX_START, { ...VALID.txStart, id: LIMITS.maxEntries - 1 }),
    ).toBeDefined();
  });

  it('TX_END refuses a digest that is not 64 lowercase hex digits', () => {
    expectBad(FrameType.TX_END, { ...VALID.txEnd, sha256: DIGEST.toUpperCase() });
    expectBad(FrameType.TX_END, { ...VALID.txEnd, sha256: DIGEST.slice(2) });
  });

  it('DECLINE and TX_ABORT refuse a code that is not an ERR_ code', () => {
    expectBad(FrameType.DECLINE, { offer: 1, code: 'declined' });
    expectBad(FrameType.TX_ABORT, { ...VALID.txAbort, code: 'ERR_' });
  });

  it('TX_ABORT takes a message of 1024 UTF-8 bytes and refuses 1025', () => {
    const message = (bytes: number) => ({ ...VALID.txAbort, message: 'm'.repeat(bytes) });
    expect(decodeValue(FrameType.TX_ABORT, message(LIMITS.maxErrorMessageBytes))).toEqual(
      message(LIMITS.maxErrorMessageBytes),
    );
    expectBad(FrameType.TX_ABORT, message(LIMITS.maxErrorMessageBytes + 1));
  });

  it('PROPOSE takes OFFER entries (kinds file and dir) and refuses any other form', () => {
    const entries = [
      { kind: 'dir', path: 'docs' },
      { kind: 'file', path: 'docs/a.txt', size: 0 },
    ];
    expect(decodeValue(FrameType.PROPOSE, { offer: 1, entries })).toEqual({ offer: 1, entries });
    expectBad(FrameType.PROPOSE, {
      offer: 1,
      entries: [{ kind: 'link', path: 'x', target: '/etc' }],
    });
    expectBad(FrameType.PROPOSE, { offer: 1, entries: [{ kind: 'dir', path: 'x', size: 1 }] });
    expectBad(FrameType.PROPOSE, {
      offer: 1,
      entries: [{ kind: 'file', path: 'x', size: 1, mode: 0o777 }],
    });
  });

  it('ACCEPT takes REQUEST items and refuses an item with another field', () => {
    expect(decodeValue(FrameType.ACCEPT, { offer: 1, files: [] })).toEqual({ offer: 1, files: [] });
    expectBad(FrameType.ACCEPT, { offer: 1, files: [{ id: 0, offset: 0, size: 5 }] });
    expectBad(FrameType.ACCEPT, { offer: 1, files: [{ id: 0 }] });
  });
});
