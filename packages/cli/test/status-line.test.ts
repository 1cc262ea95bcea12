import { describe, expect, it } from 'vitest';
import { StatusLine } from '../src/status-line.ts';

describe('StatusLine', () => {
  it('clears the status line before printing a whole line', () => {
    let out = '';
    const status = new StatusLine({ write: (text: string) => (out += text) });
    status.show('50%');
    status.print('done');
    expect(out).toBe('\r\x1b[2K50%\r\x1b[2Kdone\n');
  });
});
