import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { flushJsonLines, printJson, printJsonBatched } from '../src/json-lines.ts';

function stream() {
  const writes: string[] = [];
  return { writes, out: { write: (text: string) => writes.push(text) } };
}

const line = (event: string, n?: number) =>
  `${JSON.stringify(n === undefined ? { event } : { event, n })}\n`;

describe('--json lines', () => {
  it('writes a line printed at once immediately', () => {
    const { writes, out } = stream();
    printJson(out, 'start', {});
    expect(writes).toEqual([line('start')]);
  });

  it("writes one turn's batched lines together, in order, once the turn is over", async () => {
    const { writes, out } = stream();
    printJsonBatched(out, 'file-saved', { n: 1 });
    printJsonBatched(out, 'file-saved', { n: 2 });
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual([line('file-saved', 1) + line('file-saved', 2)]);
    printJsonBatched(out, 'file-saved', { n: 3 });
    await nextTurn();
    expect(writes).toEqual([line('file-saved', 1) + line('file-saved', 2), line('file-saved', 3)]);
  });

  it('never lets a line printed at once overtake a batched one', () => {
    const { writes, out } = stream();
    printJsonBatched(out, 'file-saved', { n: 1 });
    printJson(out, 'done', {});
    expect(writes).toEqual([line('file-saved', 1), line('done')]);
  });

  it('keeps each stream apart', async () => {
    const a = stream();
    const b = stream();
    printJsonBatched(a.out, 'file-saved', { n: 1 });
    printJson(b.out, 'done', {});
    expect(a.writes).toEqual([]);
    expect(b.writes).toEqual([line('done')]);
    await nextTurn();
    expect(a.writes).toEqual([line('file-saved', 1)]);
  });

  it('writes what is held at once past 64 KiB, in whole lines', async () => {
    const { writes, out } = stream();
    const path = 'x'.repeat(1000);
    for (let n = 0; n < 70; n++) printJsonBatched(out, 'file-saved', { n, path });
    expect(writes).toHaveLength(1);
    expect(writes[0]!.length).toBeGreaterThanOrEqual(64 * 1024);
    expect(writes[0]!.endsWith('\n')).toBe(true);
    await nextTurn();
    const lines = writes.join('').trimEnd().split('\n');
    expect(lines.map((text) => JSON.parse(text).n)).toEqual([...Array(70).keys()]);
  });

  it('writes every held line when the process is about to exit', () => {
    const { writes, out } = stream();
    printJsonBatched(out, 'file-saved', { n: 1 });
    flushJsonLines();
    expect(writes).toEqual([line('file-saved', 1)]);
  });

  it('escapes what could disturb a terminal, as every JSON line does', () => {
    const { writes, out } = stream();
    printJsonBatched(out, 'file-saved', { path: 'a\u202Eb' });
    flushJsonLines();
    expect(writes).toEqual(['{"event":"file-saved","path":"a\\u202eb"}\n']);
  });
});
