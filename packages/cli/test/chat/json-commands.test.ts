import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseJsonCommand } from '../../src/chat/json-commands.ts';

const command = (line: string) => {
  const parsed = parseJsonCommand(line);
  if (!parsed.ok) throw new Error(`refused: ${parsed.problem}`);
  return parsed.command;
};
const problem = (line: string) => {
  const parsed = parseJsonCommand(line);
  if (parsed.ok) throw new Error(`accepted: ${JSON.stringify(parsed.command)}`);
  return parsed.problem;
};

describe('parseJsonCommand', () => {
  it('reads every command of the README', () => {
    expect(command('{"cmd":"say","text":"hi"}')).toEqual({ kind: 'say', text: 'hi' });
    expect(command('{"cmd":"send","paths":["a.txt"],"to":"bob"}')).toEqual({
      kind: 'send',
      paths: ['a.txt'],
      to: { name: 'bob' },
    });
    expect(command('{"cmd":"send","paths":["a","b"],"to":2}')).toEqual({
      kind: 'send',
      paths: ['a', 'b'],
      to: { peer: 2 },
    });
    expect(command('{"cmd":"send","paths":["a"]}')).toEqual({
      kind: 'send',
      paths: ['a'],
      to: undefined,
    });
    expect(command('{"cmd":"accept","offer":1,"dir":"/tmp/x"}')).toEqual({
      kind: 'accept',
      offer: 1,
      dir: '/tmp/x',
    });
    expect(command('{"cmd":"accept","offer":1}')).toEqual({
      kind: 'accept',
      offer: 1,
      dir: undefined,
    });
    expect(command('{"cmd":"decline","offer":1}')).toEqual({ kind: 'decline', offer: 1 });
    expect(command('{"cmd":"peers"}')).toEqual({ kind: 'peers' });
    expect(command(' {"cmd":"quit"}\r')).toEqual({ kind: 'quit' });
  });

  it("reads every command line the README's Talk section shows", () => {
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Talking from a script'));
    const block = /```json\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const lines = block.split('\n').filter((line) => line !== '');
    expect(lines.map((line) => JSON.parse(line).cmd)).toEqual([
      'say',
      'send',
      'accept',
      'decline',
      'peers',
      'quit',
    ]);
    for (const line of lines) expect(parseJsonCommand(line).ok, line).toBe(true);
  });

  it('reads a blank line as nothing to do', () => {
    expect(command('  ')).toBeUndefined();
  });

  it('says what is wrong with a line that is not JSON, or not a known command', () => {
    expect(problem('say hi')).toMatch(/not a JSON object/);
    expect(problem('[1]')).toMatch(/"cmd" must be one of say, send, accept, decline, peers, quit/);
    expect(problem('{"cmd":"dance"}')).toMatch(/must be one of/);
    expect(problem('null')).toMatch(/must be one of/);
  });

  it('refuses missing, mistyped and unknown fields, naming the command', () => {
    expect(problem('{"cmd":"say"}')).toMatch(/^say: .*text/);
    expect(problem('{"cmd":"say","text":""}')).toMatch(/^say:/);
    expect(problem('{"cmd":"send","paths":[]}')).toMatch(/^send:.*paths/);
    expect(problem('{"cmd":"send","paths":"a.txt"}')).toMatch(/^send:.*paths/);
    expect(problem('{"cmd":"accept","offer":0}')).toMatch(/^accept:.*offer/);
    expect(problem('{"cmd":"accept","offer":1.5}')).toMatch(/^accept:.*offer/);
    expect(problem('{"cmd":"decline"}')).toMatch(/^decline:.*offer/);
    expect(problem('{"cmd":"quit","now":true}')).toMatch(/^quit:.*now/);
  });

  it('keeps each problem on one line', () => {
    expect(problem('{"cmd":"send","paths":[1],"to":-1}')).not.toContain('\n');
  });
});
