import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { RESUME } from '../constants.ts';

/** Bytes of the TLS exporter value a resume proof covers (PROTOCOL.md §13.4). */
const EXPORTED_BYTES = 32;

/**
 * The proof of AUTH `resume` (PROTOCOL.md §13.4): HMAC-SHA256 keyed by the ticket over the
 * TLS exporter value of `RESUME_EXPORTER_LABEL` (empty context, 32 bytes) of this connection.
 * Bound to the connection, so a proof recorded from another one proves nothing.
 */
export function resumeProof(ticket: Uint8Array, exported: Uint8Array): Uint8Array {
  if (ticket.byteLength !== RESUME.ticketBytes)
    throw new RangeError(`a ticket has ${RESUME.ticketBytes} bytes`);
  if (exported.byteLength !== EXPORTED_BYTES)
    throw new RangeError(`the exporter value has ${EXPORTED_BYTES} bytes`);
  return new Uint8Array(createHmac('sha256', ticket).update(exported).digest());
}

/**
 * A reconnection ticket the sender gave one receiver in its OFFER. Its secret is never shown:
 * inspecting, printing or serialising a Ticket shows its number only.
 */
export class Ticket {
  /** This sender's number for the ticket, for logs and events; it reveals nothing. */
  readonly id: number;
  readonly #secret: Uint8Array;

  constructor(id: number, secret: Uint8Array) {
    this.id = id;
    this.#secret = secret;
  }

  /** The ticket's random bytes (a copy). */
  get secret(): Uint8Array {
    return this.#secret.slice();
  }

  /** The ticket as OFFER `resume.ticket` carries it: 64 lowercase hex digits. */
  get hex(): string {
    return Buffer.from(this.#secret).toString('hex');
  }

  /** The proof a receiver holding this ticket makes over `exported`. */
  proof(exported: Uint8Array): Uint8Array {
    return resumeProof(this.#secret, exported);
  }

  toString(): string {
    return `Ticket #${this.id}`;
  }

  toJSON(): { id: number } {
    return { id: this.id };
  }

  [inspect.custom](): string {
    return `Ticket { id: ${this.id} }`;
  }
}

/** One ticket and what decides its life. */
interface Entry {
  readonly ticket: Ticket;
  /** Lowercase hex of the receiver key it was issued to. */
  readonly key: string;
  /** Connections using it now. */
  users: number;
  /** When the last connection using it ended (or it was issued), on the store's clock. */
  since: number;
}

/** How a {@link TicketStore} counts time and how many tickets it keeps. */
export interface TicketStoreOptions {
  /** A monotonic clock in milliseconds; `performance.now()` unless a test injects one. */
  readonly now?: (() => number) | undefined;
  readonly ticketMs?: number | undefined;
  readonly maxTickets?: number | undefined;
}

/**
 * The sender's reconnection tickets (PROTOCOL.md §13.4), in memory only: they die with the
 * process, and are never written or logged. A ticket is bound to the receiver key it was issued
 * to. It lives while a connection uses it, and for `RESUME.ticketMs` after the last such
 * connection ended (or after it was issued, if no connection ever said it uses it); it is
 * dropped when its session completes. At most `RESUME.maxTickets` live; the oldest goes first.
 */
export class TicketStore {
  readonly #entries = new Map<Ticket, Entry>();
  readonly #now: () => number;
  readonly #ticketMs: number;
  readonly #maxTickets: number;
  #nextId = 1;

  constructor(options: TicketStoreOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#ticketMs = options.ticketMs ?? RESUME.ticketMs;
    this.#maxTickets = options.maxTickets ?? RESUME.maxTickets;
  }

  /** A new ticket for the receiver whose key has this fingerprint. */
  issue(fingerprint: Uint8Array): Ticket {
    this.#sweep();
    while (this.#entries.size >= this.#maxTickets) {
      const oldest = this.#entries.keys().next().value;
      if (!oldest) break;
      this.#entries.delete(oldest);
    }
    const ticket = new Ticket(this.#nextId++, new Uint8Array(randomBytes(RESUME.ticketBytes)));
    this.#entries.set(ticket, { ticket, key: keyOf(fingerprint), users: 0, since: this.#now() });
    return ticket;
  }

  /**
   * The live ticket of this receiver key that `proofHex` proves over `exported` (this
   * connection's exporter value), or undefined. Every live ticket of the key is tried, each in
   * constant time; a malformed proof matches nothing.
   */
  verify(fingerprint: Uint8Array, proofHex: string, exported: Uint8Array): Ticket | undefined {
    this.#sweep();
    if (!/^[0-9a-f]{64}$/.test(proofHex) || exported.byteLength !== EXPORTED_BYTES)
      return undefined;
    const proof = Buffer.from(proofHex, 'hex');
    const key = keyOf(fingerprint);
    let found: Ticket | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.key !== key) continue;
      if (timingSafeEqual(entry.ticket.proof(exported), proof)) found ??= entry.ticket;
    }
    return found;
  }

  /** A connection using `ticket` begins: it does not expire while one does. */
  using(ticket: Ticket): void {
    const entry = this.#entries.get(ticket);
    if (entry) entry.users++;
  }

  /** A connection using `ticket` ended: its `ticketMs` count from the last such end. */
  ended(ticket: Ticket): void {
    const entry = this.#entries.get(ticket);
    if (!entry) return;
    entry.users = Math.max(0, entry.users - 1);
    entry.since = this.#now();
  }

  /** The session of `ticket` completed (DONE): the ticket is of no more use. */
  complete(ticket: Ticket): void {
    this.#entries.delete(ticket);
  }

  /** Live tickets. */
  get size(): number {
    this.#sweep();
    return this.#entries.size;
  }

  toString(): string {
    return `TicketStore(${this.#entries.size})`;
  }

  toJSON(): { size: number } {
    return { size: this.#entries.size };
  }

  [inspect.custom](): string {
    return `TicketStore { size: ${this.#entries.size} }`;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [ticket, entry] of this.#entries) {
      if (entry.users === 0 && now - entry.since >= this.#ticketMs) this.#entries.delete(ticket);
    }
  }
}

function keyOf(fingerprint: Uint8Array): string {
  return Buffer.from(fingerprint.buffer, fingerprint.byteOffset, fingerprint.byteLength).toString(
    'hex',
  );
}
