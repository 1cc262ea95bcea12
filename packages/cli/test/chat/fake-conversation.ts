import type { ChatPeer, Conversation, ConversationEvents, IncomingOffer } from '@ferry/engine';
import { Emitter, type FerryError, validateOffer } from '@ferry/protocol';

/** A call made on the fake, by method and arguments. */
export type Call = [method: string, ...args: unknown[]];

/** A Conversation that records what the screen asks of it; the test emits its events. */
export class FakeConversation extends Emitter<ConversationEvents> implements Conversation {
  readonly calls: Call[] = [];
  self: ChatPeer;
  others: ChatPeer[] = [];
  offers: IncomingOffer[] = [];
  /** Makes the next `say` throw, as text that may not travel does. */
  refuseSay: FerryError | undefined;
  #nextOut = 1;
  #resolveDone!: (ended: ConversationEvents['ended']) => void;
  readonly done: Promise<ConversationEvents['ended']>;

  constructor(self: Partial<ChatPeer> = {}) {
    super();
    this.self = {
      peer: 0,
      name: 'alice',
      key: '558E F330 5F2B D3DE',
      address: '',
      transfers: 0,
      ...self,
    };
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  peers(): readonly ChatPeer[] {
    return this.others;
  }
  /** Records the call and, unless refused, emits `said` before returning, as the real ones do. */
  say(text: string): void {
    this.calls.push(['say', text]);
    if (this.refuseSay) throw this.refuseSay;
    this.emit('said', { peer: this.self.peer, name: this.self.name, text });
  }
  async send(paths: readonly string[], to?: number): Promise<readonly number[]> {
    this.calls.push(['send', paths, to]);
    return [this.#nextOut++];
  }
  waiting(): readonly IncomingOffer[] {
    return this.offers;
  }
  async inspect(): Promise<never> {
    throw new Error('not used');
  }
  async accept(number: number, outDir: string): Promise<void> {
    this.calls.push(['accept', number, outDir]);
    this.offers = this.offers.filter((offer) => offer.number !== number);
  }
  async decline(number: number): Promise<void> {
    this.calls.push(['decline', number]);
    this.offers = this.offers.filter((offer) => offer.number !== number);
  }
  async quit(): Promise<void> {
    this.calls.push(['quit']);
    this.end({ reason: 'quit' });
  }
  /** Ends the conversation for this side, as the real ones do: `ended`, then `done`. */
  end(ended: ConversationEvents['ended']): void {
    this.emit('ended', ended);
    this.#resolveDone(ended);
  }
  /** Emits an offer and keeps it waiting, as the real ones do. */
  offer(offer: IncomingOffer): void {
    this.offers.push(offer);
    this.emit('offer', offer);
  }
}

/** A peer in the conversation. */
export function peer(number: number, name: string, extra: Partial<ChatPeer> = {}): ChatPeer {
  return {
    peer: number,
    name,
    key: 'A1B2 C3D4 E5F6 0718',
    address: `192.168.1.5:5031${number}`,
    transfers: 0,
    ...extra,
  };
}

/** An incoming offer of files (`path`, `size`) from `name`. */
export function incoming(
  number: number,
  name: string,
  files: [string, number][],
  from = 1,
): IncomingOffer {
  const offer = validateOffer(files.map(([path, size]) => ({ kind: 'file' as const, path, size })));
  return { number, peer: from, name, offer, renamed: [], folders: offer.folderCount };
}
