/**
 * A conversation in Ferry's window: the conversation's events (the ones `--chat --json` prints)
 * become the chat window's slices, and the window's actions (say, send, accept, decline, quit,
 * and a joiner's pairing code) drive the conversation. Both apps use this one controller; the
 * terminal goes on printing the conversation through `runChat`.
 */
import path from 'node:path';
import {
  type ChatPeer,
  type Conversation,
  type ConversationEvents,
  hiddenTopLevel,
  type IncomingOffer,
} from '@ferry/engine';
import { escapeForDisplay as esc, FerryError, normalizeCode, UsageError } from '@ferry/protocol';
import { WindowActionError, type WindowSurface } from '@ferry/window';
import {
  AcceptInputSchema,
  type ChatEntry,
  type ChatHost,
  type ChatOffer,
  type ChatSlice,
  type ChatTransfer,
  CodeInputSchema,
  DeclineInputSchema,
  MAX_CHAT_ENTRIES,
  type NotePart,
  QuitInputSchema,
  SayInputSchema,
  SendInputSchema,
  type SendAnswer,
} from '@ferry/window/state/chat';
import { formatBytes } from '../progress.ts';
import { plural } from '../render.ts';

/** The part of Ferry's window the controller uses (a fake one in tests). */
export type ChatWindowTarget = WindowSurface;

/** Options of {@link ChatWindowController}. */
export interface ChatWindowOptions {
  readonly role: 'listener' | 'joiner';
  /** Milliseconds since the epoch, for the time of each entry; `Date.now` by default. */
  readonly clock?: () => number;
  /** Monotonic milliseconds, for rates; `performance.now` by default. */
  readonly now?: () => number;
}

/** The listener's address and code, as the sender reports them. */
export interface ListenerInfo {
  readonly port: number;
  readonly addresses: readonly { readonly address: string; readonly interface?: string }[];
  readonly encryption: boolean;
  readonly fingerprint?: string | undefined;
}

/** Events a conversation's window shows, in the order they are subscribed. */
const SHOWN_EVENTS = [
  'joined',
  'left',
  'message',
  'said',
  'offer',
  'declined',
  'transfer-resumed',
  'transfer-start',
  'progress',
  'file-saved',
  'file-sent',
  'file-failed',
  'file-restarted',
  'transfer-done',
  'reconnecting',
  'reconnected',
  'partial-kept',
  'ended',
] as const satisfies readonly (keyof ConversationEvents)[];

/** A transfer as the controller tracks it: its slice entry, and when it started. */
interface Tracked {
  entry: ChatTransfer;
  startedAt: number | undefined;
}

/**
 * Shows one side of a conversation in the window. Create it when the window starts (a joiner's
 * window shows `connecting`, and may ask for the pairing code), then {@link attach} the
 * conversation once this side is in it.
 */
export class ChatWindowController {
  readonly #window: ChatWindowTarget;
  readonly #role: 'listener' | 'joiner';
  readonly #clock: () => number;
  readonly #now: () => number;
  #conversation: Conversation | undefined;
  #quit: (() => void) | undefined;
  #chat: ChatSlice;
  #entries: ChatEntry[] = [];
  #nextEntry = 1;
  #transfers = new Map<string, Tracked>();
  #resumed = new Map<string, number>();
  #code: { resolve: (code: string | null) => void } | undefined;
  #unsubscribe: (() => void)[] = [];

