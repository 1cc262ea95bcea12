import { describe, expect, it } from 'vitest';
import { parseChatLine, splitWords } from '../../src/chat/commands.ts';

const command = (line: string) => {
  const parsed = parseChatLine(line);
  if (!parsed.ok) throw new Error(`refused: ${parsed.problem}`);
  return parsed.command;
};
const problem = (line: string) => {
  const parsed = parseChatLine(line);
  if (parsed.ok) throw new Error(`accepted: ${JSON.stringify(parsed.command)}`);
  return parsed.problem;
};

describe('parseChatLine', () => {
  it('reads plain text as a message, kept exactly as typed', () => {
    expect(command('hello there  ')).toEqual({ kind: 'say', text: 'hello there  ' });
    expect(command('  indented')).toEqual({ kind: 'say', text: '  indented' });
  });

  it('drops a Windows line ending', () => {
    expect(command('hi\r')).toEqual({ kind: 'say', text: 'hi' });
    expect(command('/quit\r\n')).toEqual({ kind: 'quit' });
  });

  it('reads a blank line as nothing to do', () => {
    expect(command('')).toBeUndefined();
    expect(command('   ')).toBeUndefined();
  });

  it('says a line starting with // as a message starting with /', () => {
    expect(command('//send is a command')).toEqual({ kind: 'say', text: '/send is a command' });
    expect(command('//')).toEqual({ kind: 'say', text: '/' });
  });

  it('reads /send with paths, quoted ones holding spaces and backslashes as typed', () => {
    expect(command('/send a.txt "my folder/b c.txt" C:\\Users\\bob\\x')).toEqual({
      kind: 'send',
      paths: ['a.txt', 'my folder/b c.txt', 'C:\\Users\\bob\\x'],
      to: undefined,
    });
  });

  it('reads /send @name and /send @N as the one who gets it', () => {
    expect(command('/send @bob a.txt')).toEqual({
      kind: 'send',
      paths: ['a.txt'],
      to: { name: 'bob' },
    });
    expect(command('/send @2 a.txt b')).toEqual({
      kind: 'send',
      paths: ['a.txt', 'b'],
      to: { peer: 2 },
    });
    // A quoted @ is a path, not a target.
    expect(command('/send "@home.txt"')).toEqual({
      kind: 'send',
      paths: ['@home.txt'],
      to: undefined,
    });
  });

  it('refuses /send without paths, a bare @ or an unclosed quote, saying how', () => {
    expect(problem('/send')).toMatch(/\/send \[@name\] PATH/);
    expect(problem('/send @bob')).toMatch(/PATH/);
    expect(problem('/send @ a')).toMatch(/@bob/);
    expect(problem('/send "a b')).toMatch(/quote/);
    expect(problem('/send ""')).toMatch(/PATH/);
  });

  it('reads /accept with an optional #N and folder', () => {
    expect(command('/accept')).toEqual({ kind: 'accept', offer: undefined, dir: undefined });
    expect(command('/accept #3')).toEqual({ kind: 'accept', offer: 3, dir: undefined });
    expect(command('/accept #3 ~/in')).toEqual({ kind: 'accept', offer: 3, dir: '~/in' });
    expect(command('/accept "/tmp/my files"')).toEqual({
      kind: 'accept',
      offer: undefined,
      dir: '/tmp/my files',
    });
  });

  it('refuses /accept with a bad number or two folders', () => {
    expect(problem('/accept #0')).toMatch(/#1/);
    expect(problem('/accept #x')).toMatch(/#1/);
    expect(problem('/accept #1 my files')).toMatch(/quote/);
  });

  it('reads /decline with an optional #N and nothing else', () => {
    expect(command('/decline')).toEqual({ kind: 'decline', offer: undefined });
    expect(command('/decline #12')).toEqual({ kind: 'decline', offer: 12 });
    expect(problem('/decline #1 now')).toMatch(/\/decline \[#N\]/);
  });

  it('reads /peers, /help and /quit in any case, and refuses arguments to them', () => {
    expect(command('/peers')).toEqual({ kind: 'peers' });
    expect(command('/HELP')).toEqual({ kind: 'help' });
    expect(command('/Quit')).toEqual({ kind: 'quit' });
    expect(problem('/quit now')).toMatch(/\/help/);
  });

  it('refuses an unknown command with a line that points to /help and //', () => {
    expect(problem('/x')).toMatch(/unknown command \/x; type \/help/);
    expect(problem('/')).toMatch(/\/help/);
    expect(problem('/x')).toContain('//');
  });

  it('T3: escapes what was typed in the command name it shows back', () => {
    const shown = problem('/\x1b[2Jx');
    expect(shown).not.toContain('\x1b');
    expect(shown).toContain('\\x1b');
  });
});

describe('splitWords', () => {
  it('joins quoted and unquoted parts of one word, and keeps an empty quoted word', () => {
    expect(splitWords('a"b c"d ""')).toEqual([
      { text: 'ab cd', quoted: true },
      { text: '', quoted: true },
    ]);
  });
});
