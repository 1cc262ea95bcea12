import { UsageError } from '@ferry/protocol';
import { CHAT, chatTextProblem, Emitter, ErrorCode, FerryError } from '@ferry/protocol';
import type { DestinationReport } from '../inspection.ts';
import { type OfferSource, scanOffer } from '../scan.ts';
import type { ChatPeer, ConversationEvents, Direction, IncomingOffer } from './conversation.ts';
import type { ChatLink, SuspendedWork } from './link.ts';

/** One offer either way, by its local number. */
interface Numbered {
  readonly link: ChatLink;
  readonly offer: number;
  readonly direction: Direction;
  readonly peer: number;
  startedAt?: number;
  /** For an incoming offer not answered yet. */
  waiting?: IncomingOffer;
  /** The local number of the transfer this one continues, after a reconnection. */
  previous?: number;
}

/** Who is at the other end of a link, as the conversation shows them. */
export interface LinkPeer {
  readonly peer: number;
  readonly name: string;
}

/**
 * What the listener's room and a joiner's conversation share: local numbers for offers both
 * ways, the events of each link in the conversation's terms, and the user's answers to offers.
 */
export abstract class ConversationBase extends Emitter<ConversationEvents> {
  #numbers = new Map<number, Numbered>();
  #byLink = new Map<ChatLink, Map<string, number>>();
  #next = 1;
  /** The local numbers of transfers suspended with a lost connection, by their suspended work. */
  #suspended = new WeakMap<object, number>();
  #ended: ConversationEvents['ended'] | undefined;
  #resolveDone!: (ended: ConversationEvents['ended']) => void;
  readonly done: Promise<ConversationEvents['ended']>;

