import { CHAT, ErrorCode, FerryError, LimitError, type Welcome } from '@ferry/protocol';
import { type Connection, shortFingerprint } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { ConversationBase } from './base.ts';
import type { ChatPeer, Conversation } from './conversation.ts';
import { ChatLink, type LinkSettings, linkSettings } from './link.ts';

/** Options of a {@link JoinedConversation}. */
export interface JoinedOptions extends LinkSettings {
  /** The connection to the listener, after its WELCOME. */
  readonly connection: Connection;
  readonly welcome: Welcome;
  /** The listener: its address (`host:port`) and key as people see it ('' in clear). */
  readonly listener: { readonly address: string; readonly key: string };
  /** This side's own key as people see it ('' in clear). */
  readonly key: string;
  readonly logger: Logger;
}

/**
 * A joiner's side of a conversation (PROTOCOL.md §12): one link, to the listener, which relays
 * the others' messages and tells who comes and goes. Files go to and come from the listener.
 */
export class JoinedConversation extends ConversationBase implements Conversation {
  #options: JoinedOptions;
  #link: ChatLink;
  #roster = new Map<number, { name: string; key: string }>();
  #quitting = false;

  constructor(options: JoinedOptions) {
    super();
    this.#options = options;
    const { welcome } = options;
    for (const peer of welcome.peers)
      this.#roster.set(peer.peer, { name: peer.name, key: displayKey(peer.key) });
    this.#link = new ChatLink({
      ...linkSettings(options),
      connection: options.connection,
      role: 'joiner',
      logger: options.logger,
    });
    const listener = { peer: 0, name: welcome.sender.name };
    this.attach(this.#link, () => listener);
    this.#link.on('say', ({ text }) =>
      this.emit('message', { peer: 0, name: welcome.sender.name, text }),
    );
    this.#link.on('relay', ({ peer, text }) => {
      const name = this.#roster.get(peer)?.name ?? `#${peer}`;
      this.emit('message', { peer, name, text });
    });
    this.#link.on('joined', ({ peer, name, key }) => {
      this.#roster.set(peer, { name, key: displayKey(key) });
      this.emit('joined', { peer, name, key: displayKey(key), address: '', transfers: 0 });
    });
    this.#link.on('left', ({ peer, reason }) => {
      const name = this.#roster.get(peer)?.name ?? `#${peer}`;
      this.#roster.delete(peer);
      this.emit('left', { peer, name, reason });
    });
  }

  get self(): ChatPeer {
    const { welcome, key } = this.#options;
    return {
      peer: welcome.you,
      name: welcome.name,
      key,
      address: '',
      transfers: this.#link.transfers,
    };
  }

  peers(): readonly ChatPeer[] {
    const { welcome, listener } = this.#options;
    const host: ChatPeer = {
      peer: 0,
      name: welcome.sender.name,
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
    const end = await this.#link.run();
    this.detach(this.#link);
    const listener = this.#options.welcome.sender.name;
    if (end.kind === 'quit' || this.#quitting) this.end({ reason: 'quit' });
    else if (end.kind === 'bye') this.end({ reason: 'closed', by: listener });
    else
      this.end({
        reason: end.kind,
        by: listener,
        code: end.error.code,
        message: end.error.message,
      });
  }

  say(text: string): void {
    this.checkText(text);
    if (this.ended) throw new FerryError(ErrorCode.CONNECTION_CLOSED, 'the conversation has ended');
    this.#link.say(text);
  }

  async send(paths: readonly string[], to?: number): Promise<readonly number[]> {
    if (this.ended) throw new FerryError(ErrorCode.CONNECTION_CLOSED, 'the conversation has ended');
    if (to !== undefined && to !== 0) {
      throw new FerryError(
        ErrorCode.UNEXPECTED_FRAME,
        `files go to ${this.#options.welcome.sender.name}, who holds the conversation: /send PATH without a name`,
      );
    }
    if (this.#link.openOffers >= CHAT.maxOpenOffers)
      throw new LimitError(`${CHAT.maxOpenOffers} offers are still open: wait for one to finish`);
    const source = await this.scan(paths);
    return [this.propose(this.#link, { peer: 0, name: this.#options.welcome.sender.name }, source)];
  }

  async quit(): Promise<void> {
    this.#quitting = true;
    await this.#link.quit();
    await this.done;
  }
}

/** A key from the wire (64 hex, or empty in clear) as people see it. */
function displayKey(hex: string): string {
  return hex === '' ? '' : shortFingerprint(hex);
}
