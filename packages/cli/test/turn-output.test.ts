import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TurnOutput } from '../src/turn-output.ts';

function target() {
  const writes: string[] = [];
  return { writes, stream: { write: (text: string) => writes.push(text) } };
}

describe('TurnOutput', () => {
  it('writes what one turn wrote in one write, in order, once the turn is over', async () => {
    const { writes, stream } = target();
    const out = new TurnOutput(stream);
    out.write('{"event":"file-saved","n":1}\n');
    out.write('{"event":"file-saved","n":2}\n');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['{"event":"file-saved","n":1}\n{"event":"file-saved","n":2}\n']);
    out.write('{"event":"done"}\n');
    await nextTurn();
    expect(writes).toEqual([
      '{"event":"file-saved","n":1}\n{"event":"file-saved","n":2}\n',
      '{"event":"done"}\n',
    ]);
  });

  it('writes at once when 64 KiB are held, and keeps the order', async () => {
    const { writes, stream } = target();
    const out = new TurnOutput(stream);
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 64; i++) out.write(line);
    expect(writes).toEqual([line.repeat(64)]);
    out.write('last\n');
    await nextTurn();
    expect(writes.join('')).toBe(`${line.repeat(64)}last\n`);
  });

  it('flush() writes what is held (at exit), and nothing twice', async () => {
    const { writes, stream } = target();
    const out = new TurnOutput(stream);
    out.write('a\n');
    out.flush();
    expect(writes).toEqual(['a\n']);
    await nextTurn();
    out.flush();
    expect(writes).toEqual(['a\n']);
    expect(out.isTTY).toBe(false);
  });
});
