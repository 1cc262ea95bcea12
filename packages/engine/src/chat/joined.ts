import { setTimeout as sleep } from 'node:timers/promises';
import { CHAT, ErrorCode, FerryError, LimitError, RESUME, type Welcome } from '@ferry/protocol';
import { type Connection, shortFingerprint } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { ConversationBase } from './base.ts';
import { isConnectionFailure } from './suspended.ts';
import type { ChatPeer, Conversation } from './conversation.ts';
import {
  ChatLink,
  type LinkEnd,
  type LinkSettings,
  linkSettings,
  type SuspendedWork,
} from './link.ts';

/** How a joiner reconnects to the listener after the connection failed (§13.11 item 4). */
export interface Reconnect {
  /** How long to keep trying after the loss (`--retry`); 0: never. */
  readonly windowMs: number;
  /**
   * Connects again, proving the WELCOME ticket to the same key (or in clear, nothing), and
   * greets: resolves with the new connection and its WELCOME. Rejects when it cannot.
   */
  connect(
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ connection: Connection; welcome: Welcome }>;
  /** Whether a failed attempt is worth another (the network failing); by default lost-connection codes. */
  readonly retryable?: ((error: unknown) => boolean) | undefined;
  /** The first wait and the longest one; RESUME's backoff by default. */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number } | undefined;
}

/** Options of a {@link JoinedConversation}. */
export interface JoinedOptions extends LinkSettings {
  /** The connection to the listener, after its WELCOME. */
  readonly connection: Connection;
  readonly welcome: Welcome;
  /**
   * The listener: its address (`host:port`), its key as people see it ('' in clear) and the
   * key's full fingerprint in hex ('' in clear), which its partial data here is recorded under.
   */
  readonly listener: { readonly address: string; readonly key: string; readonly keyHex?: string };
  /** This side's own key as people see it ('' in clear). */
  readonly key: string;
  readonly logger: Logger;
  /** Reconnect after a lost connection; without it the conversation ends there. */
  readonly reconnect?: Reconnect | undefined;
}

/** Whether `end` is the connection failing (§13.9's list), never an ERROR the listener sent. */
function lostConnection(end: LinkEnd): end is Extract<LinkEnd, { kind: 'lost' }> {
  return end.kind === 'lost' && isConnectionFailure(end.error);
}

function defaultRetryable(error: unknown): boolean {
  return error instanceof FerryError && isConnectionFailure(error);
}

/**
 * A joiner's side of a conversation (PROTOCOL.md §12): one link, to the listener, which relays
 * the others' messages and tells who comes and goes. Files go to and come from the listener.
 * When the connection fails, it reconnects within its window and the unfinished transfers go
 * on (§13.11); the conversation, and its `done`, are the same throughout.
 */
export class JoinedConversation extends ConversationBase implements Conversation {
  #options: JoinedOptions;
  #welcome: Welcome;
  #link: ChatLink;
  #roster = new Map<number, { name: string; key: string }>();
  #quitting = false;
  /** Set while reconnecting: aborts the wait between attempts when the user quits. */
  #reconnecting: AbortController | undefined;
  /** `reconnecting` was emitted for the current loss. */
  #announced = false;

  constructor(options: JoinedOptions) {
    super();
    this.#options = options;
    this.#welcome = options.welcome;
    this.#link = this.#open(options.connection, options.welcome, undefined);
  }

  /** A link on `connection`, its events tied into the conversation's. */
  #open(connection: Connection, welcome: Welcome, resumed: SuspendedWork | undefined): ChatLink {
    this.#roster.clear();
    for (const peer of welcome.peers)
      this.#roster.set(peer.peer, { name: peer.name, key: displayKey(peer.key) });
    const link = new ChatLink({
      ...linkSettings(this.#options),
      connection,
      role: 'joiner',
      logger: this.#options.logger,
      resume: 'resume' in welcome,
      peer: {
        senderKey: this.#options.listener.keyHex ?? '',
        senderName: welcome.sender.name,
        senderHost: welcome.sender.host,
      },
      session: welcome.session,
      resumed,
    });
    const listener = { peer: 0, name: welcome.sender.name };
    // The loss is told before the transfers it pauses (listeners run in the order added).
    const paused = ({ suspended }: { suspended?: true | undefined }) => {
      if (suspended) this.#announceLoss();
    };
    link.on('send-done', paused);
    link.on('receive-done', paused);
    this.attach(link, () => listener);
    link.on('say', ({ text }) =>
      this.emit('message', { peer: 0, name: welcome.sender.name, text }),
    );
    link.on('relay', ({ peer, text }) => {
      const name = this.#roster.get(peer)?.name ?? `#${peer}`;
      this.emit('message', { peer, name, text });
    });
    link.on('joined', ({ peer, name, key }) => {
      this.#roster.set(peer, { name, key: displayKey(key) });
      this.emit('joined', { peer, name, key: displayKey(key), address: '', transfers: 0 });
    });
    link.on('left', ({ peer, reason }) => {
      const name = this.#roster.get(peer)?.name ?? `#${peer}`;
      this.#roster.delete(peer);
      this.emit('left', { peer, name, reason });
    });
    return link;
  }

