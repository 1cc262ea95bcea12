/**
 * The resume feature's message forms (PROTOCOL.md §13, §4.2, §4.3, §4.13): OFFER and WELCOME
 * with and without `resume`, REQUEST's and ACCEPT's prefix items, AUTH `resume`. The schema checks forms; which
 * combinations a REQUEST may use is the sender's check (§13.3).
 */
import { describe, expect, it } from 'vitest';
import { FrameType } from '../../src/constants.ts';
import { ErrorCode, ProtocolError } from '../../src/errors.ts';
import { decodeMessage, encodeMessage } from '../../src/messages/codec.ts';
import type { MessageType } from '../../src/messages/schemas.ts';
import { thrown, utf8Bytes } from '../helpers.ts';

const TICKET = '0123456789abcdef'.repeat(4);
const PREFIX = 'ab'.repeat(32);

function expectBad(type: MessageType, text: string): void {
  const error = thrown(() => decodeMessage(type, utf8Bytes(text)));
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error).toMatchObject({ code: ErrorCode.BAD_MESSAGE });
}

const base = {
  session: '00112233445566778899aabbccddeeff',
  sender: { name: 'bob', host: 'laptop' },
  entries: [{ kind: 'file' as const, path: 'a.txt', size: 5 }],
};

const offer = (fields: Record<string, unknown>) => JSON.stringify({ ...base, ...fields });
const request = (files: unknown[]) => JSON.stringify({ files });

describe('OFFER resume', () => {
  it('D6: accepts an OFFER without resume, with a 64-hex ticket, and with an empty ticket (clear mode)', () => {
    expect(decodeMessage(FrameType.OFFER, utf8Bytes(offer({})))).toEqual(base);
    expect(
      decodeMessage(FrameType.OFFER, utf8Bytes(offer({ resume: { ticket: TICKET } }))),
    ).toEqual({
      ...base,
      resume: { ticket: TICKET },
    });
    expect(decodeMessage(FrameType.OFFER, utf8Bytes(offer({ resume: { ticket: '' } })))).toEqual({
      ...base,
      resume: { ticket: '' },
    });
  });

  it('D6: writes resume last, and round-trips it', () => {
    const value = { resume: { ticket: TICKET }, ...base };
    const text = new TextDecoder().decode(encodeMessage(FrameType.OFFER, value));
    expect(text).toBe(offer({ resume: { ticket: TICKET } }));
  });

  it('D6: refuses an unknown field inside resume, and a resume without ticket', () => {
    expectBad(FrameType.OFFER, offer({ resume: { ticket: TICKET, expires: 1 } }));
    expectBad(FrameType.OFFER, offer({ resume: { ticket: TICKET, ticket2: TICKET } }));
    expectBad(FrameType.OFFER, offer({ resume: {} }));
    expectBad(FrameType.OFFER, offer({ resume: TICKET }));
    expectBad(FrameType.OFFER, offer({ resume: null }));
  });

  it('D6: refuses a ticket that is not 64 lowercase hex digits or empty', () => {
    for (const ticket of [
      TICKET.slice(1),
      `${TICKET}0`,
      TICKET.toUpperCase(),
      `${TICKET.slice(1)}g`,
      ' ',
      0,
    ]) {
      expectBad(FrameType.OFFER, offer({ resume: { ticket } }));
    }
  });
});

describe('REQUEST items', () => {
  it('accepts an offset item and a prefix item', () => {
    const files = [
      { id: 0, offset: 0 },
      { id: 1, offset: 4, prefix: PREFIX },
    ];
    expect(decodeMessage(FrameType.REQUEST, utf8Bytes(request(files)))).toEqual({ files });
  });

  it('refuses a prefix that is not 64 lowercase hex digits', () => {
    for (const prefix of [
      PREFIX.toUpperCase(),
      PREFIX.slice(1),
      `${PREFIX}0`,
      `${PREFIX.slice(1)}x`,
      '',
      7,
    ]) {
      expectBad(FrameType.REQUEST, request([{ id: 1, offset: 4, prefix }]));
    }
  });

  it('refuses an unknown field in an item, and a prefix item without offset', () => {
    expectBad(FrameType.REQUEST, request([{ id: 1, offset: 4, prefix: PREFIX, length: 1 }]));
    expectBad(FrameType.REQUEST, request([{ id: 1, prefix: PREFIX }]));
  });
});

