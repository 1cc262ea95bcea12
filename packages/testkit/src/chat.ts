/**
 * Conversations between real processes: a listener (`ferry-send --chat`) and joiners
 * (`ferry-receive --chat HOST:PORT`), either scripted through `--json` (events out, JSON commands
 * on stdin) or on a pseudo-terminal, typed at as a person would. Every process gets its own
 * FERRY_CONFIG_DIR and is killed after the test if it still runs.
 */
import { cliEnv, type CliProcess } from './cli-process.ts';
import {
  RECEIVE_BIN,
  type RunningSender,
  SEND_BIN,
  startReceiver,
  startSender,
  WAIT,
} from './harness.ts';
import type { ExitInfo, JsonEvent } from './output-log.ts';
import { type PtyProcess, spawnOnPty } from './pty.ts';

/** A JSON command of chat mode, one line on stdin (see the README). */
export type ChatCommandLine =
  | { readonly cmd: 'say'; readonly text: string }
  | { readonly cmd: 'send'; readonly paths: readonly string[]; readonly to?: string | number }
  | { readonly cmd: 'accept'; readonly offer: number; readonly dir?: string }
  | { readonly cmd: 'decline'; readonly offer: number }
  | { readonly cmd: 'peers' }
  | { readonly cmd: 'quit' };

/** One side of a conversation run with `--json`. */
export interface JsonChatter {
  readonly process: CliProcess;
  readonly events: readonly JsonEvent[];
  /** Writes one command line to its stdin. */
  command(command: ChatCommandLine): void;
  /** Writes one line as it is (for malformed commands). */
  writeLine(line: string): void;
  /** `{"cmd":"say"}` */
  say(text: string): void;
  /** The first event `name` matching `match`, among those printed after `after` events. */
  waitForEvent(
    name: string,
    match?: (event: JsonEvent) => boolean,
    options?: { readonly timeoutMs?: number; readonly after?: number },
  ): Promise<JsonEvent>;
  /** The `message` event carrying `text`. */
  waitForMessage(text: string, timeoutMs?: number): Promise<JsonEvent>;
  /** Events named `name` printed so far. */
  all(name: string): JsonEvent[];
  /** `{"cmd":"quit"}`, then the exit. */
  quit(timeoutMs?: number): Promise<ExitInfo>;
  waitForExit(timeoutMs?: number): Promise<ExitInfo>;
}

function jsonChatter(proc: CliProcess): JsonChatter {
  const writeLine = (line: string) => {
    if (!proc.child.stdin) throw new Error(proc.log.report('its stdin is not a pipe'));
    proc.child.stdin.write(`${line}\n`);
  };
  const command = (cmd: ChatCommandLine) => writeLine(JSON.stringify(cmd));
  const waitForEvent: JsonChatter['waitForEvent'] = (name, match = () => true, options = {}) => {
    const after = options.after ?? 0;
    return proc.log.waitFor(
      `the "${name}" event`,
      () => proc.events.slice(after).find((e) => e.event === name && match(e)),
      options.timeoutMs ?? WAIT.transferMs,
    );
  };
  return {
    process: proc,
    events: proc.events,
    command,
    writeLine,
    say: (text) => command({ cmd: 'say', text }),
    waitForEvent,
    waitForMessage: (text, timeoutMs = WAIT.reactMs) =>
      waitForEvent('message', (e) => e.text === text, { timeoutMs }),
    all: (name) => proc.events.filter((e) => e.event === name),
    quit: (timeoutMs = WAIT.reactMs) => {
      if (proc.running) command({ cmd: 'quit' });
      return proc.waitForExit(timeoutMs);
    },
    waitForExit: (timeoutMs = WAIT.reactMs) => proc.waitForExit(timeoutMs),
  };
}