  constructor(window: ChatWindowTarget, options: ChatWindowOptions) {
    this.#window = window;
    this.#role = options.role;
    this.#clock = options.clock ?? Date.now;
    this.#now = options.now ?? (() => performance.now());
    this.#chat = {
      role: options.role,
      phase: 'connecting',
      self: null,
      peers: [],
      host: null,
      reconnecting: null,
      ended: null,
    };
    this.#publishChat();
    window.set('messages', []);
    window.set('offers', []);
    window.set('transfers', []);
    this.#register();
  }

  /** The listener listens: its addresses and key (the code follows with {@link code}). */
  listening(info: ListenerInfo): void {
    const host: ChatHost = {
      port: info.port,
      addresses: info.addresses.map(({ address, interface: iface }) =>
        iface === undefined ? { address } : { address, iface },
      ),
      code: this.#chat.host?.code ?? null,
      fingerprint: info.encryption ? (info.fingerprint ?? null) : null,
    };
    this.#setChat({ host });
  }

  /** The pairing code joiners type now (a new one after each use). */
  code(code: string): void {
    const host = this.#chat.host ?? { port: 0, addresses: [], code: null, fingerprint: null };
    this.#setChat({ host: { ...host, code } });
  }

  /**
   * Asks the window for the listener's pairing code (a joiner's `askCode`): resolves with the
   * code typed there, or null when `signal` aborts.
   */
  askCode(signal?: AbortSignal): Promise<string | null> {
    if (signal?.aborted) return Promise.resolve(null);
    this.#setChat({ phase: 'code' });
    return new Promise((resolve) => {
      const done = (code: string | null) => {
        signal?.removeEventListener('abort', onAbort);
        this.#code = undefined;
        if (this.#chat.phase === 'code') this.#setChat({ phase: 'connecting' });
        resolve(code);
      };
      const onAbort = () => done(null);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#code = { resolve: done };
    });
  }

  /** This side could not get into the conversation: the window says why and what to do. */
  failed(message: string): void {
    this.#code?.resolve(null);
    this.#setChat({ phase: 'ended', ended: { reason: 'failed', message } });
    this.#note('danger', [words(message)]);
  }

  /**
   * Shows `conversation` from now on; `quit` leaves it (runChat's, so the terminal and the
   * window leave the same way). Returns a function that stops showing it.
   */
  attach(conversation: Conversation, quit: () => void): () => void {
    this.#conversation = conversation;
    this.#quit = quit;
    for (const name of SHOWN_EVENTS) {
      this.#unsubscribe.push(
        conversation.on(name, (event) => this.#on(name, event as ConversationEvents[typeof name])),
      );
    }
    this.#setChat({
      phase: 'live',
      self: peerOf(conversation.self),
      peers: conversation.peers().map(peerOf),
    });
    this.#publishOffers();
    return () => this.detach();
  }

  /** Stops showing the conversation (its last state stays in the window). */
  detach(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#publishTransfers();
  }

  /** An offer of this side to `name`, waiting for an answer, in the list of transfers. */
  #offered(offer: number, peer: number, name: string): void {
    this.#transfers.set(key('out', offer), {
      startedAt: undefined,
      entry: {
        offer,
        direction: 'out',
        peer,
        name,
        state: 'offered',
        files: 0,
        bytes: 0,
        done: 0,
        saved: 0,
        failed: 0,
        rate: null,
        eta: null,
      },
    });
  }

  #register(): void {
    const w = this.#window;
    w.action('say', SayInputSchema, (input) => this.#say(input.text));
    w.action('send', SendInputSchema, (input) =>
      this.#send(
        input.peer,
        input.paths.map((given) => fullPath(given, 'files')),
      ),
    );
    w.action('accept', AcceptInputSchema, (input) =>
      this.#accept(input.offer, fullPath(input.out, 'folder')),
    );
    w.action('decline', DeclineInputSchema, (input) => this.#decline(input.offer));
    w.action('code', CodeInputSchema, (input) => this.#giveCode(input.code));
    w.action('quit', QuitInputSchema, () => this.#leave());
  }

  #in(): Conversation {
    const conversation = this.#conversation;
    if (!conversation)
      throw new WindowActionError(
        'ERR_NOT_READY',
        'You are not in the conversation yet. Wait until it shows who is there.',
        409,
      );
    return conversation;
  }

  /** Says `text`; the conversation's `said` shows it, as one said at the terminal. */
  #say(text: string): void {
    const conversation = this.#in();
    try {
      conversation.say(text);
    } catch (error) {
      throw actionError(error, 'Not sent');
    }
  }

  async #send(peer: number, paths: readonly string[]): Promise<SendAnswer> {
    const conversation = this.#in();
    const target = conversation.peers().find((other) => other.peer === peer);
    if (!target)
      throw new WindowActionError(
        'ERR_NO_PEER',
        'That person is no longer in the conversation. Select someone in the list of people.',
        409,
      );
    if (this.#role === 'joiner' && peer !== 0) {
      const host = conversation.peers().find((other) => other.peer === 0);
      throw new WindowActionError(
        'ERR_NOT_LISTENER',
        `Files go to ${esc(host?.name ?? 'the host')}, who holds the conversation. Select them and send again.`,
        409,
      );
    }
    let numbers: readonly number[];
    try {
      numbers = await conversation.send(paths, peer);
    } catch (error) {
      throw actionError(error, 'Could not send', 'Pick other files and send again.');
    }
    for (const number of numbers) {
      this.#offered(number, peer, target.name);
    }
    this.#note('info', [
      words('You offered '),
      words(paths.length === 1 ? 'a file or folder' : `${paths.length} files and folders`),
      words(' to '),
      peerText(target.name),
      words(` as ${numbers.map((n) => `#${n}`).join(', ')}; waiting for an answer.`),
    ]);
    this.#publishTransfers();
    return { offers: [...numbers] };
  }

  async #accept(number: number, out: string): Promise<void> {
    const conversation = this.#in();
    this.#waiting(conversation, number);
    try {
      await conversation.accept(number, out);
    } catch (error) {
      throw actionError(
        error,
        `Could not accept #${number}`,
        'Pick another folder, or decline the offer.',
      );
    } finally {
      this.#publishOffers();
    }
  }

  async #decline(number: number): Promise<void> {
    const conversation = this.#in();
    const offer = this.#waiting(conversation, number);
    try {
      await conversation.decline(number);
    } catch (error) {
      throw actionError(error, `Could not decline #${number}`, 'Try again.');
    } finally {
      this.#publishOffers();
    }
    this.#note('warn', [words(`You declined #${number} from `), peerText(offer.name), words('.')]);
  }

  #giveCode(typed: string): void {
    const pending = this.#code;
    if (!pending)
      throw new WindowActionError('ERR_NOT_ASKED', 'No pairing code is asked for now.', 409);
    const code = normalizeCode(typed);
    if (code === undefined)
      throw new WindowActionError(
        'ERR_BAD_CODE',
        'A pairing code is 8 digits, like 1234-5678. Type the code the other computer shows.',
        400,
      );
    pending.resolve(code);
  }

  #leave(): void {
    if (this.#code) {
      this.#code.resolve(null);
      return;
    }
    this.#in();
    this.#quit?.();
  }

  #waiting(conversation: Conversation, number: number): IncomingOffer {
    const offer = conversation.waiting().find((waiting) => waiting.number === number);
    if (!offer)
      throw new WindowActionError(
        'ERR_NO_OFFER',
        `Offer #${number} is not waiting for an answer any more.`,
        409,
      );
    return offer;
  }

  #on<K extends (typeof SHOWN_EVENTS)[number]>(name: K, event: ConversationEvents[K]) {
    const e = event as ConversationEvents[(typeof SHOWN_EVENTS)[number]];
    switch (name) {
      case 'joined': {
        const peer = e as ChatPeer;
        this.#note('info', [peerText(peer.name), words(' joined.')]);
        return this.#publishPeers();
      }
      case 'left': {
        const left = e as ConversationEvents['left'];
        const how =
          left.reason === 'quit'
            ? ' left.'
            : left.reason === 'lost'
              ? ' left: the connection was lost.'
              : ` was cut off${left.message ? `: ${left.message}` : '.'}`;
        this.#note(left.reason === 'quit' ? 'info' : 'warn', [peerText(left.name), words(how)]);
        return this.#publishPeers();
      }
      case 'message':
      case 'said': {
        const { peer, name: from, text } = e as ConversationEvents['message'];
        return this.#push({
          kind: 'message',
          id: 0,
          at: this.#clock(),
          peer,
          name: from,
          text,
          own: name === 'said',
        });
      }
      case 'offer': {
        const offer = e as IncomingOffer;
        this.#note('info', [
          peerText(offer.name),
          words(
            ` offers #${offer.number}: ${plural(offer.offer.fileCount, 'file')}, ${formatBytes(offer.offer.totalBytes)}. Accept or decline it.`,
          ),
        ]);
        return this.#publishOffers();
      }
      case 'declined': {
        const declined = e as ConversationEvents['declined'];
        // An offer made at the terminal is known here from its answer on.
        if (!this.#transfers.has(key('out', declined.number)))
          this.#offered(declined.number, declined.peer, declined.name);
        this.#update('out', declined.number, {
          state: 'declined',
          code: declined.code,
        });
        const why = declined.code === 'ERR_DECLINED' ? '' : ` (${declined.code})`;
        this.#note('warn', [
          peerText(declined.name),
          words(` declined #${declined.number}${why}.`),
        ]);
        return this.#publishTransfers();
      }
      case 'transfer-resumed': {
        const resumed = e as ConversationEvents['transfer-resumed'];
        this.#resumed.set(key(resumed.direction, resumed.number), resumed.previous);
        this.#note('info', [
          words(`#${resumed.number} continues #${resumed.previous} with `),
          peerText(resumed.name),
          words(`: ${formatBytes(resumed.heldBytes)} already there.`),
        ]);
        return;
      }
      case 'transfer-start': {
        const start = e as ConversationEvents['transfer-start'];
        const id = key(start.direction, start.number);
        const previous = this.#resumed.get(id);
        this.#resumed.delete(id);
        this.#transfers.set(id, {
          startedAt: this.#now(),
          entry: {
            offer: start.number,
            direction: start.direction,
            peer: start.peer,
            name: start.name,
            state: 'running',
            files: start.files,
            bytes: start.bytes,
            done: 0,
            saved: 0,
            failed: 0,
            rate: null,
            eta: null,
            ...(start.outDir ? { out: start.outDir } : {}),
            ...(start.heldBytes ? { held: start.heldBytes } : {}),
            ...(previous !== undefined ? { previous } : {}),
          },
        });
        this.#publishTransfers();
        this.#publishOffers();
        return this.#publishPeers();
      }
      case 'progress': {
        const { number, direction, bytes } = e as ConversationEvents['progress'];
        const tracked = this.#transfers.get(key(direction, number));
        if (!tracked) return;
        tracked.entry = { ...tracked.entry, done: tracked.entry.done + bytes };
        return this.#progress();
      }
      case 'file-saved': {
        const { number } = e as ConversationEvents['file-saved'];
        return this.#count('in', number, 'saved');
      }
      case 'file-sent': {
        const { number } = e as ConversationEvents['file-sent'];
        return this.#count('out', number, 'saved');
      }
      case 'file-failed': {
        const failed = e as ConversationEvents['file-failed'];
        this.#note('danger', [
          words(failed.direction === 'in' ? 'Could not save ' : 'Could not send '),
          peerText(failed.offered),
          words(` (#${failed.number}): `),
          words(failed.message),
          words(` (${failed.code}).`),
        ]);
        return this.#count(failed.direction, failed.number, 'failed');
      }
      case 'file-restarted': {
        const restarted = e as ConversationEvents['file-restarted'];
        this.#note('info', [
          peerText(restarted.offered),
          words(
            restarted.reason === 'changed'
              ? ` changed since the interruption: it starts over (#${restarted.number}).`
              : ` differs from the part kept here: it starts over (#${restarted.number}).`,
          ),
        ]);
        return;
      }
      case 'transfer-done': {
        const done = e as ConversationEvents['transfer-done'];
        const state = done.suspended
          ? 'suspended'
          : done.code !== undefined || (done.failed > 0 && done.saved === 0)
            ? 'failed'
            : 'done';
        const tracked = this.#transfers.get(key(done.direction, done.number));
        this.#update(done.direction, done.number, {
          state,
          saved: done.saved,
          failed: done.failed,
          rate: done.ms > 0 ? Math.round((done.bytes / done.ms) * 1000) : null,
          eta: null,
          ...(state === 'done' && tracked ? { done: tracked.entry.bytes } : {}),
          ...(done.code ? { code: done.code } : {}),
        });
        const what = done.direction === 'in' ? 'received' : 'sent';
        const toFrom = done.direction === 'in' ? ' from ' : ' to ';
        this.#note(state === 'done' ? (done.failed > 0 ? 'warn' : 'ok') : 'warn', [
          words(
            state === 'suspended'
              ? `#${done.number} is waiting for the connection to come back`
              : `#${done.number} ${state === 'done' ? what : 'failed'}: ${plural(done.saved, 'file')}${done.failed > 0 ? `, ${done.failed} failed` : ''}`,
          ),
          words(toFrom),
          peerText(done.name),
          words(done.code && state === 'failed' ? ` (${done.code}).` : '.'),
        ]);
        this.#publishTransfers();
        return this.#publishPeers();
      }
      case 'reconnecting': {
        const { by, seconds } = e as ConversationEvents['reconnecting'];
        this.#setChat({ phase: 'reconnecting', reconnecting: { by, seconds } });
        this.#note('warn', [
          words('The connection to '),
          peerText(by),
          words(` was lost: reconnecting for up to ${seconds} s.`),
        ]);
        return;
      }
      case 'reconnected': {
        const { by, self, peers } = e as ConversationEvents['reconnected'];
        this.#setChat({
          phase: 'live',
          reconnecting: null,
          self: peerOf(self),
          peers: peers.map(peerOf),
        });
        this.#note('ok', [words('Reconnected to '), peerText(by), words('.')]);
        return;
      }
      case 'partial-kept': {
        const kept = e as ConversationEvents['partial-kept'];
        this.#note('warn', [
          words(`What arrived of #${kept.number} is kept in `),
          peerText(kept.dir),
          words(': accept the same files from '),
          peerText(kept.name),
          words(' into '),
          peerText(kept.outDir),
          words(' to resume.'),
        ]);
        return;
      }
      case 'ended': {
        const ended = e as ConversationEvents['ended'];
        this.#setChat({
          phase: 'ended',
          reconnecting: null,
          ended: {
            reason: ended.reason,
            ...(ended.by !== undefined ? { by: ended.by } : {}),
            ...(ended.message ? { message: ended.message } : {}),
          },
        });
        this.#note(ended.reason === 'quit' || ended.reason === 'closed' ? 'info' : 'danger', [
          words(endedWords(ended)),
        ]);
        this.#window.set('offers', []);
        return;
      }
    }
  }

  #count(direction: 'in' | 'out', number: number, field: 'saved' | 'failed'): void {
    const tracked = this.#transfers.get(key(direction, number));
    if (!tracked) return;
    tracked.entry = { ...tracked.entry, [field]: tracked.entry[field] + 1 };
    this.#progress();
  }

  #update(direction: 'in' | 'out', number: number, change: Partial<ChatTransfer>): void {
    const tracked = this.#transfers.get(key(direction, number));
    if (tracked) tracked.entry = { ...tracked.entry, ...change };
  }

  /** Bytes moved: the window builds the transfers when they are due to go out. */
  #progress(): void {
    this.#window.setLater('transfers', () => this.#transfersNow());
  }

  #publishTransfers(): void {
    this.#window.set('transfers', this.#transfersNow());
  }

  /** Every transfer, those running with their rate and time left as of now. */
  #transfersNow(): ChatTransfer[] {
    const at = this.#now();
    const list: ChatTransfer[] = [];
    for (const tracked of this.#transfers.values()) {
      const entry = tracked.entry;
      if (entry.state === 'running' && tracked.startedAt !== undefined) {
        const seconds = (at - tracked.startedAt) / 1000;
        const rate = seconds > 0.5 && entry.done > 0 ? Math.round(entry.done / seconds) : null;
        const left = Math.max(0, entry.bytes - entry.done);
        tracked.entry = {
          ...entry,
          rate,
          eta: rate ? Math.ceil(left / rate) : null,
        };
      }
      list.push(tracked.entry);
    }
    return list;
  }

  #publishOffers(): void {
    const conversation = this.#conversation;
    this.#window.set('offers', conversation ? conversation.waiting().map(offerOf) : []);
  }

  #publishPeers(): void {
    const conversation = this.#conversation;
    if (!conversation) return;
    this.#setChat({ self: peerOf(conversation.self), peers: conversation.peers().map(peerOf) });
  }

  #setChat(change: Partial<ChatSlice>): void {
    this.#chat = { ...this.#chat, ...change };
    this.#publishChat();
  }

  #publishChat(): void {
    this.#window.set('chat', this.#chat);
  }

  #note(tone: 'info' | 'ok' | 'warn' | 'danger', parts: NotePart[]): void {
    this.#push({ kind: 'note', id: 0, at: this.#clock(), tone, parts });
  }

  #push(entry: ChatEntry): void {
    this.#entries.push({ ...entry, id: this.#nextEntry++ });
    if (this.#entries.length > MAX_CHAT_ENTRIES)
      this.#entries.splice(0, this.#entries.length - MAX_CHAT_ENTRIES);
    this.#window.set('messages', [...this.#entries]);
  }
}