const welcomeBase = {
  session: '00112233445566778899aabbccddeeff',
  sender: { name: 'bob', host: 'laptop' },
  you: 1,
  name: 'carol',
  peers: [],
};
const welcome = (fields: Record<string, unknown>) => JSON.stringify({ ...welcomeBase, ...fields });

describe('WELCOME resume (§13.11)', () => {
  it('D6: accepts a WELCOME without resume, with a 64-hex ticket, and with an empty ticket (clear mode)', () => {
    expect(decodeMessage(FrameType.WELCOME, utf8Bytes(welcome({})))).toEqual(welcomeBase);
    for (const ticket of [TICKET, '']) {
      expect(decodeMessage(FrameType.WELCOME, utf8Bytes(welcome({ resume: { ticket } })))).toEqual({
        ...welcomeBase,
        resume: { ticket },
      });
    }
  });

  it('D6: writes resume last', () => {
    const value = { resume: { ticket: TICKET }, ...welcomeBase };
    const text = new TextDecoder().decode(encodeMessage(FrameType.WELCOME, value));
    expect(text).toBe(welcome({ resume: { ticket: TICKET } }));
  });

  it('D6: refuses a bad ticket, an unknown field inside resume, and a resume that is not an object', () => {
    for (const ticket of [TICKET.slice(1), TICKET.toUpperCase(), `${TICKET}0`, ' ', 0]) {
      expectBad(FrameType.WELCOME, welcome({ resume: { ticket } }));
    }
    expectBad(FrameType.WELCOME, welcome({ resume: { ticket: TICKET, expires: 1 } }));
    expectBad(FrameType.WELCOME, welcome({ resume: {} }));
    expectBad(FrameType.WELCOME, welcome({ resume: TICKET }));
    expectBad(FrameType.WELCOME, welcome({ resume: null }));
  });
});

const accept = (files: unknown[]) => JSON.stringify({ offer: 3, files });

describe('ACCEPT items (§13.11)', () => {
  it('D1: accepts an offset item and a prefix item, as REQUEST does', () => {
    const files = [
      { id: 0, offset: 0 },
      { id: 1, offset: 4, prefix: PREFIX },
    ];
    expect(decodeMessage(FrameType.ACCEPT, utf8Bytes(accept(files)))).toEqual({ offer: 3, files });
  });

  it('D1: refuses each malformed item: a bad prefix, an unknown field, a missing or negative offset', () => {
    for (const prefix of [PREFIX.toUpperCase(), PREFIX.slice(1), `${PREFIX}0`, '', 7]) {
      expectBad(FrameType.ACCEPT, accept([{ id: 1, offset: 4, prefix }]));
    }
    expectBad(FrameType.ACCEPT, accept([{ id: 1, offset: 4, prefix: PREFIX, length: 1 }]));
    expectBad(FrameType.ACCEPT, accept([{ id: 1, prefix: PREFIX }]));
    expectBad(FrameType.ACCEPT, accept([{ id: 1, offset: -1 }]));
    expectBad(FrameType.ACCEPT, accept([{ id: 1, offset: 1.5, prefix: PREFIX }]));
  });
});

describe('AUTH resume', () => {
  it('D6: accepts a proof of 64 lowercase hex digits', () => {
    const auth = { method: 'resume', proof: PREFIX };
    expect(decodeMessage(FrameType.AUTH, utf8Bytes(JSON.stringify(auth)))).toEqual(auth);
  });

  it('D6: refuses a bad proof string, a missing proof, and a share with method resume', () => {
    for (const proof of [PREFIX.toUpperCase(), PREFIX.slice(2), `${PREFIX}00`, '', 1]) {
      expectBad(FrameType.AUTH, JSON.stringify({ method: 'resume', proof }));
    }
    expectBad(FrameType.AUTH, JSON.stringify({ method: 'resume' }));
    expectBad(FrameType.AUTH, JSON.stringify({ method: 'resume', proof: PREFIX, share: PREFIX }));
  });
});