/** Options of {@link startJsonListener}. */
export interface ListenerOptions {
  /** Files and folders offered to each one who joins. */
  readonly paths?: readonly string[];
  /** `--name`; `alice` by default. */
  readonly name?: string;
  /** More arguments (`--no-encryption`, `--out DIR`, `--yes`, ...). */
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A `ferry-send --chat --json` listener: the running sender, and its side of the conversation. */
export interface JsonListener extends JsonChatter {
  readonly sender: RunningSender;
  /** `127.0.0.1:<port>` */
  readonly address: string;
}

/**
 * Starts `ferry-send --chat --json --name NAME` on 127.0.0.1, a free port, with stdin a pipe for
 * JSON commands; resolves once it listens (and shows its first code when it encrypts) and its
 * side of the conversation is ready.
 */
export async function startJsonListener(options: ListenerOptions = {}): Promise<JsonListener> {
  const sender = await startSender(
    options.paths ?? [],
    ['--chat', '--name', options.name ?? 'alice', ...(options.args ?? [])],
    { stdin: 'pipe', cwd: options.cwd, env: options.env },
  );
  const chatter = jsonChatter(sender.process);
  await chatter.waitForEvent('chat-ready', undefined, { timeoutMs: WAIT.startMs });
  return { ...chatter, sender, address: sender.address };
}

/** Options of {@link joinJson}. */
export interface JoinOptions {
  /** More arguments (`--out DIR`, `--yes`, ...), put before the address. */
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Waits for `chat-ready` (true by default); false returns at once, for refusals. */
  readonly ready?: boolean;
}

/**
 * Starts `ferry-receive --chat --json --name NAME [...args] ADDRESS` against `listener`, given a
 * fresh pairing code in FERRY_CODE when the listener encrypts, with stdin a pipe for JSON
 * commands; resolves once it has joined (`chat-ready`).
 */
export async function joinJson(
  listener: JsonListener | RunningSender,
  name: string,
  options: JoinOptions = {},
): Promise<JsonChatter> {
  const sender = 'sender' in listener ? listener.sender : listener;
  const proc = await startReceiver(
    ['--chat', '--json', '--name', name, ...(options.args ?? []), sender.address],
    {
      code: sender.encryption ? sender : undefined,
      stdin: 'pipe',
      cwd: options.cwd,
      env: options.env,
    },
  );
  const chatter = jsonChatter(proc);
  if (options.ready ?? true)
    await chatter.waitForEvent('chat-ready', undefined, { timeoutMs: WAIT.startMs });
  return chatter;
}

/** One side of a conversation on a pseudo-terminal. */
export interface ChatTerminal {
  readonly terminal: PtyProcess;
  /** Everything shown so far, escape sequences removed. */
  screen(): string;
  /** Types `text` and Enter. */
  line(text: string): void;
  /**
   * Waits until the screen shows `pattern` after the last match this helper waited for (or
   * after `from`), and moves past it: waits in a row match lines in the order they appear.
   */
  expect(pattern: RegExp | string, timeoutMs?: number, from?: number): Promise<number>;
  /** {@link expect}, resolving with the match (for its groups). */
  match(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Where the next {@link expect} starts looking. */
  mark(): number;
  waitForExit(timeoutMs?: number): Promise<ExitInfo>;
}

function chatTerminal(terminal: PtyProcess): ChatTerminal {
  let cursor = 0;
  return {
    terminal,
    screen: () => terminal.screen(),
    line: (text) => terminal.type(`${text}\r`),
    expect: async (pattern, timeoutMs = WAIT.reactMs, from = cursor) => {
      cursor = await terminal.waitForText(pattern, timeoutMs, from);
      return cursor;
    },
    match: async (pattern, timeoutMs = WAIT.reactMs) => {
      const from = cursor;
      const found = await terminal.log.waitFor(
        `the screen to show ${String(pattern)}`,
        () => {
          const match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(
            terminal.screen().slice(from),
          );
          return match ?? undefined;
        },
        timeoutMs,
      );
      cursor = from + found.index + found[0].length;
      return found;
    },
    mark: () => cursor,
    waitForExit: (timeoutMs = WAIT.reactMs) => terminal.waitForExit(timeoutMs),
  };
}

/** A listener on a terminal: where it listens and the code it shows. */
export interface PtyListener extends ChatTerminal {
  readonly address: string;
  /** The pairing code shown last, or undefined without encryption. */
  code(): string | undefined;
  /** The code shown once `used` is no longer shown (a code pairs one joiner). */
  codeAfter(used: string | undefined, timeoutMs?: number): Promise<string>;
}

/** Options of the terminal helpers. */
export interface PtyOptions {
  readonly name: string;
  /** More arguments. */
  readonly args?: readonly string[];
  /** The working folder, and HOME (so `~/Downloads` is a temp folder). */
  readonly home: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * `ferry-send --chat --host 127.0.0.1 --port 0 --name NAME [...args] [paths]` on a terminal;
 * resolves once it shows its address (and its code when it encrypts) and its prompt is up.
 */
export async function startPtyListener(
  options: PtyOptions & { readonly paths?: readonly string[] },
): Promise<PtyListener> {
  const env = {
    ...cliEnv({ HOME: options.home, TERM: 'xterm-256color' }),
    ...options.env,
  };
  const terminal = spawnOnPty(
    SEND_BIN,
    [
      '--chat',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--name',
      options.name,
      ...(options.args ?? []),
      '--',
      ...(options.paths ?? []),
    ],
    { cwd: options.home, env },
  );
  const clear = options.args?.includes('--no-encryption') ?? false;
  const port = await terminal.log.waitFor(
    'the address and the pairing code',
    () => {
      const screen = terminal.screen();
      const port = /ferry-receive(?: --chat)? 127\.0\.0\.1:(\d+)/.exec(screen)?.[1];
      const code = /Pairing code: (\d{4}-\d{4})/.exec(screen)?.[1];
      return port && (clear || code) ? port : undefined;
    },
    WAIT.startMs,
  );
  const chat = chatTerminal(terminal);
  await chat.expect('* The conversation is open', WAIT.startMs, 0);
  const code = () => {
    const codes = [...terminal.screen().matchAll(/pairing code: (\d{4}-\d{4})/gi)];
    return codes.at(-1)?.[1];
  };
  return {
    ...chat,
    address: `127.0.0.1:${port}`,
    code,
    codeAfter: (used, timeoutMs = WAIT.reactMs) =>
      terminal.log.waitFor(
        'a new pairing code',
        () => {
          const shown = code();
          return shown !== undefined && shown !== used ? shown : undefined;
        },
        timeoutMs,
      ),
  };
}

/**
 * `ferry-receive --chat --name NAME [...args] ADDRESS` on a terminal, given `code` in FERRY_CODE;
 * resolves once it has joined (its opening line is shown).
 */
export async function joinOnPty(
  address: string,
  code: string | undefined,
  options: PtyOptions & { readonly ready?: boolean },
): Promise<ChatTerminal> {
  const env = {
    ...cliEnv({ HOME: options.home, TERM: 'xterm-256color' }),
    ...(code === undefined ? {} : { FERRY_CODE: code }),
    ...options.env,
  };
  const terminal = spawnOnPty(
    RECEIVE_BIN,
    ['--chat', '--name', options.name, ...(options.args ?? []), address],
    { cwd: options.home, env },
  );
  const chat = chatTerminal(terminal);
  if (options.ready ?? true) await chat.expect('* You joined the conversation as', WAIT.startMs);
  return chat;
}
