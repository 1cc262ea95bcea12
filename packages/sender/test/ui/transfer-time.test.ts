import { describe, expect, it } from 'vitest';
import { formatTransferTime } from '../../src/ui/render.ts';

describe('formatTransferTime', () => {
  it('U1: gives the time and a rounded rate', () => {
    expect(formatTransferTime(3 * 1024 * 1024, 1500)).toBe('in 1.5s at 2.00 MiB/s');
  });

  it('D2: a transfer that sent no byte (every file already there) shows no rate of 0 B/s', () => {
    expect(formatTransferTime(0, 400)).toBe('in 0.4s');
  });
});