  get self(): ChatPeer {
    const welcome = this.#welcome;
    return {
      peer: welcome.you,
      name: welcome.name,
      key: this.#options.key,
      address: '',
      transfers: this.#link.transfers,
    };
  }

  peers(): readonly ChatPeer[] {
    const { listener } = this.#options;
    const host: ChatPeer = {
      peer: 0,
      name: this.#welcome.sender.name,
      key: listener.key,
      address: listener.address,
      transfers: this.#link.transfers,
    };
    return [
      host,
      ...[...this.#roster].map(([peer, { name, key }]) => ({
        peer,
        name,
        key,
        address: '',
        transfers: 0,
      })),
    ];
  }

  /** Emits `ready` and runs the link until the conversation ends for this side. */
  async run(): Promise<void> {
    this.emit('ready', { self: this.self, peers: this.peers() });
    const listener = this.#welcome.sender.name;
    for (;;) {
      const end = await this.#link.run();
      const suspended = end.kind === 'lost' ? end.suspended : undefined;
      this.detach(this.#link, suspended);
      const reconnect = this.#options.reconnect;
      if (
        !this.#quitting &&
        lostConnection(end) &&
        reconnect &&
        reconnect.windowMs > 0 &&
        'resume' in this.#welcome
      ) {
        const back = await this.#reconnect(reconnect, end.error, suspended);
        if (back === undefined) return;
        this.#welcome = back.welcome;
        this.#link = this.#open(back.connection, back.welcome, suspended);
        this.emit('reconnected', { by: listener, self: this.self, peers: this.peers() });
        continue;
      }
      // Nobody comes back for them: what they hold stays on disk for a rerun.
      await this.keepSuspended(suspended ?? this.#link.suspended, { peer: 0, name: listener });
      if (end.kind === 'quit' || this.#quitting) this.end({ reason: 'quit' });
      else if (end.kind === 'bye') this.end({ reason: 'closed', by: listener });
      else
        this.end({
          reason: end.kind,
          by: listener,
          code: end.error.code,
          message: end.error.message,
        });
      return;
    }
  }

  /**
   * Tries to reconnect within the window, waiting 250 ms doubling to 5 s between attempts, each
   * attempt's connect timeout capped by what is left. Resolves with the new connection, or
   * undefined once the conversation ended (the window ran out, the listener is another one or
   * needs a code, or this user quit); the suspended transfers are then kept on disk.
   */
  async #reconnect(
    reconnect: Reconnect,
    lost: FerryError,
    suspended: SuspendedWork | undefined,
  ): Promise<{ connection: Connection; welcome: Welcome } | undefined> {
    const listener = this.#welcome.sender.name;
    const session = this.#welcome.session;
    const backoff = reconnect.backoff ?? {
      firstMs: RESUME.backoffFirstMs,
      maxMs: RESUME.backoffMaxMs,
    };
    const retryable = reconnect.retryable ?? defaultRetryable;
    const endsAt = performance.now() + reconnect.windowMs;
    const abort = new AbortController();
    this.#reconnecting = abort;
    this.#options.logger.info({ code: lost.code, windowMs: reconnect.windowMs }, 'reconnecting');
    this.#announceLoss();
    this.#announced = false;
    const stop = async (ended: Parameters<ConversationBase['end']>[0]) => {
      this.#reconnecting = undefined;
      // Nobody comes back for them: what they hold stays on disk for a rerun.
      await this.keepSuspended(suspended ?? this.#link.suspended, { peer: 0, name: listener });
      this.end(ended);
      return undefined;
    };
    let delayMs = backoff.firstMs;
    let last: unknown = lost;
    for (;;) {
      const wait = Math.max(0, Math.min(delayMs, endsAt - performance.now()));
      try {
        await sleep(wait, undefined, { signal: abort.signal });
      } catch {
        return stop({ reason: 'quit' });
      }
      const left = endsAt - performance.now();
      if (left <= 0) break;
      let next: { connection: Connection; welcome: Welcome };
      try {
        // Leaving ends an attempt at once, even one a silent listener holds up.
        next = await untilAborted(
          reconnect.connect(Math.max(1, Math.round(left)), abort.signal),
          abort.signal,
        );
      } catch (error) {
        if (this.#quitting) return stop({ reason: 'quit' });
        if (!retryable(error)) {
          const code = error instanceof FerryError ? error.code : ErrorCode.CONNECTION_CLOSED;
          const message = error instanceof Error ? error.message : String(error);
          return stop({ reason: 'lost', by: listener, code, message });
        }
        this.#options.logger.info({ err: error }, 'reconnect failed');
        last = error;
        delayMs = Math.min(delayMs * 2, backoff.maxMs);
        if (endsAt - performance.now() <= 0) break;
        continue;
      }
      if (this.#quitting) {
        next.connection.destroy();
        return stop({ reason: 'quit' });
      }
      if (next.welcome.session !== session) {
        // Another conversation at the same address: nothing of this one goes on there.
        next.connection.destroy();
        return stop({
          reason: 'lost',
          by: listener,
          code: ErrorCode.CONNECTION_CLOSED,
          message: 'the listener was restarted: join again with its new code; send again to resume',
        });
      }
      this.#reconnecting = undefined;
      this.#options.logger.info({ you: next.welcome.you }, 'reconnected');
      return next;
    }
    const why = last instanceof Error ? ` (${last.message})` : '';
    return stop({
      reason: 'lost',
      by: listener,
      code: last instanceof FerryError ? last.code : ErrorCode.CONNECTION_CLOSED,
      message: `could not reconnect within ${Math.round(reconnect.windowMs / 1000)} s${why}: join again to go on`,
    });
  }

  say(text: string): void {
    this.checkText(text);
    this.#checkOpen();
    this.#link.say(text);
    const { peer, name } = this.self;
    this.emit('said', { peer, name, text });
  }

  async send(paths: readonly string[], to?: number): Promise<readonly number[]> {
    this.#checkOpen();
    if (to !== undefined && to !== 0) {
      throw new FerryError(
        ErrorCode.UNEXPECTED_FRAME,
        `files go to ${this.#welcome.sender.name}, who holds the conversation: /send PATH without a name`,
      );
    }
    if (this.#link.openOffers >= CHAT.maxOpenOffers)
      throw new LimitError(`${CHAT.maxOpenOffers} offers are still open: wait for one to finish`);
    const source = await this.scan(paths);
    this.#checkOpen();
    return [this.propose(this.#link, { peer: 0, name: this.#welcome.sender.name }, source)];
  }

  async quit(): Promise<void> {
    this.#quitting = true;
    if (this.#reconnecting) this.#reconnecting.abort();
    else await this.#link.quit();
    await this.done;
  }

  /** Emits `reconnecting`, once per loss, when this side will try to reconnect. */
  #announceLoss(): void {
    const reconnect = this.#options.reconnect;
    if (this.#announced || this.#quitting || !reconnect || reconnect.windowMs <= 0) return;
    if (!('resume' in this.#welcome)) return;
    this.#announced = true;
    const seconds = Math.round(reconnect.windowMs / 1000);
    this.emit('reconnecting', { by: this.#welcome.sender.name, seconds });
  }

  #checkOpen(): void {
    if (this.ended) throw new FerryError(ErrorCode.CONNECTION_CLOSED, 'the conversation has ended');
    if (this.#reconnecting)
      throw new FerryError(
        ErrorCode.CONNECTION_CLOSED,
        `reconnecting to ${this.#welcome.sender.name}: try again in a moment`,
      );
  }
}

/** `attempt`, or a rejection as soon as `signal` aborts: a connection made later is closed. */
function untilAborted<T extends { connection: Connection }>(
  attempt: Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      attempt.then(
        (late) => late.connection.destroy(),
        () => {},
      );
      reject(new FerryError(ErrorCode.CANCELLED, 'interrupted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    attempt.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A key from the wire (64 hex, or empty in clear) as people see it. */
function displayKey(hex: string): string {
  return hex === '' ? '' : shortFingerprint(hex);
}
