/**
 * The chat text rule (PROTOCOL.md §12.2) on its vectors: each SAY payload of the table decodes,
 * or is refused with ERR_BAD_MESSAGE, exactly as the table says, and `chatTextProblem` agrees.
 */
import { describe, expect, it } from 'vitest';
import { CHAT, FrameType, LIMITS } from '../src/constants.ts';
import { ErrorCode, FerryError } from '../src/errors.ts';
import { decodeMessage } from '../src/messages/codec.ts';
import { chatTextProblem, utf8Length } from '../src/text.ts';
import { utf8Bytes } from './helpers.ts';
import { CHAT_TEXT_VECTORS } from './vectors/chat-text.ts';

/** The text a vector's payload carries, as JSON reads it (lone surrogates kept). */
function textOf(payload: string): string {
  return (JSON.parse(payload) as { text: string }).text;
}

function refusal(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

const accepted = CHAT_TEXT_VECTORS.filter((vector) => vector.accepted);
const refused = CHAT_TEXT_VECTORS.filter((vector) => !vector.accepted);

describe('chat text vectors (§12.2)', () => {
  it('J1: has vectors for ESC, CR, U+202E, U+2028, a lone surrogate and 4097 bytes refused, and a ZWJ emoji and 4096 bytes accepted', () => {
    const refusedTexts = refused.map((vector) => textOf(vector.payload));
    for (const bad of ['\x1b', '\r', '\u202e', '\u2028', '\ud800']) {
      expect(refusedTexts.some((text) => text.includes(bad))).toBe(true);
    }
    expect(refusedTexts.some((text) => utf8Length(text) === CHAT.maxTextBytes + 1)).toBe(true);
    const acceptedTexts = accepted.map((vector) => textOf(vector.payload));
    expect(acceptedTexts.some((text) => text.includes('\u200d'))).toBe(true);
    expect(acceptedTexts.some((text) => utf8Length(text) === CHAT.maxTextBytes)).toBe(true);
  });

  it.each(accepted)('J1: SAY accepts $about', ({ payload }) => {
    const text = textOf(payload);
    expect(decodeMessage(FrameType.SAY, utf8Bytes(payload))).toEqual({ text });
    expect(chatTextProblem(text, CHAT.maxTextBytes)).toBeUndefined();
  });

  it.each(refused)('J1: SAY refuses $about with ERR_BAD_MESSAGE', ({ payload }) => {
    const error = refusal(() => decodeMessage(FrameType.SAY, utf8Bytes(payload)));
    expect(error).toBeInstanceOf(FerryError);
    expect(error).toMatchObject({ code: ErrorCode.BAD_MESSAGE });
    expect(chatTextProblem(textOf(payload), CHAT.maxTextBytes)).toBeDefined();
  });

  it.each(CHAT_TEXT_VECTORS)(
    'J1: RELAY gives $about the same verdict as SAY',
    ({ payload, accepted: ok }) => {
      const relay = payload.replace('{"text":', '{"peer":1,"text":');
      const decode = () => decodeMessage(FrameType.RELAY, utf8Bytes(relay));
      if (ok) expect(decode()).toEqual({ peer: 1, text: textOf(payload) });
      else expect(refusal(decode)).toMatchObject({ code: ErrorCode.BAD_MESSAGE });
    },
  );

  it.each(
    CHAT_TEXT_VECTORS.filter((vector) => utf8Length(textOf(vector.payload)) <= LIMITS.maxNameBytes),
  )(
    'J1: a chat name in JOINED gives $about the same verdict as a message',
    ({ payload, accepted: ok }) => {
      const name = payload.slice('{"text":'.length, -1);
      const joined = `{"peer":3,"name":${name},"key":""}`;
      const decode = () => decodeMessage(FrameType.JOINED, utf8Bytes(joined));
      if (ok) expect(decode()).toEqual({ peer: 3, name: textOf(payload), key: '' });
      else expect(refusal(decode)).toMatchObject({ code: ErrorCode.BAD_MESSAGE });
    },
  );
});

describe('chatTextProblem', () => {
  it.each([
    ['U+0000', '\u0000'],
    ['U+001F', '\u001f'],
    ['U+0080', '\u0080'],
    ['U+009F', '\u009f'],
    ['U+200F', '\u200f'],
    ['U+202A', '\u202a'],
    ['U+2066', '\u2066'],
    ['a lone low surrogate', '\udc00'],
  ])('J1: refuses %s, at the start, inside and at the end of a text', (_, bad) => {
    for (const text of [`${bad}x`, `x${bad}x`, `x${bad}`])
      expect(chatTextProblem(text, 64)).toBeDefined();
  });

  it.each([
    ['a zero-width joiner', 'a\u200db'],
    ['a zero-width space', 'a\u200bb'],
    ['a combining accent', 'e\u0301'],
    ['an emoji with a skin tone', '\u{1f44d}\u{1f3fd}'],
    ['a flag', '\u{1f1e9}\u{1f1ea}'],
    ['a surrogate pair at the very end', 'x\u{10ffff}'],
    ['a backslash and quotes', '\\ "quoted"'],
  ])('accepts %s', (_, text) => {
    expect(chatTextProblem(text, 64)).toBeUndefined();
  });

  it('counts UTF-8 bytes, not characters, against the limit', () => {
    expect(chatTextProblem('é'.repeat(64), 128)).toBeUndefined();
    expect(chatTextProblem(`${'é'.repeat(64)}a`, 128)).toMatch(/128 UTF-8 bytes/);
  });

  it('names the character it refuses, in U+ form', () => {
    expect(chatTextProblem('a\x1bb', 64)).toContain('U+001B');
    expect(chatTextProblem('a\u202eb', 64)).toContain('U+202E');
  });
});
