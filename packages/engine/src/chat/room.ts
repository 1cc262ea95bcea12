import {
  CHAT,
  ConnectionClosedError,
  chatTextProblem,
  ErrorCode,
  FerryError,
  FrameType,
  type Hello,
  LIMITS,
  LimitError,
  ProtocolError,
  RESUME,
  RESUME_FEATURE,
  truncateUtf8,
} from '@ferry/protocol';
import type { Connection, Ticket } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import type { OfferSource } from '../scan.ts';
import { asClause, ConversationBase } from './base.ts';
import type { ChatPeer, Conversation } from './conversation.ts';
import {
  ChatLink,
  type LinkEnd,
  type LinkSettings,
  linkSettings,
  type SuspendedWork,
} from './link.ts';

/** Options of a {@link ChatRoom}. */
export interface RoomOptions extends LinkSettings {
  /** The listener's name in the conversation. */
  readonly name: string;
  /** This machine's name, shown to joiners. */
  readonly host: string;
  /** 32 hex digits identifying this conversation. */
  readonly session: string;
  /** The listener's key as people see it, or '' in clear. */
  readonly key: string;
  readonly logger: Logger;
  /** Files offered to each joiner as it joins (ferry-send --chat PATH...). */
  readonly offer?: OfferSource | undefined;
  /** Joiners at once, at most (`CHAT.maxPeers`). */
  readonly maxPeers?: number;
  /**
   * How long a lost joiner's unfinished transfers wait for it to come back with its ticket
   * (`RESUME.ticketMs`, the life of the ticket); afterwards what it sent is kept on disk.
   */
  readonly stashMs?: number | undefined;
}

/** Who a joiner is, as the listener learnt it while securing the connection. */
export interface JoinerInfo {
  /** `host:port`. */
  readonly address: string;
  /** The key as people see it, or '' in clear. */
  readonly key: string;
  /** The key's full fingerprint in hex, or '' in clear (sent to the others in JOINED). */
  readonly keyHex: string;
  /**
   * Its reconnection ticket (§13.11): the one it proved with AUTH `resume`, or one issued to
   * its key now. Undefined in clear, or when its HELLO did not list `resume`. Never shown.
   */
  readonly ticket?: Ticket | undefined;
  /** Its HELLO listed `resume`: WELCOME carries `resume`, and its transfers resume. */
  readonly resume: boolean;
}

/** How a joiner left: said goodbye (or the room ended), lost, or cut off. */
export type LeftHow = 'quit' | 'lost' | 'cut-off';

/** A lost joiner's unfinished transfers, waiting for its ticket to come back. */
interface Stashed {
  readonly work: SuspendedWork;
  readonly peer: number;
  readonly name: string;
  readonly timer: NodeJS.Timeout;
}

interface Member extends ChatPeer {
  readonly link: ChatLink;
  readonly keyHex: string;
  readonly ticket: Ticket | undefined;
  /** Resolves once it has left and its link's work is settled. */
  readonly gone: Promise<unknown>;
}

/**
 * The listener's side of a conversation (PROTOCOL.md §12): the joiners, a star around this
 * side. It relays each joiner's messages to the others, tells everyone who comes and goes, and
 * lets its user talk and send to everyone or to one joiner.
 */
export class ChatRoom extends ConversationBase implements Conversation {
  #options: RoomOptions;
  #members = new Map<number, Member>();
  #nextPeer = 1;
  #quitting = false;
  /** Suspended work of lost joiners, by the ticket they may come back with. */
  #stash = new Map<Ticket, Stashed>();
  /** Admissions under way by ticket: each resolves once its joiner is a member (or refused). */
  #admitting = new Map<Ticket, Promise<void>>();

  constructor(options: RoomOptions) {
    super();
    this.#options = options;
  }

  get self(): ChatPeer {
    let transfers = 0;
    for (const member of this.#members.values()) transfers += member.link.transfers;
    return { peer: 0, name: this.#options.name, key: this.#options.key, address: '', transfers };
  }

  peers(): readonly ChatPeer[] {
    return [...this.#members.values()].map(({ peer, name, key, address, link }) => ({
      peer,
      name,
      key,
      address,
      transfers: link.transfers,
    }));
  }

  /** Emits `ready`: the room is open (call once the listener is listening). */
  open(): void {
    this.emit('ready', { self: this.self, peers: [] });
  }

