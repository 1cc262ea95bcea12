/**
 * One conversation on the command line: typed lines (or `--json` command lines) drive a
 * Conversation, and its events are shown above the prompt (or printed as JSON lines).
 */
import type { Readable, Writable } from 'node:stream';
import {
  type ChatPeer,
  type Conversation,
  type ConversationEvents,
  hiddenTopLevel,
  type IncomingOffer,
} from '@ferry/engine';
import { escapeForDisplay as esc, FerryError, toJsonLine } from '@ferry/protocol';
import { defaultFolderIn, expandHome, prepareDefaultFolder } from '../default-folder.ts';
import { EXIT } from '../exit.ts';
import type { Io } from '../io.ts';
import { PROGRESS_EVERY_MS } from '../render.ts';
import type { ChatOutput } from './chat-output.ts';
import { type ChatCommand, type ChatTarget, parseChatLine } from './commands.ts';
import { parseJsonCommand } from './json-commands.ts';
import { jsonEventFor, type JsonOut, peerFields } from './json-output.ts';
import { type ChatEventName, ChatView } from './render.ts';
import { type ChatScreen, LinePrompt, PlainScreen, type ScreenInput } from './screen.ts';
import type { ChatWindowController } from './window-controller.ts';

/** The streams of a conversation: the shared ones plus the input it reads. */
export interface ChatIo extends Io {
  readonly stdin: Readable & { readonly isTTY?: boolean };
}

/** How `runChat` is set up, from the command line. */
export interface ChatOptions {
  readonly io: ChatIo;
  /** The listener (`ferry-send --chat`) or a joiner (`ferry-receive --chat`). */
  readonly role: 'listener' | 'joiner';
  /** JSON events out, JSON commands in. */
  readonly json: boolean;
  /** Accept every offer without asking (`--yes`): into `out`, or the default folder. */
  readonly yes: boolean;
  /** `--out`, as typed: where offers go when `/accept` names no folder. */
  readonly out?: string | undefined;
  /** The user's home folder (for `~` and the default folder). */
  readonly home: string;
  /** The folder used when none is named; `Downloads` in the home folder by default. */
  readonly defaultFolder?: string | undefined;
  readonly verbose?: boolean;
  /** Aborted on SIGINT/SIGTERM: leaves the conversation. */
  readonly signal: AbortSignal;
  /** The screen, for tests; chosen from the streams otherwise. */
  readonly screen?: (input: ScreenInput) => ChatScreen;
  /** Monotonic milliseconds; `performance.now` by default. */
  readonly now?: () => number;
  /** Lines of stdin already being read (after a pairing code read from it); stdin otherwise. */
  readonly lines?: AsyncIterator<string> | undefined;
  /** Where the app's other views write: printed above the input while the conversation runs. */
  readonly output?: ChatOutput | undefined;
  /**
   * Ferry's window (`--ui`): it shows the conversation too and takes the user's answers; the end
   * of stdin then leaves the conversation to the window (Quit or Ctrl-C end it).
   */
  readonly window?: ChatWindowController | undefined;
}

/** `error` event code for a command line that cannot be read. */
export const BAD_COMMAND = 'ERR_BAD_COMMAND';

/**
 * Runs a conversation until it ends for this side; returns the exit code: 0 after this user quit
 * or the listener closed it, 130 after Ctrl-C, 1 when the connection was lost or cut off.
 */
