import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { createFail, encryptionOffWarning } from '../src/render.ts';
import { StatusLine } from '../src/status-line.ts';

/** One terminal that stdout and stderr both write to. */
function terminal(columns = 80) {
  let screen = '';
  const write = (text: string) => {
    screen += text;
    return true;
  };
  const io = {
    stdout: { isTTY: true, columns, write },
    stderr: { isTTY: true, columns, write },
    env: {},
  };
  return { io, screen: () => screen };
}

describe('StatusLine', () => {
  it('clears the status line before printing a whole line', () => {
    let out = '';
    const status = new StatusLine({ write: (text: string) => (out += text) });
    status.show('50%');
    status.print('done');
    expect(out).toBe('\r\x1b[2K50%\r\x1b[2Kdone\n');
  });

  it('U4: wraps printed lines to the terminal width, and cuts the status line to fit', () => {
    const { io, screen } = terminal(40);
    const status = StatusLine.for(io.stdout);
    status.print('Remembered "bob" (key 558E F330 5F2B D3DE): it needs no code next time.');
    status.show('x'.repeat(60));
    const lines = screen().replaceAll('\r\x1b[2K', '\n').split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(screen()).toContain('558E F330 5F2B D3DE');
  });

  it('U4: wraps the no-encryption warning at word boundaries on an 80-column terminal', () => {
    const { io, screen } = terminal(80);
    for (const line of encryptionOffWarning('this transfer, and nothing proves who the sender is.'))
      StatusLine.for(io.stdout).print(line);
    const lines = screen().split('\n').slice(0, -1);
    expect(lines).toEqual([
      'WARNING: encryption is off (--no-encryption). Anyone on this network can read',
      '  and alter this transfer, and nothing proves who the sender is.',
    ]);
  });

  it('does not wrap output that is not a terminal', () => {
    let out = '';
    const status = new StatusLine({ isTTY: false, write: (text: string) => (out += text) });
    const long = 'word '.repeat(30).trim();
    status.print(long);
    expect(out).toBe(`${long}\n`);
  });

  it('U14: a log line never lands on the progress line: cleared before, redrawn after', () => {
    const { io, screen } = terminal();
    StatusLine.for(io.stdout).show(' 50% 5.00 MiB of 10.0 MiB  1.00 MiB/s  ETA 5s');
    createLogger('ferry-test', 'info', io).info({ files: 1 }, 'request sent');
    expect(screen()).toMatch(
      /^\r\x1b\[2K 50% [^\n]*\r\x1b\[2K\{"level":30[^\n]*"msg":"request sent"\}\n\r\x1b\[2K 50% /,
    );
  });

  it('U4: an error and its hint wrap at spaces on an 80-column terminal, never mid-word', () => {
    const { io, screen } = terminal();
    const message =
      'could not connect to 127.0.0.1:1: connection refused: no ferry-send is listening there, or a firewall on that machine lets nothing in';
    const hint = 'Check the address and port that ferry-send printed, and that it is still running; then run ferry-receive again.';
    createFail('ferry-receive', io, () => false)(1, 'ERR_CONNECT', message, hint);
    const lines = screen().split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    // Every word arrives whole: joining the lines gives back the text.
    expect(lines.map((line) => line.trim()).join(' ')).toBe(`ferry-receive: ${message} ${hint}`);
  });

  it('U4: an error written to a pipe is left as one line for scripts', () => {
    let out = '';
    const pipe = { write: (text: string) => (out += text) };
    const long = 'x '.repeat(60).trim();
    createFail('ferry-send', { stdout: pipe, stderr: pipe, env: {} }, () => false)(1, 'ERR_X', long, 'do this');
    expect(out).toBe(`ferry-send: ${long}\ndo this\n`);
  });

  it('U5: an error starts on a line of its own, never glued to the progress line', () => {
    const { io, screen } = terminal();
    StatusLine.for(io.stdout).show(' 50% 5.00 MiB of 10.0 MiB  1.00 MiB/s  ETA 5s');
    createFail('ferry-receive', io, () => false)(1, 'ERR_TIMEOUT', 'the sender went silent');
    expect(screen()).toMatch(/\r\x1b\[2Kferry-receive: the sender went silent\n$/);
  });
});
