import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { within } from '@ferry/testkit/unit';
import { LinePrompt, PlainScreen, type ScreenInput } from '../../src/chat/screen.ts';
import { FakeTerminal } from './terminal.ts';

const LEFT = '\x1b[D';
const closing: (() => void)[] = [];
afterEach(() => {
  for (const close of closing.splice(0)) close();
});

/** A prompt on a fake terminal, and what it reported. */
function prompt(columns = 40) {
  const input = new PassThrough();
  const terminal = new FakeTerminal(columns);
  const typed: string[] = [];
  const seen = { interrupts: 0, ends: 0 };
  let lineWaiter: (() => void) | undefined;
  let endWaiter!: () => void;
  const ended = new Promise<void>((resolve) => {
    endWaiter = resolve;
  });
  const events: ScreenInput = {
    line: (text) => {
      typed.push(text);
      lineWaiter?.();
    },
    interrupt: () => seen.interrupts++,
    end: () => {
      seen.ends++;
      endWaiter();
    },
  };
  const screen = new LinePrompt(input, terminal, events);
  closing.push(() => screen.close());
  /** Types keys one at a time, as a person does, and waits for the prompt to echo each. */
  const type = async (keys: string) => {
    for (const key of keys.match(/\x1b\[[A-Z]|[\s\S]/g) ?? []) {
      const echoed = terminal.nextWrite();
      input.write(key);
      await within(echoed, `the echo of ${JSON.stringify(key)}`, () => terminal.lines().join('\n'));
    }
  };
  const enter = async () => {
    const line = new Promise<void>((resolve) => {
      lineWaiter = resolve;
    });
    input.write('\r');
    await within(line, 'a typed line', () => terminal.lines().join('\n'));
  };
  return { screen, terminal, typed, seen, type, enter, input, ended };
}

describe('LinePrompt', () => {
  it('prints lines above the input and redraws the typed text intact, the cursor where it was', async () => {
    const { screen, terminal, typed, type, enter } = prompt();
    await type('hello world');
    await type(LEFT.repeat(5));
    screen.print(['[bob] hi', '[carol] hey']);
    expect(terminal.lines()).toEqual(['[bob] hi', '[carol] hey', '> hello world']);
    expect(terminal.cursor()).toEqual({ row: 2, col: 2 + 6 });
    // Typing goes on where the cursor was.
    await type('big ');
    expect(terminal.lines().at(-1)).toBe('> hello big world');
    await enter();
    expect(typed).toEqual(['hello big world']);
    expect(terminal.lines()).toEqual(['[bob] hi', '[carol] hey', '> hello big world', '>']);
  });

  it('keeps the status line just above the input, updated in place, under printed lines', async () => {
    const { screen, terminal, type } = prompt();
    await type('abc');
    screen.status('#1 from bob 10%');
    expect(terminal.lines()).toEqual(['#1 from bob 10%', '> abc']);
    screen.status('#1 from bob 55%');
    expect(terminal.lines()).toEqual(['#1 from bob 55%', '> abc']);
    screen.print(['[bob] still here']);
    expect(terminal.lines()).toEqual(['[bob] still here', '#1 from bob 55%', '> abc']);
    screen.status(undefined);
    expect(terminal.lines()).toEqual(['[bob] still here', '> abc']);
    expect(terminal.cursor()).toEqual({ row: 1, col: 5 });
  });

  it('keeps a line typed while the status line shows above the status line, after Enter', async () => {
    const { screen, terminal, typed, type, enter } = prompt();
    screen.status('#1 from bob 10%');
    await type('hi');
    await enter();
    expect(typed).toEqual(['hi']);
    expect(terminal.lines()).toEqual(['> hi', '#1 from bob 10%', '>']);
    screen.print(['[bob] hello']);
    expect(terminal.lines()).toEqual(['> hi', '[bob] hello', '#1 from bob 10%', '>']);
  });

  it('redraws an input longer than the terminal is wide without leaving pieces of it behind', async () => {
    const { screen, terminal, type } = prompt(20);
    await type('x'.repeat(30));
    screen.status('50%');
    screen.print(['[bob] one']);
    screen.print(['[bob] two']);
    expect(terminal.lines()).toEqual([
      '[bob] one',
      '[bob] two',
      '50%',
      `> ${'x'.repeat(18)}`,
      'x'.repeat(12),
    ]);
  });

  it('reports Ctrl-C and Ctrl-D as an interrupt and the end of input', async () => {
    const { seen, input, ended } = prompt();
    input.write('\x03');
    input.write('\x04');
    await within(ended, 'Ctrl-D');
    expect(seen).toEqual({ interrupts: 1, ends: 1 });
  });
});

describe('PlainScreen', () => {
  it('reads lines from a pipe (CRLF too) and reports its end', async () => {
    const input = new PassThrough();
    const out = { text: '', write: (text: string) => (out.text += text) };
    const typed: string[] = [];
    const ended = new Promise<void>((resolve) => {
      const screen = new PlainScreen(input, out, {
        line: (text) => typed.push(text),
        interrupt: () => {},
        end: resolve,
      });
      closing.push(() => screen.close());
      screen.print(['one', 'two']);
      screen.status('50%');
    });
    input.end('hello\r\n/quit\n');
    await within(ended, 'the end of input');
    expect(typed).toEqual(['hello', '/quit']);
    expect(out.text).toBe('one\ntwo\n50%\n');
  });
});
