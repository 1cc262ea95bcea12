import { escapeForDisplay } from '@ferry/protocol';
import { truncate } from '../fit.ts';

/**
 * What a user can type in a conversation, and the parser from a typed line to a command. Pure:
 * no terminal, no conversation; the same commands come from `--json` lines (json-commands.ts).
 */

/** Who a `/send` goes to: a name in the conversation, or a peer number from `/peers`. */
export type ChatTarget = { readonly name: string } | { readonly peer: number };

/** One thing the user asked for. */
export type ChatCommand =
  | { readonly kind: 'say'; readonly text: string }
  | {
      readonly kind: 'send';
      readonly paths: readonly string[];
      readonly to?: ChatTarget | undefined;
    }
  | {
      readonly kind: 'accept';
      readonly offer?: number | undefined;
      readonly dir?: string | undefined;
    }
  | { readonly kind: 'decline'; readonly offer?: number | undefined }
  | { readonly kind: 'peers' }
  | { readonly kind: 'help' }
  | { readonly kind: 'quit' };

/** A parsed line: a command, nothing (an empty line), or what is wrong with it in words. */
export type ParsedLine =
  | { readonly ok: true; readonly command: ChatCommand | undefined }
  | { readonly ok: false; readonly problem: string };

/** The commands and what each does, as `/help` lists them. */
export const CHAT_COMMANDS: readonly (readonly [usage: string, what: string])[] = [
  ['TEXT', 'say TEXT to everyone; //TEXT says "/TEXT"'],
  ['/send [@name|@N] PATH...', 'offer files and folders; quote "a path" with spaces'],
  ['/accept [#N] [DIR]', 'take offer #N (the oldest without #N) into DIR'],
  ['/decline [#N]', 'refuse offer #N (the oldest without #N)'],
  ['/peers', 'list who is in the conversation'],
  ['/help', 'show this list'],
  ['/quit', 'leave the conversation (Ctrl-C does the same)'],
];

const ONE_OFFER = /^#([1-9]\d{0,8})$/;
const PEER_NUMBER = /^@(\d{1,9})$/;

/** Parses one typed line. A line ending (`\r\n` from Windows) is ignored. */
export function parseChatLine(line: string): ParsedLine {
  const text = line.replace(/\r?\n?$/, '');
  if (text.trim() === '') return { ok: true, command: undefined };
  // `//…` says a message that starts with `/`.
  if (text.startsWith('//')) return { ok: true, command: { kind: 'say', text: text.slice(1) } };
  if (!text.startsWith('/')) return { ok: true, command: { kind: 'say', text } };
  const [, name = '', rest = ''] = /^\/(\S*)\s*([\s\S]*)$/.exec(text) ?? [];
  const command = name.toLowerCase();
  const words = splitWords(rest);
  if (typeof words === 'string') return { ok: false, problem: `/${shown(command)}: ${words}` };
  switch (command) {
    case 'send':
      return parseSend(words);
    case 'accept':
      return parseAnswer('accept', words);
    case 'decline':
      return parseAnswer('decline', words);
    case 'peers':
    case 'help':
    case 'quit':
      if (words.length > 0)
        return {
          ok: false,
          problem: `/${command} takes nothing after it; type /help to see the commands`,
        };
      return { ok: true, command: { kind: command } };
    default:
      return {
        ok: false,
        problem: `unknown command /${shown(name)}; type /help to see the commands (start a message with // to say a line that starts with /)`,
      };
  }
}

/** A word as typed, and whether it was in quotes (a quoted `@x` or `#1` is a path). */
interface Word {
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * Splits at blanks; `"…"` holds blanks. Backslashes are kept as typed, so Windows paths need no
 * doubling. Returns what is wrong for an unclosed quote.
 */
export function splitWords(text: string): Word[] | string {
  const words: Word[] = [];
  let current = '';
  let quoted = false;
  let inWord = false;
  let inQuotes = false;
  for (const char of text) {
    if (inQuotes) {
      if (char === '"') inQuotes = false;
      else current += char;
    } else if (char === '"') {
      inQuotes = true;
      quoted = true;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push({ text: current, quoted });
      current = '';
      quoted = false;
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inQuotes) return 'a quote (") is not closed';
  if (inWord) words.push({ text: current, quoted });
  return words;
}

function parseSend(words: readonly Word[]): ParsedLine {
  let to: ChatTarget | undefined;
  let paths = words;
  const first = words[0];
  if (first && !first.quoted && first.text.startsWith('@')) {
    const number = PEER_NUMBER.exec(first.text);
    if (number) to = { peer: Number(number[1]) };
    else if (first.text.length > 1) to = { name: first.text.slice(1) };
    else
      return {
        ok: false,
        problem: '/send: name who gets it after @, like @bob or @2 (see /peers)',
      };
    paths = words.slice(1);
  }
  if (paths.length === 0 || paths.some((word) => word.text === '')) {
    return {
      ok: false,
      problem: '/send needs files or folders: /send [@name] PATH... (quote a path with spaces)',
    };
  }
  return { ok: true, command: { kind: 'send', paths: paths.map((word) => word.text), to } };
}

function parseAnswer(kind: 'accept' | 'decline', words: readonly Word[]): ParsedLine {
  let offer: number | undefined;
  let rest = words;
  const first = words[0];
  if (first && !first.quoted && first.text.startsWith('#')) {
    const number = ONE_OFFER.exec(first.text);
    if (!number) return { ok: false, problem: `/${kind}: an offer is #1, #2, …, as shown with it` };
    offer = Number(number[1]);
    rest = words.slice(1);
  }
  if (kind === 'decline') {
    if (rest.length > 0)
      return { ok: false, problem: '/decline takes only the offer: /decline [#N]' };
    return { ok: true, command: { kind, offer } };
  }
  if (rest.length > 1 || rest[0]?.text === '') {
    return {
      ok: false,
      problem: '/accept takes one folder: /accept [#N] [DIR] (quote a folder with spaces)',
    };
  }
  return { ok: true, command: { kind, offer, dir: rest[0]?.text } };
}

/** A command name as typed, safe to print and short. */
function shown(name: string): string {
  return truncate(escapeForDisplay(name), 20);
}