export async function runChat(conversation: Conversation, options: ChatOptions): Promise<number> {
  const { io, json, signal } = options;
  const now = options.now ?? (() => performance.now());
  const defaultFolder = options.defaultFolder ?? defaultFolderIn(options.home);
  let interrupted = false;
  let quitting = false;

  const quit = (byInterrupt: boolean) => {
    interrupted ||= byInterrupt;
    if (quitting) return;
    quitting = true;
    conversation.quit().catch(() => {
      // Leaving cannot fail in a way the user can act on: `done` still settles.
    });
  };
  const input: ScreenInput = {
    line: (text) => void handle(text),
    interrupt: () => quit(true),
    end: () => {
      if (!options.window) quit(false);
    },
  };
  const screen = options.screen?.(input) ?? chooseScreen(io, json, input, options.lines);
  options.output?.route(screen);
  /** The offer folder `--yes` takes without asking, or undefined to ask. */
  const autoAccept = (offer: IncomingOffer): string | undefined => {
    if (!options.yes) return undefined;
    // Hidden top-level names go only into a folder the user named (K2).
    if (options.out === undefined && hiddenTopLevel(offer.offer).length > 0) return undefined;
    return options.out === undefined ? defaultFolder : expandHome(options.out, options.home);
  };
  const view = new ChatView({
    role: options.role,
    width: () => screen.width,
    verbose: options.verbose,
    autoAccept,
    now,
  });

  const emit = ([name, fields]: JsonOut) => screen.print([toJsonLine(name, fields).trimEnd()]);
  const say = (lines: readonly string[]) => screen.print(lines);
  /** A command that could not be done: an `error` event, or a line saying what to do. */
  const problem = (code: string, message: string) => {
    if (json) emit(['error', { code, message }]);
    else say(view.fit([message]));
  };

  // Progress: the status line at most every PROGRESS_EVERY_MS, JSON per transfer likewise.
  const every = json
    ? PROGRESS_EVERY_MS.json
    : screen.width === undefined || !io.stdout.isTTY
      ? PROGRESS_EVERY_MS.plain
      : PROGRESS_EVERY_MS.tty;
  let statusAt = Number.NEGATIVE_INFINITY;
  const moved = new Map<string, { bytes: number; at: number }>();
  const showStatus = (force: boolean) => {
    if (json) return;
    const at = now();
    if (!force && at - statusAt < every) return;
    statusAt = at;
    screen.status(view.status());
  };

  const shown = new Set<number>();
  /** This terminal's own `say` is running (`said` comes from it, not from the window). */
  let saying = false;
  const unsubscribe: (() => void)[] = [];
  const on = <K extends ChatEventName>(name: K, extra?: (event: ConversationEvents[K]) => void) => {
    unsubscribe.push(
      conversation.on(name, (event) => {
        if (json) {
          const out = jsonEventFor(name, event);
          if (out) emit(out);
        }
        const lines = view.lines(name, event);
        // What was just typed here is on the screen already: only another front-end's is shown.
        if (!json && !(name === 'said' && saying)) say(lines);
        extra?.(event);
      }),
    );
  };
  on('joined');
  on('left');
  on('message');
  on('said');
  on('offer', (offer) => offerArrived(offer));
  on('report');
  on('declined');
  on('transfer-start', () => showStatus(true));
  on('progress', ({ number, direction, bytes }) => {
    if (!json) return showStatus(false);
    const key = `${direction}${number}`;
    const seen = moved.get(key) ?? { bytes: 0, at: Number.NEGATIVE_INFINITY };
    seen.bytes += bytes;
    moved.set(key, seen);
    const at = now();
    if (at - seen.at < every) return;
    seen.at = at;
    emit(['progress', { offer: number, direction, bytes: seen.bytes }]);
  });
  // A file's end redraws the status line with the bytes as they are, not as last shown.
  on('file-saved', () => showStatus(true));
  on('file-failed', () => showStatus(true));
  on('file-sent', () => showStatus(true));
  on('transfer-done', ({ number, direction }) => {
    moved.delete(`${direction}${number}`);
    showStatus(true);
  });
  on('transfer-resumed');
  on('file-restarted');
  on('reconnecting', () => showStatus(true));
  on('reconnected');
  on('partial-kept');
  on('ended');

  const offerArrived = (offer: IncomingOffer) => {
    shown.add(offer.number);
    const dir = autoAccept(offer);
    if (dir !== undefined) void accept(offer.number, dir, options.out === undefined);
  };

  const accept = async (number: number, dir: string, isDefault: boolean) => {
    try {
      if (isDefault) await prepareDefaultFolder(dir, options.home);
      await conversation.accept(number, dir);
    } catch (error) {
      problem(
        codeOf(error),
        `Could not accept #${number}: ${messageOf(error)}. Type /accept #${number} DIR to choose another folder, or /decline #${number}.`,
      );
    }
  };

  const handle = async (line: string) => {
    const parsed = json ? parseJsonCommand(line) : parseChatLine(line);
    if (!parsed.ok) return problem(BAD_COMMAND, parsed.problem);
    if (parsed.command) await run(parsed.command);
  };

  const run = async (command: ChatCommand) => {
    switch (command.kind) {
      case 'say':
        // `said` is emitted within `say`: the flag tells it apart from a message said elsewhere.
        saying = true;
        try {
          conversation.say(command.text);
        } catch (error) {
          problem(codeOf(error), `Not sent: ${messageOf(error)}`);
        } finally {
          saying = false;
        }
        return;
      case 'send':
        return send(command.paths, command.to);
      case 'accept': {
        const number = command.offer ?? conversation.waiting()[0]?.number;
        const offer = conversation.waiting().find((waiting) => waiting.number === number);
        if (number === undefined || !offer)
          return problem(BAD_COMMAND, noSuchOffer(command.offer, conversation));
        if (
          command.dir === undefined &&
          options.out === undefined &&
          hiddenTopLevel(offer.offer).length > 0
        ) {
          return problem(
            BAD_COMMAND,
            `#${number} has hidden names at the top level: name a folder of their own with /accept #${number} DIR.`,
          );
        }
        const named = command.dir ?? options.out;
        return accept(
          number,
          named === undefined ? defaultFolder : expandHome(named, options.home),
          named === undefined,
        );
      }
      case 'decline': {
        const number = command.offer ?? conversation.waiting()[0]?.number;
        if (
          number === undefined ||
          !conversation.waiting().some((waiting) => waiting.number === number)
        ) {
          return problem(BAD_COMMAND, noSuchOffer(command.offer, conversation));
        }
        try {
          await conversation.decline(number);
          if (!json) say([`You declined #${number}.`]);
        } catch (error) {
          problem(codeOf(error), `Could not decline #${number}: ${messageOf(error)}`);
        }
        return;
      }
      case 'peers':
        if (json) emit(['peers', { peers: conversation.peers().map(peerFields) }]);
        else say(view.peers(conversation.self, conversation.peers()));
        return;
      case 'help':
        if (json)
          emit([
            'error',
            {
              code: BAD_COMMAND,
              message: 'help is for people: see the README for the JSON commands',
            },
          ]);
        else say(view.help());
        return;
      case 'quit':
        return quit(false);
    }
  };

  const send = async (paths: readonly string[], to: ChatTarget | undefined) => {
    let peer: ChatPeer | undefined;
    if (to !== undefined) {
      peer = findPeer(conversation.peers(), to);
      if (!peer) {
        const who = 'peer' in to ? `number ${to.peer}` : `called ${esc(to.name)}`;
        return problem(BAD_COMMAND, `No one ${who} is in the conversation; /peers lists who is.`);
      }
    }
    try {
      const numbers = await conversation.send(
        paths.map((path) => expandHome(path, options.home)),
        peer?.peer,
      );
      // A joiner's offers go to the listener (peer 0).
      const listener = conversation.peers().find((other) => other.peer === 0);
      const target = peer
        ? esc(peer.name)
        : options.role === 'listener'
          ? 'everyone'
          : esc(listener?.name ?? 'the host');
      if (!json)
        say(
          view.fit([
            `Offered to ${target} as ${numbers.map((n) => `#${n}`).join(', ')}; waiting for an answer.`,
          ]),
        );
    } catch (error) {
      problem(codeOf(error), `Could not send: ${messageOf(error)}`);
    }
  };

  const onAbort = () => quit(true);
  signal.addEventListener('abort', onAbort, { once: true });
  const detach = options.window?.attach(conversation, () => quit(false));
  try {
    // The conversation may have begun before this screen: show where things stand.
    const ready = { self: conversation.self, peers: conversation.peers() };
    if (json) emit(jsonEventFor('ready', ready)!);
    else say(view.lines('ready', ready));
    for (const offer of conversation.waiting()) {
      if (shown.has(offer.number)) continue;
      if (json) emit(jsonEventFor('offer', offer)!);
      else say(view.lines('offer', offer));
      offerArrived(offer);
    }
    if (signal.aborted) quit(true);
    const ended = await conversation.done;
    if (ended.reason === 'quit') return interrupted ? EXIT.interrupted : EXIT.ok;
    return ended.reason === 'closed' ? EXIT.ok : EXIT.failure;
  } finally {
    signal.removeEventListener('abort', onAbort);
    detach?.();
    for (const off of unsubscribe) off();
    screen.close();
    options.output?.route(undefined);
  }
}

