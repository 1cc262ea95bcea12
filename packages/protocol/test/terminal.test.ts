import { describe, expect, it } from 'vitest';
import { toJsonLine } from '../src/terminal.ts';

describe('toJsonLine', () => {
  it('J4: escapes controls, bidi overrides, zero-width and tag characters, and still parses back', () => {
    const name = 'a\u202eb\u{e0041}c\u0007d\u200be\u2028f\u0085g';
    const line = toJsonLine('offer', { name });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(line)).toEqual({ event: 'offer', name });
  });

  it('leaves ordinary Unicode readable', () => {
    expect(toJsonLine('x', { name: 'Grüße 日本語 ☕' })).toBe('{"event":"x","name":"Grüße 日本語 ☕"}\n');
  });
});
