import { describe, expect, it } from 'vitest';
import { wrapLine } from '../src/fit.ts';

describe('wrapLine', () => {
  it('U4: never breaks a key across lines', () => {
    const line =
      'Connected to 192.168.100.200:7878 (encrypted; paired with the code, sender key 558E F330 5F2B D3DE).';
    const lines = wrapLine(line, 80);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines.some((l) => l.includes('558E F330 5F2B D3DE'))).toBe(true);
  });

  it('U4: wraps a warning at word boundaries, continuing indented', () => {
    const warning =
      'WARNING: encryption is off (--no-encryption). Anyone on this network can read and alter these files in transit.';
    const lines = wrapLine(warning, 40);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40);
    expect(lines.join(' ').replace(/ +/g, ' ')).toBe(warning);
    expect(lines[1]).toMatch(/^ {2}\S/);
  });

  it('U4: cuts a word longer than the whole line', () => {
    const lines = wrapLine(`  ${'x'.repeat(100)}`, 40);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40);
    expect(lines.join('').replace(/ /g, '')).toBe('x'.repeat(100));
  });

  it('leaves a line that fits alone', () => {
    expect(wrapLine('  a.txt  6 B', 80)).toEqual(['  a.txt  6 B']);
  });
});
