/**
 * A conversation's events as lines for a person (PROTOCOL.md §12 as people see it). No terminal
 * here: the screen (prompt.ts) prints what this returns. Every string from a peer goes through
 * escapeForDisplay, so a message or a name can never move the cursor, recolour or hide text.
 */
import type { ChatPeer, ConversationEvents, Direction, IncomingOffer } from '@ferry/engine';
import { escapeForDisplay as esc } from '@ferry/protocol';
import { truncate, wrapLine } from '../fit.ts';
import { offerLines } from '../offer-lines.ts';
import {
  formatBytes,
  formatDuration,
  formatProgressLine,
  ProgressMeter,
  type ProgressSnapshot,
} from '../progress.ts';
import { plural } from '../render.ts';
import { reportLines } from '../report-lines.ts';
import { CHAT_COMMANDS } from './commands.ts';

/** Saved files listed one by one in each transfer before the rest are only counted. */
export const LISTED_FILES = 5;

/** How the view is set up. */
export interface ChatViewOptions {
  /** Which side this is: the listener holds the conversation, a joiner joined it. */
  readonly role: 'listener' | 'joiner';
  /**
   * Columns to fit, or a function asked each time (a terminal can be resized); undefined
   * writes plain lines, unwrapped (not a terminal).
   */
  readonly width?: number | (() => number | undefined) | undefined;
  /** List every file, with its SHA-256. */
  readonly verbose?: boolean;
  /** The folder an offer is accepted into without asking (`--yes`), or undefined to ask. */
  readonly autoAccept?: (offer: IncomingOffer) => string | undefined;
  /** Monotonic milliseconds, for the rate of transfers; `performance.now` by default. */
  readonly now?: () => number;
}

/** The events of a conversation, by name (ConversationEvents also admits any string). */
export type ChatEventName =
  | 'ready'
  | 'joined'
  | 'left'
  | 'message'
  | 'said'
  | 'offer'
  | 'report'
  | 'declined'
  | 'transfer-start'
  | 'progress'
  | 'file-saved'
  | 'file-failed'
  | 'file-sent'
  | 'transfer-done'
  | 'transfer-resumed'
  | 'file-restarted'
  | 'reconnecting'
  | 'reconnected'
  | 'partial-kept'
  | 'ended';

type Lines<K extends ChatEventName> = (event: ConversationEvents[K]) => string[];

/** One transfer in flight, for the status line. */
interface Flight {
  readonly label: string;
  readonly meter: ProgressMeter;
  listed: number;
}

/** Turns conversation events into lines, and keeps what the status line shows. */
export class ChatView {
  readonly #options: ChatViewOptions;
  readonly #now: () => number;
  readonly #flights = new Map<string, Flight>();

