import type { Shape } from './shape.ts';

/** Why a JSON text does not fit its message's shape, and where (a UTF-16 offset). */
export class JsonScanError extends Error {
  override name = 'JsonScanError';
  readonly offset: number;
  constructor(reason: string, offset: number) {
    super(`${reason} at character ${offset}`);
    this.offset = offset;
  }
}

/** Digits of the largest integer a message may hold (2^53 - 1 has 16). */
const MAX_INTEGER_DIGITS = 16;
/** Characters of the longest field name any message has, and then some. */
const MAX_KEY_CHARS = 64;

interface Container {
  readonly fields: Map<string, Shape> | undefined;
  readonly item: Shape | undefined;
  readonly max: number;
  readonly seen: Set<string>;
  count: number;
}

/**
 * Checks a JSON text against a message shape without building any value (PROTOCOL.md §4):
 * every field known and not repeated, every value of the type its position allows (so nesting
 * is no deeper than the schema's), arrays no longer than their maximum, and integers written
 * as plain digits. Work is linear in the text, and memory bounded by the shape's depth.
 * Throws JsonScanError; a text that passes may still fail JSON.parse or the schema's checks.
 */
export function scanJson(text: string, root: Shape): void {
  const n = text.length;
  const stack: Container[] = [];
  let i = skipSpace(text, 0);
  let expected: Shape = root;
  for (;;) {
    // A value of shape `expected` starts at i.
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      if (!expected.object) throw new JsonScanError('an object where none is allowed', i);
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) !== 0x7d /* } */) {
        const container: Container = {
          fields: expected.object,
          item: undefined,
          max: 0,
          seen: new Set(),
          count: 1,
        };
        stack.push(container);
        [i, expected] = readKey(text, i, container);
        continue;
      }
      i++;
    } else if (c === 0x5b /* [ */) {
      if (!expected.array) throw new JsonScanError('an array where none is allowed', i);
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) !== 0x5d /* ] */) {
        const { item, max } = expected.array;
        if (max < 1) throw new JsonScanError(`more than ${max} items`, i);
        stack.push({ fields: undefined, item, max, seen: new Set(), count: 1 });
        expected = item;
        continue;
      }
      i++;
    } else if (c === 0x22 /* " */) {
      if (!expected.string) throw new JsonScanError('a string where none is allowed', i);
      i = skipString(text, i);
    } else if (c >= 0x30 && c <= 0x39) {
      if (!expected.integer) throw new JsonScanError('a number where none is allowed', i);
      i = skipInteger(text, i);
    } else if (c === 0x74 /* t */ || c === 0x66 /* f */) {
      const word = c === 0x74 ? 'true' : 'false';
      if (!expected.boolean) throw new JsonScanError('a boolean where none is allowed', i);
      if (!text.startsWith(word, i)) throw new JsonScanError('not JSON', i);
      i += word.length;
    } else if (c === 0x2d /* - */) {
      throw new JsonScanError('a signed number (integers are plain digits)', i);
    } else {
      throw new JsonScanError(
        i >= n ? 'the text ends before a value' : 'not a value this message allows',
        i,
      );
    }
    // A value ended at i: close containers, or move on to the next item or field.
    for (;;) {
      i = skipSpace(text, i);
      const top = stack.at(-1);
      if (top === undefined) {
        if (i !== n) throw new JsonScanError('text after the message', i);
        return;
      }
      const d = text.charCodeAt(i);
      if (d === 0x2c /* , */) {
        i = skipSpace(text, i + 1);
        top.count++;
        if (top.fields) {
          [i, expected] = readKey(text, i, top);
        } else {
          if (top.count > top.max) throw new JsonScanError(`more than ${top.max} items`, i);
          expected = top.item!;
        }
        break;
      }
      if (d !== (top.fields ? 0x7d /* } */ : 0x5d) /* ] */) throw new JsonScanError('not JSON', i);
      stack.pop();
      i++;
    }
  }
}

/** Reads `"key" :` at i in an object; returns where its value starts and the value's shape. */
function readKey(text: string, i: number, container: Container): [number, Shape] {
  if (text.charCodeAt(i) !== 0x22) throw new JsonScanError('not JSON', i);
  const end = skipString(text, i);
  if (end - i > MAX_KEY_CHARS + 2) throw new JsonScanError('an unknown field', i);
  const raw = text.slice(i + 1, end - 1);
  const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw;
  const shape = container.fields!.get(key);
  if (shape === undefined) throw new JsonScanError('an unknown field', i);
  if (container.seen.has(key)) throw new JsonScanError('a field given twice', i);
  container.seen.add(key);
  let j = skipSpace(text, end);
  if (text.charCodeAt(j) !== 0x3a /* : */) throw new JsonScanError('not JSON', j);
  j = skipSpace(text, j + 1);
  return [j, shape];
}

/** Skips a JSON string starting at the quote at i; returns the index after its closing quote. */
function skipString(text: string, i: number): number {
  const n = text.length;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c === 0x5c /* \ */) j++;
    else if (c < 0x20) throw new JsonScanError('a control character in a string', j);
  }
  throw new JsonScanError('the text ends inside a string', n);
}

/** Skips an integer of plain digits at i; refuses a fraction, an exponent and leading zeros. */
function skipInteger(text: string, i: number): number {
  let j = i;
  while (j < text.length && isDigit(text.charCodeAt(j))) j++;
  const next = text.charCodeAt(j);
  if (next === 0x2e /* . */ || next === 0x65 /* e */ || next === 0x45 /* E */) {
    throw new JsonScanError('a number with a fraction or exponent (integers are plain digits)', i);
  }
  if (text.charCodeAt(i) === 0x30 && j - i > 1)
    throw new JsonScanError('a number with a leading zero', i);
  if (j - i > MAX_INTEGER_DIGITS) throw new JsonScanError('an integer out of range', i);
  return j;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Skips JSON whitespace (space, tab, line feed, carriage return) from i. */
function skipSpace(text: string, i: number): number {
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return j;
    j++;
  }
}