/** A prompt on a terminal, plain lines through pipes, JSON lines with --json. */
function chooseScreen(
  io: ChatIo,
  json: boolean,
  input: ScreenInput,
  lines: AsyncIterator<string> | undefined,
): ChatScreen {
  if (!lines && !json && io.stdin.isTTY && io.stdout.isTTY)
    return new LinePrompt(io.stdin, io.stdout as unknown as Writable, input);
  return new PlainScreen(lines ?? io.stdin, io.stdout, input, json);
}

/** A peer by number, or by name: exactly as shown, or ignoring case when only one matches. */
export function findPeer(peers: readonly ChatPeer[], to: ChatTarget): ChatPeer | undefined {
  if ('peer' in to) return peers.find((peer) => peer.peer === to.peer);
  const exact = peers.find((peer) => peer.name === to.name);
  if (exact) return exact;
  const folded = peers.filter((peer) => peer.name.toLowerCase() === to.name.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

function noSuchOffer(asked: number | undefined, conversation: Conversation): string {
  const waiting = conversation.waiting().map((offer) => `#${offer.number}`);
  const now =
    waiting.length === 0 ? 'no offer is waiting for an answer' : `waiting: ${waiting.join(', ')}`;
  return asked === undefined
    ? `Nothing to answer: ${now}.`
    : `There is no offer #${asked} waiting (${now}).`;
}

function codeOf(error: unknown): string {
  return error instanceof FerryError
    ? error.code
    : (error as { code?: unknown } | null)?.code === 'ERR_USAGE'
      ? 'ERR_USAGE'
      : 'ERR_INTERNAL';
}

function messageOf(error: unknown): string {
  return esc(error instanceof Error ? error.message : String(error));
}