  constructor(options: ChatViewOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The lines event `name` prints, fitted to the width. */
  lines<K extends ChatEventName>(name: K, event: ConversationEvents[K]): string[] {
    return this.fit((this.#renderers[name] as Lines<K>)(event));
  }

  /** The status line: every transfer in flight with its progress, or undefined when none runs. */
  status(): string | undefined {
    if (this.#flights.size === 0) return undefined;
    const now = this.#now();
    const entries: { label: string; snapshot: ProgressSnapshot }[] = [];
    for (const flight of this.#flights.values())
      entries.push({ label: flight.label, snapshot: flight.meter.snapshot(now) });
    const width = this.#width();
    const line = formatProgressLine(entries, width);
    return width === undefined ? line : truncate(line, width - 1);
  }

  /** The `/peers` table: number, name, address, key and transfers in flight of everyone else. */
  peers(self: ChatPeer, peers: readonly ChatPeer[]): string[] {
    const lines = [`You are ${esc(self.name)} (peer ${self.peer}).`];
    if (peers.length === 0) return this.fit([...lines, 'No one else is in the conversation yet.']);
    lines.push(row('#', 'NAME', 'ADDRESS', 'KEY', 'TRANSFERS'));
    for (const peer of peers) {
      lines.push(
        row(
          String(peer.peer),
          esc(peer.name),
          peer.address || '-',
          peer.key || 'none (clear)',
          String(peer.transfers),
        ),
      );
    }
    return this.fit(lines);
  }

  /** The `/help` list. */
  help(): string[] {
    const lines = ['Commands:'];
    for (const [usage, what] of CHAT_COMMANDS) lines.push(`  ${usage.padEnd(24)} ${what}`);
    return this.fit(lines);
  }

  /** Lines fitted to the width: wrapped at spaces on a terminal, as they are otherwise. */
  fit(lines: readonly string[]): string[] {
    const width = this.#width();
    return width === undefined ? [...lines] : lines.flatMap((line) => wrapLine(line, width));
  }

  #width(): number | undefined {
    const width = this.#options.width;
    return typeof width === 'function' ? width() : width;
  }

  #flightKey(number: number, direction: Direction): string {
    return `${direction}${number}`;
  }

  readonly #renderers: { [K in ChatEventName]: Lines<K> } = {
    ready: ({ self, peers }) => {
      const who = peers.length === 0 ? '' : `, with ${listNames(peers.map((peer) => peer.name))}`;
      const opening =
        this.#options.role === 'listener'
          ? `* The conversation is open; you are ${esc(self.name)}.`
          : `* You joined the conversation as ${esc(self.name)}${who}.`;
      return [opening, 'Type a message and press Enter; /help lists the commands.'];
    },
    joined: (peer) => [
      `* ${esc(peer.name)} joined (${describeKey(peer.key)}${peer.address ? `, ${peer.address}` : ''})`,
    ],
    left: ({ name, reason, code, message }) => {
      if (reason === 'quit') return [`* ${esc(name)} has left`];
      if (reason === 'lost') return [`* ${esc(name)} lost the connection`];
      const why = message ? `: ${esc(message)}` : '';
      return [`* ${esc(name)} was cut off${why}${code ? ` (${esc(code)})` : ''}`];
    },
    message: ({ name, text }) => [`[${esc(name)}] ${esc(text)}`],
    // Never `[...]`: no peer's message line can pass for one of this side's.
    said: ({ text }) => [`you: ${esc(text)}`],
    offer: (incoming) => {
      const { number, name, offer, renamed, folders } = incoming;
      const lines = offerLines({
        from: `#${number} ${esc(name)}`,
        offer,
        renamed,
        folders,
        verbose: this.#options.verbose,
      });
      const dir = this.#options.autoAccept?.(incoming);
      lines.push(
        dir === undefined
          ? `Type /accept #${number} [DIR] or /decline #${number}.`
          : `Accepting #${number} into ${dir} (--yes).`,
      );
      return lines;
    },
    report: ({ report }) => reportLines(report),
    declined: ({ number, name, code }) => [
      `* ${esc(name)} ${declinedWords(code)} your offer #${number} (${esc(code)})`,
    ],
    'transfer-start': ({ number, direction, name, files, bytes, outDir, heldBytes }) => {
      const label =
        direction === 'in' ? `#${number} from ${esc(name)}` : `your #${number} to ${esc(name)}`;
      this.#flights.set(this.#flightKey(number, direction), {
        label,
        meter: new ProgressMeter(bytes, this.#now()),
        listed: 0,
      });
      const what = `${plural(files, 'file')} (${formatBytes(bytes)})`;
      const held = heldBytes ? formatBytes(heldBytes) : undefined;
      return direction === 'in'
        ? [
            `Saving #${number} from ${esc(name)}: ${what} to ${outDir ?? 'the chosen folder'}`,
            ...(held
              ? [`  Resuming from the partial data kept here: ${held} not sent again.`]
              : []),
          ]
        : [
            `Sending your offer #${number} to ${esc(name)}: ${what}`,
            ...(held
              ? [`  Resuming: ${esc(name)} holds ${held} of it already, not sent again.`]
              : []),
          ];
    },
    progress: ({ number, direction, bytes }) => {
      this.#flights.get(this.#flightKey(number, direction))?.meter.add(bytes);
      return [];
    },
    'file-saved': ({ number, path, size, sha256, present }) => {
      // A file already there is always said: nothing was written for it.
      if (present) return [`  ${esc(path)} is already there`];
      const flight = this.#flights.get(this.#flightKey(number, 'in'));
      const listed = flight ? flight.listed++ : 0;
      if (!this.#options.verbose && listed >= LISTED_FILES) return [];
      return [
        `  saved ${esc(path)}  ${formatBytes(size)}${this.#options.verbose ? `  sha256:${sha256}` : ''}`,
      ];
    },
    'file-sent': ({ path, size, sha256 }) =>
      this.#options.verbose ? [`  sent ${esc(path)}  ${formatBytes(size)}  sha256:${sha256}`] : [],
    'file-failed': ({ direction, offered, code, message }) => [
      `${direction === 'in' ? 'Not saved' : 'Not sent'}: ${esc(offered)}: ${esc(message)} (${esc(code)})`,
    ],
    'transfer-done': ({ number, direction, name, saved, failed, bytes, ms, code, suspended }) => {
      const flight = this.#flights.get(this.#flightKey(number, direction));
      this.#flights.delete(this.#flightKey(number, direction));
      // A resumed transfer moved only what was missing: its rate counts those bytes.
      const carried = flight && flight.meter.total < bytes ? flight.meter.total : bytes;
      if (suspended) {
        const way = direction === 'in' ? 'from' : 'to';
        const next =
          this.#options.role === 'joiner'
            ? 'reconnecting'
            : `it goes on if ${esc(name)} comes back`;
        return [`#${number} ${way} ${esc(name)} paused: the connection was lost; ${next}`];
      }
      const took = code ? '' : ` ${transferTime(carried, ms)}`;
      const moved = `${plural(saved, 'file')} (${formatBytes(bytes)})`;
      const notMoved =
        failed > 0
          ? `; ${plural(failed, 'file')} ${direction === 'in' ? 'not saved' : 'not sent'}`
          : '';
      if (direction === 'in') {
        const head = code
          ? `#${number} from ${esc(name)} stopped (${esc(code)}): saved`
          : `Saved #${number} from ${esc(name)}:`;
        const tail = code
          ? '; any partly received file was removed.'
          : saved > 0
            ? ', SHA-256 verified.'
            : '.';
        return [`${head} ${moved}${took}${notMoved}${tail}`];
      }
      const head = code
        ? `Your offer #${number} to ${esc(name)} stopped (${esc(code)}): sent`
        : `Sent your offer #${number} to ${esc(name)}:`;
      return [`${head} ${moved}${took}${notMoved}.`];
    },
    'transfer-resumed': ({ number, previous, direction, name, files, bytes, heldBytes }) => {
      const way = direction === 'in' ? 'from' : 'to';
      const held = heldBytes > 0 ? ` (${formatBytes(heldBytes)} not sent again)` : '';
      return [
        `#${number} continues #${previous} ${way} ${esc(name)}: ${plural(files, 'file')}, ${formatBytes(bytes)} to go${held}`,
      ];
    },
    'file-restarted': ({ offered, reason }) => [
      `Starting over: ${esc(offered)} (${reason === 'changed' ? 'it changed since the interruption' : 'the part kept here differs'})`,
    ],
    reconnecting: ({ by, seconds }) => [
      `* Lost the connection to ${esc(by)}; reconnecting for up to ${seconds} s...`,
    ],
    reconnected: ({ by, peers }) => {
      const others = peers.filter((peer) => peer.peer !== 0).map((peer) => peer.name);
      const who = others.length === 0 ? '' : ` With ${listNames(others)}.`;
      return [`* Reconnected to ${esc(by)}.${who} Unfinished transfers go on.`];
    },
    'partial-kept': ({ number, name, outDir, dir }) => [
      `Partial data of #${number} kept in ${esc(dir)}: accept the same files from ${esc(name)} into ${esc(outDir)} to resume, or run ferry-receive --clean ${esc(outDir)}`,
    ],
    ended: ({ reason, by, code, message }) => {
      const who = by === undefined ? 'the host' : esc(by);
      const again = 'Run ferry-receive --chat with its address to join again.';
      switch (reason) {
        case 'quit':
          return [
            this.#options.role === 'listener'
              ? '* You closed the conversation; everyone in it was told.'
              : '* You left the conversation.',
          ];
        case 'closed':
          return [`* The conversation has ended: ${who} closed it.`, `  ${again}`];
        case 'lost':
          return [
            `* The conversation has ended: the connection to ${who} was lost${code ? ` (${esc(code)})` : ''}.`,
            ...(message ? [`  ${capitalise(esc(message))}.`] : []),
            `  ${again}`,
          ];
        case 'cut-off':
          return [
            `* The conversation has ended: ${who} cut this side off${message ? `: ${esc(message)}` : ''}${code ? ` (${esc(code)})` : ''}.`,
          ];
      }
    },
  };
}

/** `Could not ...` from `could not ...`. */
function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `in 2.7s (128 MiB/s)`; no rate for a transfer too short to measure one. */
function transferTime(bytes: number, ms: number): string {
  if (ms < 100) return 'in less than 0.1s';
  const time = ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms / 1000);
  return `in ${time} (${formatBytes((bytes * 1000) / ms)}/s)`;
}

/** `key A1B2 C3D4 E5F6 0718`, or that the peer is in clear. */
function describeKey(key: string): string {
  return key ? `key ${key}` : 'no encryption';
}

/** `bob`, `bob and carol`, `bob, carol and dave`: escaped. */
function listNames(names: readonly string[]): string {
  const shown = names.map(esc);
  return shown.length <= 1
    ? (shown[0] ?? '')
    : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}

function declinedWords(code: string): string {
  if (code === 'ERR_DECLINED') return 'declined';
  if (code === 'ERR_CANCELLED') return 'cancelled';
  if (code === 'ERR_NO_SPACE') return 'has no room for';
  return 'refused';
}

/** One row of the `/peers` table: 75 columns at most. */
function row(peer: string, name: string, address: string, key: string, transfers: string): string {
  const cell = (text: string, width: number) => truncate(text, width).padEnd(width);
  return `  ${cell(peer, 3)} ${cell(name, 16)} ${cell(address, 22)} ${cell(key, 19)} ${transfers}`.trimEnd();
}
