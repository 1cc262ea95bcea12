import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeForDisplay } from '../src/text.ts';

/** Strings built from escapes and the characters that spell them, where a forgery would show. */
const tricky = fc
  .array(fc.constantFrom('\\', 'x', '1', 'b', 'u', '{', '}', '\x1b', '\u200b', '\ud800', 'a'), { maxLength: 8 })
  .map((parts) => parts.join(''));

/** Any code points, lone surrogates included, biased towards the low planes where controls live. */
const anyCodePoints = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0x3000 }), fc.integer({ min: 0, max: 0x10ffff })), { maxLength: 40 })
  .map((points) => String.fromCodePoint(...points));

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/u;

describe('escapeForDisplay', () => {
  it.each([
    ['B5, J1: an ANSI cursor-up and carriage return', '\x1b[1A\rharmless', '\\x1b[1A\\x0dharmless'],
    ['J1: a colour escape', '\x1b[31mred\x1b[0m', '\\x1b[31mred\\x1b[0m'],
    ['J4: a newline', 'a\nb', 'a\\x0ab'],
    ['a tab and NUL', '\t\u0000', '\\x09\\x00'],
    ['DEL', '\x7f', '\\x7f'],
    ['B5: the C1 CSI', 'a\x9b2J', 'a\\x9b2J'],
    ['B5, J1: a bidi override', 'invoice\u202Etxt.exe', 'invoice\\u{202e}txt.exe'],
    ['a bidi isolate', '\u2067x\u2069', '\\u{2067}x\\u{2069}'],
    ['B5: a zero-width space and joiner', 'zero\u200bwidth\u200d', 'zero\\u{200b}width\\u{200d}'],
    ['a byte-order mark', '\ufeffx', '\\u{feff}x'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u{2028}b\\u{2029}c'],
    ['a lone high surrogate', 'a\ud800b', 'a\\u{d800}b'],
    ['a lone low surrogate', '\udc00', '\\u{dc00}'],
    ['a backslash, so escapes cannot be forged', 'C:\\x1b', 'C:\\\\x1b'],
  ])('makes %s visible', (_, input, expected) => {
    expect(escapeForDisplay(input)).toBe(expected);
  });

  it.each([
    'Fotos/Ünïcödé 日本語/naïve café.txt',
    'emoji 😀🎉 👍🏽 🇩🇪 ❤️',
    'Привет, мир',
    'مرحبا',
    'e\u0301',
    'plain ascii ~!@#$%^&*()_+{}|:"<>?',
    '',
  ])('passes printable Unicode %j through unchanged', (text) => {
    expect(escapeForDisplay(text)).toBe(text);
  });

  it('never lets a control, format or surrogate code point through', () => {
    fc.assert(
      fc.property(anyCodePoints, (text) => {
        expect(UNSAFE.test(escapeForDisplay(text))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('escapes injectively, so two different names never display the same', () => {
    fc.assert(
      fc.property(tricky, tricky, (a, b) => {
        fc.pre(a !== b);
        expect(escapeForDisplay(a)).not.toBe(escapeForDisplay(b));
      }),
    );
  });
});