function key(direction: 'in' | 'out', number: number): string {
  return `${direction}${number}`;
}

function words(text: string): NotePart {
  return { text, peer: false };
}

function peerText(text: string): NotePart {
  return { text, peer: true };
}

function peerOf({ peer, name, key: fingerprint, address, transfers }: ChatPeer) {
  return { peer, name, key: fingerprint, address, transfers };
}

function offerOf(waiting: IncomingOffer): ChatOffer {
  const { offer } = waiting;
  return {
    offer: waiting.number,
    peer: waiting.peer,
    from: waiting.name,
    files: offer.fileCount,
    bytes: offer.totalBytes,
    items: offer.items.map(({ name, kind, fileCount, bytes }) => ({
      name,
      kind,
      files: fileCount,
      bytes,
    })),
    hidden: hiddenTopLevel(offer),
    renamed: waiting.renamed.map(({ offered, local }) => ({ offered, savedAs: local })),
  };
}

function endedWords(ended: ConversationEvents['ended']): string {
  switch (ended.reason) {
    case 'quit':
      return 'You left the conversation.';
    case 'closed':
      return 'The conversation was closed by its host.';
    case 'lost':
      return `The connection was lost${ended.message ? `: ${esc(ended.message)}` : ''}. Join again to go on.`;
    case 'cut-off':
      return `You were cut off${ended.message ? `: ${esc(ended.message)}` : ''}.`;
  }
}

/** An engine error as the page shows it: plain words, what to do next. */
function actionError(error: unknown, what: string, next?: string): WindowActionError {
  const message = esc(error instanceof Error ? error.message : String(error));
  const code =
    error instanceof FerryError
      ? error.code
      : error instanceof UsageError
        ? 'ERR_USAGE'
        : 'ERR_FAILED';
  return new WindowActionError(code, `${what}: ${message}.${next ? ` ${next}` : ''}`, 400);
}

/**
 * A path from the page as it is: the file browser gives full paths, and a relative one would be
 * taken from wherever the program was started, which the user cannot see.
 */
function fullPath(given: string, what: 'files' | 'folder'): string {
  if (path.isAbsolute(given)) return given;
  throw new WindowActionError(
    'ERR_BAD_REQUEST',
    `Not a full path: ${esc(given)}. Pick the ${what} with the ${what === 'files' ? 'file' : 'folder'} browser.`,
    400,
  );
}