  constructor() {
    super();
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  abstract get self(): ChatPeer;
  abstract peers(): readonly ChatPeer[];
  abstract say(text: string): void;
  abstract send(paths: readonly string[], to?: number): Promise<readonly number[]>;
  abstract quit(): Promise<void>;

  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /** Offers this user has not answered yet, oldest first. */
  waiting(): readonly IncomingOffer[] {
    return [...this.#numbers.values()].flatMap((numbered) =>
      numbered.waiting ? [numbered.waiting] : [],
    );
  }

  async inspect(number: number, outDir: string): Promise<DestinationReport> {
    const { link, offer } = this.#waitingOffer(number);
    const inspection = await link.inspect(offer, outDir);
    this.emit('report', { number, report: inspection.report });
    return inspection.report;
  }

  async accept(number: number, outDir: string): Promise<void> {
    const numbered = this.#waitingOffer(number);
    const waiting = numbered.waiting;
    numbered.waiting = undefined;
    try {
      await numbered.link.accept(numbered.offer, outDir);
    } catch (error) {
      // The folder could not take it: the offer still waits for another answer.
      if (this.#numbers.has(number)) numbered.waiting = waiting;
      throw error;
    }
  }

  async decline(number: number): Promise<void> {
    const numbered = this.#waitingOffer(number);
    numbered.waiting = undefined;
    this.#numbers.delete(number);
    numbered.link.decline(numbered.offer);
  }

  /** Checks a message before it goes out: what may not travel is refused here, not by the peer. */
  protected checkText(text: string): void {
    const problem = chatTextProblem(text, CHAT.maxTextBytes);
    if (problem)
      throw new FerryError(
        ErrorCode.BAD_MESSAGE,
        `that message ${asClause(problem)}: change it and send it again`,
      );
  }

  /** Reads what the user offers, once for every peer it goes to. */
  protected async scan(paths: readonly string[]): Promise<OfferSource> {
    if (paths.length === 0) throw new UsageError('name at least one file or folder to send');
    const source = await scanOffer(paths);
    if (source.entries.length === 0)
      throw new UsageError('nothing to send: every path given was skipped');
    return source;
  }

  /** Proposes `source` on `link` and gives it a local number. */
  protected propose(link: ChatLink, peer: LinkPeer, source: OfferSource): number {
    const offer = link.propose(source);
    return this.#register(link, offer, 'out', peer.peer);
  }

  /**
   * Ties a link's events into the conversation's; `peer()` says who is at the other end now.
   * Transfers the link continues from suspended work get new numbers, each linked to the one it
   * continues.
   */
  protected attach(link: ChatLink, peer: () => LinkPeer): void {
    this.#byLink.set(link, new Map());
    const numberOf = (direction: Direction, offer: number) =>
      this.#byLink.get(link)?.get(`${direction}:${offer}`);
    const finish = (direction: Direction, offer: number) => {
      const number = numberOf(direction, offer);
      this.#byLink.get(link)?.delete(`${direction}:${offer}`);
      if (number !== undefined) this.#numbers.delete(number);
      return number;
    };
    link.on('proposal', ({ offer, validated, renamed, folders }) => {
      const who = peer();
      const number = this.#register(link, offer, 'in', who.peer);
      const waiting: IncomingOffer = {
        number,
        peer: who.peer,
        name: who.name,
        offer: validated,
        renamed,
        folders,
      };
      this.#numbers.get(number)!.waiting = waiting;
      this.emit('offer', waiting);
    });
    // A transfer suspended on the lost connection goes on: ours proposed again, or the peer's
    // proposal matched one we were receiving (accepted without asking).
    // Found by the suspended work itself: offer ids repeat, across connections and peers.
    const continued = (direction: Direction, offer: number, suspended: object) => {
      const number = this.#register(link, offer, direction, peer().peer);
      const earlier = this.#suspended.get(suspended);
      if (earlier !== undefined) this.#numbers.get(number)!.previous = earlier;
    };
    link.on('reproposed', ({ offer, suspended }) => continued('out', offer, suspended));
    link.on('proposal-resumed', ({ offer, suspended }) => continued('in', offer, suspended));
    link.on('declined', ({ offer, code }) => {
      const number = finish('out', offer);
      const who = peer();
      if (number !== undefined)
        this.emit('declined', { number, peer: who.peer, name: who.name, code });
    });
    const start = (
      direction: Direction,
      offer: number,
      files: number,
      bytes: number,
      heldBytes: number,
      outDir?: string,
    ) => {
      const number = numberOf(direction, offer);
      if (number === undefined) return;
      const numbered = this.#numbers.get(number)!;
      numbered.startedAt = performance.now();
      const who = peer();
      if (numbered.previous !== undefined) {
        this.emit('transfer-resumed', {
          number,
          previous: numbered.previous,
          direction,
          peer: who.peer,
          name: who.name,
          files,
          bytes,
          heldBytes,
        });
      }
      this.emit('transfer-start', {
        number,
        direction,
        peer: who.peer,
        name: who.name,
        files,
        bytes,
        outDir,
        // Resumed from disk: the user is told what resumes.
        ...(numbered.previous === undefined && heldBytes > 0 ? { heldBytes } : {}),
      });
    };
    link.on('send-start', ({ offer, files, bytes, skippedBytes }) =>
      start('out', offer, files, bytes, skippedBytes ?? 0),
    );
    link.on('receive-start', ({ offer, files, bytes, heldBytes, outDir }) =>
      start('in', offer, files, bytes, heldBytes ?? 0, outDir),
    );
    link.on('file-restarted', ({ offer, direction, path, reason }) => {
      const number = numberOf(direction, offer);
      if (number !== undefined)
        this.emit('file-restarted', {
          number,
          direction,
          peer: peer().peer,
          offered: path,
          reason,
        });
    });
    link.on('partial-kept', ({ offer, outDir, dir }) => {
      const number = numberOf('in', offer) ?? this.#byLink.get(link)?.get(`done:in:${offer}`);
      const who = peer();
      if (number !== undefined)
        this.emit('partial-kept', { number, peer: who.peer, name: who.name, outDir, dir });
    });
    link.on('send-progress', ({ offer, bytes }) => {
      const number = numberOf('out', offer);
      if (number !== undefined) this.emit('progress', { number, direction: 'out', bytes });
    });
    link.on('receive-progress', ({ offer, bytes }) => {
      const number = numberOf('in', offer);
      if (number !== undefined) this.emit('progress', { number, direction: 'in', bytes });
    });
    link.on('file-sent', ({ offer, path, size, sha256 }) => {
      const number = numberOf('out', offer);
      if (number !== undefined)
        this.emit('file-sent', { number, peer: peer().peer, path, size, sha256 });
    });
    link.on('send-file-failed', ({ offer, path, code }) => {
      const number = numberOf('out', offer);
      if (number !== undefined) {
        this.emit('file-failed', {
          number,
          direction: 'out',
          peer: peer().peer,
          offered: path,
          code,
          message: describeCode(code),
        });
      }
    });
    link.on('file-saved', (saved) => {
      const { offer, path, offered, size, sha256 } = saved;
      const number = numberOf('in', offer);
      const present = 'present' in saved && saved.present === true ? { present: true } : {};
      if (number !== undefined)
        this.emit('file-saved', {
          number,
          peer: peer().peer,
          path,
          offered,
          size,
          sha256,
          ...present,
        });
    });
    link.on('file-failed', ({ offer, offered, code, message }) => {
      const number = numberOf('in', offer);
      if (number !== undefined)
        this.emit('file-failed', {
          number,
          direction: 'in',
          peer: peer().peer,
          offered,
          code,
          message,
        });
    });
    const done = (
      direction: Direction,
      offer: number,
      saved: number,
      failed: number,
      bytes: number,
      code?: string,
      suspended?: boolean,
    ) => {
      const number = numberOf(direction, offer);
      if (number === undefined) return;
      const startedAt = this.#numbers.get(number)?.startedAt;
      finish(direction, offer);
      // A partial folder may be reported kept after the transfer is over.
      this.#byLink.get(link)?.set(`done:${direction}:${offer}`, number);
      const who = peer();
      const ms = startedAt === undefined ? 0 : Math.round(performance.now() - startedAt);
      this.emit('transfer-done', {
        number,
        direction,
        peer: who.peer,
        name: who.name,
        saved,
        failed,
        bytes,
        ms,
        code,
        ...(suspended ? { suspended: true } : {}),
      });
    };
    link.on('send-done', ({ offer, saved, failed, bytes, code, suspended }) =>
      done('out', offer, saved, failed, bytes, code, suspended),
    );
    link.on('receive-done', ({ offer, saved, failed, bytes, code, suspended }) =>
      done('in', offer, saved, failed, bytes, code, suspended),
    );
  }

  /**
   * Forgets a link that ended: offers still waiting for an answer from it are withdrawn. The
   * numbers of its `suspended` transfers are kept, for the ones that continue them.
   */
  protected detach(link: ChatLink, suspended?: SuspendedWork): void {
    const numbers = this.#byLink.get(link);
    const remember = (direction: Direction, items: readonly { offer: number }[]) => {
      for (const item of items) {
        const number =
          numbers?.get(`${direction}:${item.offer}`) ??
          numbers?.get(`done:${direction}:${item.offer}`);
        if (number !== undefined && !this.#suspended.has(item)) this.#suspended.set(item, number);
      }
    };
    if (suspended) {
      remember('out', suspended.outgoing);
      remember('in', suspended.incoming);
    }
    for (const number of numbers?.values() ?? []) this.#numbers.delete(number);
    this.#byLink.delete(link);
  }

  /**
   * Suspended transfers nobody comes back for (the window ran out, the conversation ended):
   * what was received of each stays on disk, and the user is told where (`partial-kept`).
   */
  protected async keepSuspended(work: SuspendedWork, who: LinkPeer): Promise<void> {
    for (const incoming of work.incoming) {
      try {
        const kept = await incoming.keep();
        if (!kept) continue;
        this.emit('partial-kept', {
          number: this.#suspended.get(incoming) ?? 0,
          peer: who.peer,
          name: who.name,
          outDir: incoming.outDir,
          dir: kept.dir,
        });
      } catch {
        // Nothing more to do for it: the partial folder is left as it is, for --clean.
      }
    }
  }

  /** Offers in flight with a link, for `/peers`. */
  protected transfersOf(link: ChatLink): number {
    return link.transfers;
  }

  protected end(ended: ConversationEvents['ended']): void {
    if (this.#ended) return;
    this.#ended = ended;
    this.emit('ended', ended);
    this.#resolveDone(ended);
  }

  #register(link: ChatLink, offer: number, direction: Direction, peer: number): number {
    const number = this.#next++;
    this.#numbers.set(number, { link, offer, direction, peer });
    this.#byLink.get(link)?.set(`${direction}:${offer}`, number);
    return number;
  }

  #waitingOffer(number: number): Numbered {
    const numbered = this.#numbers.get(number);
    if (!numbered?.waiting) {
      throw new FerryError(
        ErrorCode.UNEXPECTED_FRAME,
        `there is no offer #${number} waiting for an answer: /peers and the offers above show what is open`,
      );
    }
    return numbered;
  }
}

/** Words for a code a peer gave about a file it did not save. */
function describeCode(code: string): string {
  switch (code) {
    case ErrorCode.NO_SPACE:
      return 'the receiving disk is full';
    case ErrorCode.WRITE_FAILED:
      return 'the receiver could not write the file';
    case ErrorCode.DIGEST_MISMATCH:
      return 'the file arrived damaged (SHA-256 mismatch)';
    case ErrorCode.SIZE_MISMATCH:
      return 'the file arrived incomplete';
    case ErrorCode.SOURCE_CHANGED:
      return 'the file changed while it was sent';
    default:
      return `the receiver did not save it (${code})`;
  }
}

/** A problem of chatTextProblem as the rest of a sentence: `is empty`, `contains ...`. */
export function asClause(problem: string): string {
  return problem.startsWith('contains') ? problem : `is ${problem}`;
}
