import {
  DEFAULT_COLUMNS,
  type Io,
  printJson,
  type RECEIVER_JSON_EVENTS,
  type ReceiverJsonEvent,
  StatusLine,
  truncate,
  visibleLength,
} from '@ferry/cli';
import type { Browser, FoundSender } from '@ferry/discovery';
import { DISCOVERY, escapeForDisplay as esc, PROTOCOL_VERSION } from '@ferry/protocol';
import { shortFingerprint, type TrustStore } from '@ferry/protocol/node';
import { AdvisedUsageError } from './errors.ts';

/** A sender as listed: its number on this screen, and whether its key starts like a remembered one. */
export interface ListedSender extends FoundSender {
  readonly number: number;
  readonly remembered: boolean;
}

/** What a search that found nobody says (M5): the first line, then {@link NOTHING_FOUND_HINT}. */
export const NOTHING_FOUND = `No sender found on this network in ${DISCOVERY.browseMs / 1000} s.`;

/** An address to type instead of searching, IPv4 and IPv6, as ferry-send shows them. */
export const TYPE_AN_ADDRESS =
  'e.g. ferry-receive 192.168.1.20:7878 or ferry-receive [fd00::5e1]:7878';

/** The likely reasons nobody was found and what to do for each: lines within 80 columns. */
export const NOTHING_FOUND_HINT = [
  'If ferry-send is not running yet, start it and run ferry-receive again.',
  'If it is, a subnet, firewall or Wi-Fi may hide it: type an address it shows,',
  TYPE_AN_ADDRESS,
].join('\n');

/** Nobody answered the search. */
export class NothingFoundError extends Error {
  override name = 'NothingFoundError';
  constructor() {
    super(NOTHING_FOUND);
  }
}

