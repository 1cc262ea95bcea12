import { describe, expect, it } from 'vitest';
import { formatDuration, formatTime, plural } from '../src/client/lib/format.ts';

describe("the window's formatting", () => {
  it('counts with the right word and digit grouping of the locale', () => {
    const grouped = new Intl.NumberFormat().format(12_000);
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(0, 'file')).toBe('0 files');
    expect(plural(12_000, 'file')).toBe(`${grouped} files`);
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });

  it('gives times and durations plainly', () => {
    const at = Date.UTC(2026, 11, 7, 12, 30);
    expect(formatTime(at)).toBe(
      new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
    );
    // Past year 275760, or not a number: no date, and no exception while the page draws.
    expect(formatTime(9e15)).toBe('');
    expect(formatTime(Number.NaN)).toBe('');
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(7_500)).toBe('2 h 5 min');
  });
});