  /**
   * Takes a joiner whose HELLO asked for the conversation: answers WELCOME, runs its link until
   * it leaves, and tells the others. Resolves with how it left once it has; throws (for the
   * caller to tell the joiner) when it cannot join. A joiner coming back with the ticket of one
   * that was lost takes over its unfinished transfers (§13.11).
   */
  async admit(connection: Connection, hello: Hello, info: JoinerInfo): Promise<LeftHow> {
    const ticket = info.ticket;
    if (!ticket) return this.#admit(connection, hello, info, () => {});
    // One admission at a time per ticket: of two rejoins with one ticket, the later one finds
    // the earlier among the members and lets it go, as any stale connection of that ticket.
    const earlier = this.#admitting.get(ticket);
    let admitted!: () => void;
    const mine = new Promise<void>((resolve) => {
      admitted = resolve;
    });
    this.#admitting.set(ticket, mine);
    const release = () => {
      admitted();
      if (this.#admitting.get(ticket) === mine) this.#admitting.delete(ticket);
    };
    try {
      await earlier;
      return await this.#admit(connection, hello, info, release);
    } finally {
      release();
    }
  }

  /** {@link admit}, once no other admission with the same ticket is under way; `registered` once it is a member. */
  async #admit(
    connection: Connection,
    hello: Hello,
    info: JoinerInfo,
    registered: () => void,
  ): Promise<LeftHow> {
    if (this.#quitting || this.ended)
      throw new FerryError(ErrorCode.CONNECTION_CLOSED, 'the conversation has ended');
    // A joiner comes back only when its connection failed: one this side still holds with the
    // same ticket is dead, and its unfinished work is what comes back.
    const stale = [...this.#members.values()].find(
      (member) => info.ticket !== undefined && member.ticket === info.ticket,
    );
    if (stale) {
      stale.link.connection.destroy();
      await stale.gone;
      // The conversation may have ended while the stale connection went.
      if (this.#quitting || this.ended)
        throw new FerryError(ErrorCode.CONNECTION_CLOSED, 'the conversation has ended');
    }
    if (this.#members.size >= (this.#options.maxPeers ?? CHAT.maxPeers)) {
      throw new LimitError(
        `the conversation is full (${this.#options.maxPeers ?? CHAT.maxPeers} people): try again later`,
      );
    }
    const problem = chatTextProblem(hello.name, LIMITS.maxNameBytes);
    if (problem)
      throw new ProtocolError(
        ErrorCode.BAD_MESSAGE,
        `that name ${asClause(problem)}: join again with another --name`,
      );
    if (connection.socket.destroyed || connection.socket.writableEnded)
      throw new ConnectionClosedError('the joiner closed the connection');
    // From here to its registration nothing awaits: a joiner admitted meanwhile would take the
    // same name or a place past maxPeers, and a message said meanwhile would miss it.
    const peer = this.#nextPeer++;
    const name = this.#uniqueName(hello.name);
    const others = [...this.#members.values()];
    const resume = info.resume && hello.features.includes(RESUME_FEATURE);
    // Written now, ahead of anything relayed to it; waiting for the socket to drain is its
    // link's concern (a joiner that stops reading is cut off there).
    connection
      .send(FrameType.WELCOME, {
        session: this.#options.session,
        sender: {
          name: this.#options.name,
          host: truncateUtf8(this.#options.host, LIMITS.maxNameBytes),
        },
        you: peer,
        name,
        peers: others.map((member) => ({
          peer: member.peer,
          name: member.name,
          key: member.keyHex,
        })),
        // Only to a joiner that listed it: another refuses the unknown field.
        ...(resume ? { resume: { ticket: info.ticket?.hex ?? '' } } : {}),
      })
      .catch(() => {});
    const stashed = info.ticket ? this.#stash.get(info.ticket) : undefined;
    if (stashed && info.ticket) {
      clearTimeout(stashed.timer);
      this.#stash.delete(info.ticket);
    }
    const link = new ChatLink({
      connection,
      role: 'listener',
      logger: this.#options.logger.child({ peer, name }),
      ...linkSettings(this.#options),
      resume,
      // Its partial data here is recorded as from its key, or in clear its name and host.
      peer: {
        senderKey: info.keyHex,
        senderName: truncateUtf8(hello.name, LIMITS.maxNameBytes),
        senderHost: hostOf(info.address),
      },
      session: this.#options.session,
      resumed: stashed?.work,
    });
    let settled!: () => void;
    const member: Member = {
      peer,
      name,
      key: info.key,
      keyHex: info.keyHex,
      address: info.address,
      transfers: 0,
      link,
      ticket: info.ticket,
      gone: new Promise<void>((resolve) => {
        settled = resolve;
      }),
    };
    this.#members.set(peer, member);
    registered();
    this.attach(link, () => ({ peer, name }));
    link.on('say', ({ text }) => {
      this.emit('message', { peer, name, text });
      for (const other of this.#members.values())
        if (other.peer !== peer) other.link.relay(peer, text);
    });
    for (const other of others) other.link.joined(peer, name, info.keyHex);
    this.emit('joined', { peer, name, key: info.key, address: info.address, transfers: 0 });
    const running = link.run();
    const offer = this.#options.offer;
    // A joiner back with its ticket gets what it had not finished proposed again by its link.
    const again = stashed?.work.outgoing.some((outgoing) => outgoing.source === offer) ?? false;
    if (offer && offer.entries.length > 0 && !again) {
      try {
        this.propose(link, { peer, name }, offer);
      } catch (error) {
        this.#options.logger.warn({ err: error }, 'could not offer the files to a joiner');
      }
    }
    const end = await running;
    this.#members.delete(peer);
    const reason = leaveReason(end);
    const suspended = end.kind === 'lost' ? end.suspended : undefined;
    this.detach(link, suspended);
    if (suspended) this.#suspend(suspended, info.ticket, peer, name);
    // Transfers it came back for but did not propose again: what they hold stays on disk.
    else void this.keepSuspended(link.suspended, { peer, name });
    settled();
    if (this.#quitting) return reason;
    for (const other of this.#members.values()) other.link.left(peer, reason);
    const error = end.kind === 'lost' || end.kind === 'cut-off' ? end.error : undefined;
    this.emit('left', { peer, name, reason, code: error?.code, message: error?.message });
    return reason;
  }

  /**
   * Holds a lost joiner's unfinished transfers for its ticket (encrypted), or, when it has none
   * to come back with (clear) or the conversation is ending, keeps what it sent on disk now.
   */
  #suspend(work: SuspendedWork, ticket: Ticket | undefined, peer: number, name: string): void {
    if (!ticket || this.#quitting || this.ended) {
      void this.keepSuspended(work, { peer, name });
      return;
    }
    const earlier = this.#stash.get(ticket);
    if (earlier) {
      clearTimeout(earlier.timer);
      void this.keepSuspended(earlier.work, earlier);
    }
    const timer = setTimeout(() => {
      if (this.#stash.get(ticket)?.work !== work) return;
      this.#stash.delete(ticket);
      void this.keepSuspended(work, { peer, name });
    }, this.#options.stashMs ?? RESUME.ticketMs);
    timer.unref?.();
    this.#stash.set(ticket, { work, peer, name, timer });
  }

  /** Keeps the partial data of every stashed transfer: nobody comes back for them now. */
  async #releaseStash(): Promise<void> {
    const stashed = [...this.#stash.values()];
    this.#stash.clear();
    await Promise.allSettled(
      stashed.map((entry) => {
        clearTimeout(entry.timer);
        return this.keepSuspended(entry.work, entry);
      }),
    );
  }

  say(text: string): void {
    this.checkText(text);
    if (this.ended) throw new FerryError(ErrorCode.CONNECTION_CLOSED, 'the conversation has ended');
    for (const member of this.#members.values()) member.link.say(text);
    this.emit('said', { peer: 0, name: this.#options.name, text });
  }

  async send(paths: readonly string[], to?: number): Promise<readonly number[]> {
    if (this.ended) throw new FerryError(ErrorCode.CONNECTION_CLOSED, 'the conversation has ended');
    const targets =
      to === undefined
        ? [...this.#members.values()]
        : [this.#members.get(to)].filter((member) => member !== undefined);
    if (to !== undefined && targets.length === 0) {
      throw new FerryError(
        ErrorCode.UNEXPECTED_FRAME,
        `nobody with number ${to} is in the conversation: /peers lists who is`,
      );
    }
    if (targets.length === 0)
      throw new FerryError(
        ErrorCode.UNEXPECTED_FRAME,
        'nobody has joined yet: wait for someone to join',
      );
    const full = targets.filter((member) => member.link.openOffers >= CHAT.maxOpenOffers);
    if (full.length > 0) {
      throw new LimitError(
        `${CHAT.maxOpenOffers} offers to ${full.map((member) => member.name).join(', ')} are still open: wait for one to finish`,
      );
    }
    const source = await this.scan(paths);
    return targets
      .filter((member) => this.#members.has(member.peer))
      .map((member) => this.propose(member.link, member, source));
  }

  /** Ends the conversation for everyone: BYE to each joiner, then their connections close. */
  async quit(): Promise<void> {
    if (this.#quitting) return this.done.then(() => {});
    this.#quitting = true;
    const links = [...this.#members.values()].map((member) => member.link);
    await Promise.allSettled(links.map((link) => link.quit()));
    await this.#releaseStash();
    this.end({ reason: 'quit' });
  }

  #uniqueName(wanted: string): string {
    const taken = new Set([
      this.#options.name,
      ...[...this.#members.values()].map((member) => member.name),
    ]);
    if (!taken.has(wanted)) return wanted;
    for (let n = 2; ; n++) {
      const suffix = `-${n}`;
      const candidate = truncateUtf8(wanted, LIMITS.maxNameBytes - suffix.length) + suffix;
      if (!taken.has(candidate)) return candidate;
    }
  }
}

/** The host of `host:port` or `[v6]:port`, without the port. */
function hostOf(address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

function leaveReason(end: LinkEnd): LeftHow {
  if (end.kind === 'bye' || end.kind === 'quit') return 'quit';
  return end.kind;
}