/** Options of {@link findSenders}. */
export interface FindOptions {
  readonly browser: Browser;
  /** List conversations (`--chat`) or one-way senders. */
  readonly chat: boolean;
  readonly io: Io;
  readonly json: boolean;
  readonly trust?: TrustStore | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called with each sender listed, as soon as it is found (the window's live list). */
  readonly onFound?: ((sender: ListedSender) => void) | undefined;
}

/**
 * Looks for senders of the mode asked for; with --json prints `sender-found` for each as it
 * is found, then `discovery-done`. On a terminal a status line says it is looking.
 */
export async function findSenders(options: FindOptions): Promise<ListedSender[]> {
  const { io, json } = options;
  const listed: ListedSender[] = [];
  const status = json ? undefined : StatusLine.for(io.stdout);
  if (io.stdout.isTTY)
    status?.show(`Looking for senders on this network (${DISCOVERY.browseMs / 1000} s)...`);
  const print = <K extends keyof typeof RECEIVER_JSON_EVENTS>(
    event: K,
    fields: ReceiverJsonEvent<K>,
  ) => printJson(io.stdout, event, fields);
  const results = await options.browser.browse({
    signal: options.signal,
    onFound(sender) {
      if (sender.chat !== options.chat) return;
      // The same sender heard on two interfaces (two source addresses): listed once. Only with
      // the same key hint: a name from another key is another sender (M1), shown on its own.
      if (
        sender.keyHint !== '' &&
        listed.some(
          (other) =>
            other.name === sender.name &&
            other.keyHint === sender.keyHint &&
            other.port === sender.port,
        )
      )
        return;
      const entry: ListedSender = {
        ...sender,
        number: listed.length + 1,
        remembered: isRemembered(sender, options.trust),
      };
      listed.push(entry);
      options.onFound?.(entry);
      if (json) {
        print('sender-found', {
          number: entry.number,
          name: sender.name,
          host: sender.host,
          addresses: [...sender.addresses],
          port: sender.port,
          key: sender.keyHint === '' ? '' : shortFingerprint(sender.keyHint),
          encrypted: sender.encrypted,
          chat: sender.chat,
          remembered: entry.remembered,
        });
      }
    },
  });
  status?.clear();
  // A sender that said goodbye during the search is left out; the others keep their numbers.
  const still = new Set(results.map((sender) => `${sender.name}\n${sender.source}`));
  const found = listed.filter((sender) => still.has(`${sender.name}\n${sender.source}`));
  if (json) print('discovery-done', { found: found.length });
  return found;
}

/** `remembered`: the hint starts a key this user remembered. A hint only: the full key is checked after TLS. */
function isRemembered(sender: FoundSender, trust: TrustStore | undefined): boolean {
  if (!trust || sender.keyHint === '') return false;
  return trust.list().some((peer) => peer.fingerprint.startsWith(sender.keyHint));
}

/** `host:port`, bracketing IPv6 addresses. */
export function hostPort(sender: FoundSender): string {
  const address = sender.addresses[0] ?? sender.source;
  return address.includes(':') ? `[${address}]:${sender.port}` : `${address}:${sender.port}`;
}

/** Whether this receiver can connect to the sender (it speaks this version). */
export function speaksOurVersion(sender: FoundSender): boolean {
  return sender.version === String(PROTOCOL_VERSION);
}

/**
 * The list, escaped, one line per sender, fitted to `width` columns: the name and host
 * columns give way first, then the key is shortened to its first half, then (for long IPv6
 * addresses) the host is left out.
 */
export function senderLines(senders: readonly ListedSender[], width = DEFAULT_COLUMNS): string[] {
  const rows = senders.map((sender) => ({
    number: String(sender.number),
    name: esc(sender.name),
    host: esc(sender.host),
    address: esc(hostPort(sender)),
    key: sender.keyHint === '' ? 'no encryption' : `key ${shortFingerprint(sender.keyHint)}`,
    shortKey:
      sender.keyHint === ''
        ? 'no encryption'
        : `key ${shortFingerprint(sender.keyHint).slice(0, 9)} …`,
    status: !speaksOurVersion(sender)
      ? `version ${esc(sender.version)}`
      : sender.remembered
        ? 'remembered'
        : 'new',
  }));
  const widest = (pick: (row: (typeof rows)[number]) => string) =>
    Math.max(0, ...rows.map((row) => visibleLength(pick(row))));
  const numberWidth = widest((row) => row.number);
  const addressWidth = widest((row) => row.address);
  let nameWidth = widest((row) => row.name);
  let hostWidth = widest((row) => row.host);
  let keyWidth = widest((row) => row.key);
  const statusWidth = widest((row) => row.status);
  const MIN = 6;
  // Two of indent, then five gaps of two; the last column is not padded.
  const total = () =>
    2 +
    numberWidth +
    2 +
    nameWidth +
    2 +
    hostWidth +
    2 +
    addressWidth +
    2 +
    keyWidth +
    2 +
    statusWidth;
  while (total() > width - 1 && (nameWidth > MIN || hostWidth > MIN)) {
    if (nameWidth >= hostWidth && nameWidth > MIN) nameWidth--;
    else hostWidth--;
  }
  const shortKeys = total() > width - 1;
  if (shortKeys) keyWidth = widest((row) => row.shortKey);
  // Last, for long (IPv6) addresses: the host column goes.
  const withHost = total() <= width - 1;
  if (!withHost) {
    hostWidth = -2;
    while (total() > width - 1 && nameWidth > 4) nameWidth--;
  }
  const pad = (text: string, size: number) => {
    const cut = truncate(text, size);
    return cut + ' '.repeat(Math.max(0, size - visibleLength(cut)));
  };
  return rows.map((row) =>
    [
      `  ${row.number.padStart(numberWidth)}`,
      pad(row.name, nameWidth),
      ...(withHost ? [pad(row.host, hostWidth)] : []),
      pad(row.address, addressWidth),
      pad(shortKeys ? row.shortKey : row.key, keyWidth),
      row.status,
    ].join('  '),
  );
}

/** How a sender is picked: by the user, or by the rules of --yes and a missing terminal. */
export interface PickOptions {
  readonly yes: boolean;
  readonly interactive: boolean;
  readonly io: Io;
  readonly ask?: ((count: number) => Promise<string | null>) | undefined;
}

/** The choice: a sender found, or an address the user typed instead, or null when cancelled. */
export type Picked =
  | { readonly kind: 'sender'; readonly sender: ListedSender }
  | { readonly kind: 'address'; readonly text: string }
  | null;

/**
 * Picks a sender from those found (design of §3): none is NothingFoundError; with --yes
 * exactly one is taken; several with --yes, or any without a terminal, is a usage error
 * that lists them; on a terminal the list is shown and the user picks a number or types an
 * address.
 */
export async function pickSender(
  found: readonly ListedSender[],
  options: PickOptions,
): Promise<Picked> {
  if (found.length === 0) throw new NothingFoundError();
  if (options.yes && found.length === 1) return { kind: 'sender', sender: found[0]! };
  if (options.yes || !options.interactive || !options.ask) throw severalError(found, options.yes);
  const out = StatusLine.for(options.io.stdout);
  out.print('Senders on this network:');
  for (const line of senderLines(found, out.width ?? DEFAULT_COLUMNS)) out.print(line);
  const answer = await options.ask(found.length);
  if (answer === null) return null;
  const text = answer.trim();
  if (/^\d+$/.test(text)) {
    const sender = found.find((candidate) => candidate.number === Number(text));
    if (sender) return { kind: 'sender', sender };
  }
  return { kind: 'address', text };
}

/** The usage error for several senders found (or any, without a terminal), listing them. */
export function severalError(found: readonly ListedSender[], yes: boolean): AdvisedUsageError {
  const why = yes
    ? `${found.length} senders found, and --yes takes one only when it is the only one`
    : `found ${found.length === 1 ? 'a sender' : `${found.length} senders`}, but stdin is not a terminal, so ferry-receive cannot ask which`;
  return new AdvisedUsageError(
    `${why}:\n${senderLines(found).join('\n')}`,
    'Name one (ferry-receive <name>), or type its address (ferry-receive <host>:<port>).',
  );
}

/** The error for a name announced by several senders, listing them. */
export function ambiguousNameError(
  name: string,
  found: readonly ListedSender[],
): AdvisedUsageError {
  return new AdvisedUsageError(
    `${found.length} senders on this network are named "${esc(name)}":\n${senderLines(found).join('\n')}`,
    'Type the address of the one you want (ferry-receive <host>:<port>).',
  );
}

/**
 * The label a refusal names a found sender by: `"alice" at 192.168.1.20:7878`. Escaped, or
 * `raw` for a message that is escaped where it is printed (an AuthError's, PROTOCOL.md §14.4).
 */
export function senderLabel(sender: FoundSender, raw = false): string {
  const label = `"${sender.name}" at ${hostPort(sender)}`;
  return raw ? label : esc(label);
}
