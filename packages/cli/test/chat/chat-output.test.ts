import { describe, expect, it } from 'vitest';
import { ChatOutput } from '../../src/chat/chat-output.ts';
import type { ChatScreen } from '../../src/chat/screen.ts';
import { StatusLine } from '../../src/status-line.ts';

/** A screen that keeps what it was asked to print. */
function screen(width: number | undefined) {
  const printed: string[] = [];
  const fake: ChatScreen = {
    width,
    print: (lines) => printed.push(...lines),
    status: () => {},
    close: () => {},
  };
  return { fake, printed };
}

describe('ChatOutput', () => {
  it('writes to the terminal until a screen takes over, then prints whole lines above its input', () => {
    let direct = '';
    const output = new ChatOutput({
      isTTY: true,
      columns: 80,
      write: (text: string) => (direct += text),
    });
    output.write('Pairing code: 1234-5678\n');
    expect(direct).toBe('Pairing code: 1234-5678\n');
    const { fake, printed } = screen(40);
    output.route(fake);
    output.write('That code is used up. Next pairing code: 8765-4321    (this sender');
    expect(printed).toEqual([]);
    output.write("'s key: 93E1 2CF8 2297 390E)\nrefused 10.0.0.9:4000: too many connections\n");
    expect(printed).toEqual([
      'That code is used up. Next pairing code:',
      "  8765-4321    (this sender's key:",
      '  93E1 2CF8 2297 390E)',
      'refused 10.0.0.9:4000: too many',
      '  connections',
    ]);
    expect(direct).toBe('Pairing code: 1234-5678\n');
    output.route(undefined);
    output.write('Stopped.\n');
    expect(direct).toBe('Pairing code: 1234-5678\nStopped.\n');
  });

  it('lets a StatusLine print through it without drawing into the input', () => {
    const output = new ChatOutput({ isTTY: true, columns: 80, write: () => true });
    const { fake, printed } = screen(undefined);
    output.route(fake);
    const status = StatusLine.for(output);
    status.print('A receiver gave a wrong pairing code (1 of 3 attempts).');
    expect(printed).toEqual(['A receiver gave a wrong pairing code (1 of 3 attempts).']);
  });
});
