import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { ChatRoom, OfferSource } from '@ferry/engine';
import {
  CHAT_FEATURE,
  Emitter,
  ErrorCode,
  escapeForDisplay,
  FerryError,
  FrameType,
  LIMITS,
  LimitError,
  limitsForOffer,
  PAIRING,
  type PairingCodes,
  RESUME_FEATURE,
  SESSIONS,
  shouldTellPeer,
  TIMEOUTS,
} from '@ferry/protocol';
import {
  type AuthMethod,
  Connection,
  Deadline,
  exchangePreamble,
  fingerprintHex,
  peekFirstByte,
  type Identity,
  rememberedName,
  type Secured,
  secureServer,
  shortFingerprint,
  type Ticket,
  TicketStore,
  type TrustStore,
} from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { addressGroup, type LanAddress, lanAddresses } from './addresses.ts';
import { ListenError } from './errors.ts';
import { bareHttp, type HttpHandler } from './link/server.ts';
import { runSession } from './session.ts';
import { AddressSlots, type Slot } from './slots.ts';

/** Events a sender emits; the UI renders them, `--json` prints them. */
export interface SenderEvents extends Record<string, unknown> {
  listening: { port: number; host: string | undefined; addresses: LanAddress[]; encryption: boolean; fingerprint: string | undefined };
  /** A pairing code to show the user (never logged). */
  code: { code: string; reason: 'first' | 'used' | 'retired'; failed: number };
  /** `client`: the connection whose attempt failed. */
  'pairing-failed': { client: number; failed: number; limit: number };
  'pairing-closed': { failed: number };
  /** The remembered receivers cannot be read: until that is fixed, every receiver needs a code. */
  'trust-error': { message: string };
  /** A Ferry connection: its first byte was the start of Ferry's preamble, not of an HTTP request. */
  connected: { client: number; peer: string };
  /** `rememberedAs`: for a receiver let in by key, the name this user remembered it under. */
  authenticated: { client: number; peer: string; method: AuthMethod; fingerprint: string; rememberedAs?: string | undefined };
  /** `failed`: the list could not be read or saved; `reason` says why and how to fix it. */
  remembered: {
    client: number;
    name: string;
    fingerprint: string;
    result: 'added' | 'updated' | 'conflict' | 'failed';
    reason?: string;
  };
  hello: { client: number; peer: string; name: string };
  request: { client: number; files: number; bytes: number };
  progress: { client: number; bytes: number };
  'file-sent': { client: number; path: string; size: number; sha256: string };
  'file-failed': { client: number; path: string; code: string };
  /** `ms`: the transfer's time, from REQUEST to DONE. */
  'session-complete': { client: number; peer: string; files: number; failed: number; bytes: number; ms: number };
  /**
   * `resumable`: the connection was lost after REQUEST in a session that offered resuming, so
   * the receiver can reconnect and go on (the terminal says so; `--json` prints no such field).
   */
  'session-failed': { client: number; peer: string; code: string; message: string; resumable?: boolean };
  /** The receiver held the first bytes of `files` files, proved by their digests: `skippedBytes` are not sent again. */
  'session-resumed': { client: number; peer: string; files: number; skippedBytes: number };
  /**
   * The receiver's prefix of a file did not match (the source changed, or its copy differs): the
   * file goes out whole from byte 0. `bytes`: what that adds to the request's bytes (not in `--json`).
   */
  'file-restarted': { client: number; path: string; reason: 'changed'; bytes?: number };
  refused: { peer: string; reason: string };
}

/** How connections are secured: TLS with pairing by default; in clear only when asked for. */
export type SenderSecurity =
  | { readonly encryption: false }
  | {
      readonly encryption: true;
      readonly identity: Identity;
      readonly trust?: TrustStore | undefined;
      /** One-time codes; without them only remembered receivers get in. */
      readonly pairing?: PairingCodes | undefined;
      /** Remember receivers that pair with a code, so they need none next time. */
      readonly remember?: boolean;
    };

/** Why connections are refused, as the `refused` event says it. */
const REFUSALS = {
  stopping: 'stopping',
  connections: 'too many connections at once',
  connectionsPerHost: 'too many connections from one address',
  connectionsDropped: 'dropped to make room: its address has the most connections',
  pending: 'too many connections waiting to authenticate',
  pendingPerHost: 'too many connections from one address waiting to authenticate',
  pendingDropped: 'dropped to make room: its address has the most connections waiting to authenticate',
  deciding: 'too many receivers choosing what to take',
  decidingPerHost: 'too many receivers from one address choosing what to take',
  decidingDropped: 'dropped to make room: its address has the most receivers choosing what to take',
} as const;

/** The codes of a session that ended because the link was lost, not because anyone broke a rule. */
const LOST_CONNECTION: ReadonlySet<string> = new Set([ErrorCode.CONNECTION_CLOSED, ErrorCode.TRUNCATED, ErrorCode.TIMEOUT]);

/** What a receiver refused for want of a place is told. */
const BUSY_MESSAGE = 'the sender has too many receivers choosing what to take; try again in a few minutes';

/** Options of {@link createSender}. */
export interface SenderOptions {
  readonly security: SenderSecurity;
  readonly offer: OfferSource;
  readonly host?: string | undefined;
  readonly port: number;
  readonly name: string;
  readonly logger: Logger;
  /** Stop after the first receiver that takes everything it asked for. */
  readonly once?: boolean;
  /** Connections that have not yet authenticated and sent HELLO, at most. */
  readonly maxPending?: number;
  /** Of those, from one remote address. */
  readonly maxPendingPerHost?: number;
  /** Connections at once, at most. */
  readonly maxConnections?: number;
  /** Of those, from one remote address. */
  readonly maxConnectionsPerHost?: number;
  /** Sessions between HELLO and REQUEST (choosing what to take), at most. */
  readonly maxDeciding?: number;
  /** Of those, from one remote address. */
  readonly maxDecidingPerHost?: number;
  /** REQUEST must come within this long after HELLO (sending OFFER included), whatever the PINGs. */
  readonly decidingMs?: number;
  /** DONE must come within this long after END, whatever the PINGs. */
  readonly finishingMs?: number;
  /** Monotonic milliseconds, for timing transfers; `performance.now` unless a test sets it. */
  readonly clock?: () => number;
  readonly handshakeMs?: number;
  readonly idleMs?: number;
  /** A frame from a receiver must be complete within this long, however it trickles in. */
  readonly frameMs?: number;
  /**
   * Hold a conversation (PROTOCOL.md §12) instead of a one-way transfer: each receiver whose
   * HELLO asks for it joins this room; one that does not is refused with ERR_MODE_MISMATCH.
   */
  readonly chat?: ChatRoom | undefined;
  /**
   * The reconnection tickets of this run (§13.4); a store of its own unless a test injects one.
   * Encrypted only: in clear a receiver reconnects without proof.
   */
  readonly tickets?: TicketStore | undefined;
  /**
   * Where HTTP requests on the same port go (PROTOCOL.md §15): the link, with --link; otherwise
   * a bare `404 Not Found` for everything.
   */
  readonly http?: HttpHandler | undefined;
}

/** A running sender. */
export interface Sender extends Emitter<SenderEvents> {
  /** Starts listening; rejects with ListenError. */
  listen(): Promise<void>;
  /** Resolves when the sender has stopped (after `close()`, or the first transfer with `once`). */
  readonly stopped: Promise<void>;
  /** Stops accepting; `abort` also ends the transfers in progress. */
  close(abort?: boolean): Promise<void>;
  /** What is offered now: to each receiver, what was offered when it connected. */
  readonly offer: OfferSource;
  /**
   * Offers `offer` to the receivers that connect from now on; those already connected keep
   * the offer they were shown, so a transfer under way never changes under it.
   */
  setOffer(offer: OfferSource): void;
}

/** One connection's standing: whether it was already reported as refused. */
interface Admission {
  /** Refused or dropped to make room, and reported as `refused`: no `session-failed` for it. */
  refused: boolean;
}

/**
 * A headless sender: listens, serves each receiver its own session, emits events, never
 * writes to the terminal. One failing receiver never disturbs another or the sender.
 */
export function createSender(options: SenderOptions): Sender {
  const emitter = new Emitter<SenderEvents>();
  const logger = options.logger.child({ component: 'sender' });
  const maxConnections = options.maxConnections ?? SESSIONS.maxConnections;
  const maxConnectionsPerHost = options.maxConnectionsPerHost ?? SESSIONS.maxConnectionsPerHost;
  // Open connections in any state, shared fairly between addresses (K3): sessions past
  // REQUEST hold no other place, so without this a few addresses could hold them all.
  const connectionSlots = new AddressSlots(maxConnections, maxConnectionsPerHost);
  const now = options.clock ?? (() => performance.now());
  // Connections that have not authenticated and greeted yet (E1, E2).
  const pendingSlots = new AddressSlots(options.maxPending ?? PAIRING.maxPending, options.maxPendingPerHost ?? PAIRING.maxPendingPerHost);
  // Sessions that greeted and have not chosen yet (K3): in clear mode anyone gets this far.
  const decidingSlots = new AddressSlots(options.maxDeciding ?? SESSIONS.maxDeciding, options.maxDecidingPerHost ?? SESSIONS.maxDecidingPerHost);
  const security = options.security;
  // One store per run, in memory only: the tickets die with this process.
  const tickets = security.encryption ? (options.tickets ?? new TicketStore()) : undefined;
  // OFFER's `session`: new with each offer (§4.2), so a changed offer is never taken for the old.
  let session = randomBytes(16).toString('hex');
  const http = options.http ?? bareHttp();
  let offer = options.offer;
  // Every accepted socket until it closes, authenticated or not, so close(true) reaches all.
  const sockets = new Set<net.Socket>();
  // The framed connection of each socket that got that far, to tell an evicted one why.
  const connections = new Map<net.Socket, Connection>();
  // Sessions still running: `stopped` waits for them, so their last events come before it.
  let serving = 0;
  const maybeStopped = () => {
    if (closing && sockets.size === 0 && serving === 0) resolveStopped();
  };
  let nextClient = 1;
  let closing = false;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  if (security.encryption && security.pairing) {
    const pairing = security.pairing;
    pairing.on('code', (event) => emitter.emit('code', event));
    pairing.on('attempt-failed', ({ failed, limit, connection }) => emitter.emit('pairing-failed', { client: connection ?? 0, failed, limit }));
    pairing.on('closed', (event) => emitter.emit('pairing-closed', event));
  }

  const server = net.createServer({ highWaterMark: 4 * 1024 * 1024, noDelay: true }, (socket) => {
    const peer = Connection.describeRemote(socket);
    const host = socket.remoteAddress ?? '';
    // Counted per address (an IPv6 address per /64, which one machine can fill at will).
    const group = addressGroup(host);
    const refuse = (reason: string) => {
      emitter.emit('refused', { peer, reason });
      socket.destroy();
    };
    if (closing) return refuse(REFUSALS.stopping);
    const admission: Admission = { refused: false };
    // Counted here rather than by server.maxConnections, which drops connections unreported.
    const place = connectionSlots.take(group, () => {
      // Dropped to make room for a connection from an address that holds fewer (K3).
      admission.refused = true;
      emitter.emit('refused', { peer, reason: REFUSALS.connectionsDropped });
      const connection = connections.get(socket);
      if (connection?.greeted && !connection.socket.destroyed) void connection.sendErrorAndClose(new LimitError(BUSY_MESSAGE));
      else socket.destroy();
    });
    if (place === 'address') return refuse(REFUSALS.connectionsPerHost);
    if (place === 'full') return refuse(REFUSALS.connections);
    const pending = pendingSlots.take(group, () => {
      // Dropped to make room for a connection from an address that holds fewer (E2).
      admission.refused = true;
      emitter.emit('refused', { peer, reason: REFUSALS.pendingDropped });
      socket.destroy();
    });
    if (pending === 'address' || pending === 'full') {
      place.release();
      return refuse(pending === 'address' ? REFUSALS.pendingPerHost : REFUSALS.pending);
    }
    sockets.add(socket);
    // A reset in any phase, even while only our preamble is being flushed, ends this
    // connection alone: an unhandled socket error would take the whole sender down.
    socket.on('error', (error) => logger.debug({ peer, err: error }, 'connection error'));
    socket.once('close', () => {
      pending.release();
      place.release();
      sockets.delete(socket);
      connections.delete(socket);
      maybeStopped();
    });
    serving++;
    void serve(socket, nextClient++, peer, host, pending, admission).finally(() => {
      serving--;
      maybeStopped();
    });
  });

  let lastTrustError: string | undefined;
  function reportTrustError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    logger.warn({ err: error }, 'cannot read the remembered receivers');
    // Once per distinct problem, not once per connection.
    if (message === lastTrustError) return;
    lastTrustError = message;
    emitter.emit('trust-error', { message });
  }

  async function serve(socket: net.Socket, client: number, peer: string, host: string, pending: Slot, admission: Admission): Promise<void> {
    const group = addressGroup(host);
    // The offer as it is when this receiver connects, whatever changes after.
    const offered = offer;
    const offeredSession = session;
    let deciding: Slot | undefined;
    const log = logger.child({ client, peer });
    // The transfer is timed from REQUEST: the time its user spent choosing is not its speed (U1).
    let requestedAt: number | undefined;
    // Resuming was offered to this receiver (§13): after a lost connection it may come back.
    let resumeOffered = false;
    // The reconnection ticket this connection uses, if any; `done`: its session got DONE.
    let ticket: Ticket | undefined;
    let done = false;
    // One deadline from accept to HELLO: preamble, TLS, authentication and greeting (E1).
    const deadline = new Deadline(options.handshakeMs ?? TIMEOUTS.handshakeMs, socket, 'the receiver did not authenticate and greet in time');
    let connection: Connection | undefined;
    try {
      // One port (§15): a Ferry preamble starts with 0x89, an HTTP request with a method's
      // letter. HTTP goes to its own server, with its own timeouts; the place it holds among
      // the connections stays until it closes, like any other.
      const first = await peekFirstByte(socket, deadline);
      if (isHttpStart(first)) {
        deadline.clear();
        pending.release();
        log.debug('HTTP connection');
        http.accept(socket);
        socket.resume();
        return;
      }
      // Only now is it a Ferry connection: an HTTP one is told by the download events.
      emitter.emit('connected', { client, peer });
      socket.resume();
      await exchangePreamble({ socket }, 'server', security.encryption, deadline);
      const secured: Secured = security.encryption
        ? await secureServer(socket, { ...security, connection: client, onTrustError: reportTrustError, tickets }, deadline)
        : { socket, encrypted: false, peer: undefined };
      const authenticated = secured.peer;
      if (authenticated?.ticket && tickets) {
        // Let in by its ticket: the connection uses it, and the session offers it again.
        ticket = authenticated.ticket;
        tickets.using(ticket);
      }
      if (authenticated) {
        log.info({ method: authenticated.method, key: shortFingerprint(authenticated.fingerprint) }, 'receiver authenticated');
        emitter.emit('authenticated', {
          client,
          peer,
          method: authenticated.method,
          fingerprint: shortFingerprint(authenticated.fingerprint),
          rememberedAs: authenticated.rememberedAs,
        });
      }
      connection = new Connection(secured.socket, {
        idleMs: options.idleMs ?? TIMEOUTS.idleMs,
        frameMs: options.frameMs ?? TIMEOUTS.frameMs,
        preambleDone: true,
        // In a conversation ACCEPTs answer the joiners' own proposals too: the general cap holds.
        limits: options.chat ? LIMITS : limitsForOffer(offered.fileCount),
      });
      connections.set(socket, connection);
      if (options.chat) {
        const hello = await connection.expect(FrameType.HELLO, deadline.remaining);
        deadline.clear();
        pending.release();
        if (!hello.features.includes(CHAT_FEATURE)) {
          throw new FerryError(ErrorCode.MODE_MISMATCH, 'this sender holds a conversation: join it with ferry-receive --chat and the same address');
        }
        emitter.emit('hello', { client, peer, name: hello.name });
        if (security.encryption && security.remember && security.trust && authenticated?.method === 'code') {
          void rememberReceiver(security.trust, client, rememberedName(hello.name, host), authenticated.fingerprint, host, log);
        }
        const resume = hello.features.includes(RESUME_FEATURE);
        // Its ticket (§13.11): the one it proved, else a new one for its key when it can resume.
        if (resume && tickets && authenticated && !ticket) {
          ticket = tickets.issue(authenticated.fingerprint);
          tickets.using(ticket);
        }
        const left = await options.chat.admit(connection, hello, {
          address: peer,
          key: authenticated ? shortFingerprint(authenticated.fingerprint) : '',
          keyHex: authenticated ? fingerprintHex(authenticated.fingerprint) : '',
          ticket: resume ? ticket : undefined,
          resume,
        });
        // A joiner that said goodbye or was cut off does not come back; a lost one may.
        done = left !== 'lost';
        return;
      }
      const result = await runSession({
        connection,
        offer: offered,
        session: offeredSession,
        name: options.name,
        logger: log,
        handshakeMs: deadline.remaining,
        decidingMs: options.decidingMs ?? TIMEOUTS.decidingMs,
        finishingMs: options.finishingMs ?? TIMEOUTS.finishingMs,
        resumeTicket: () => {
          resumeOffered = true;
          // In clear a reconnection needs no proof: the ticket is empty (§13).
          if (!tickets || !authenticated) return '';
          if (!ticket) {
            ticket = tickets.issue(authenticated.fingerprint);
            tickets.using(ticket);
          }
          return ticket.hex;
        },
        hooks: {
          onHello: (hello) => {
            deadline.clear();
            pending.release();
            // A place among the sessions that may choose; PINGs while choosing keep it only
            // until decidingMs after the offer (K3).
            const taken = decidingSlots.take(group, () => {
              admission.refused = true;
              emitter.emit('refused', { peer, reason: REFUSALS.decidingDropped });
              void connection?.sendErrorAndClose(new LimitError(BUSY_MESSAGE));
            });
            if (taken === 'address' || taken === 'full') {
              admission.refused = true;
              emitter.emit('refused', { peer, reason: taken === 'address' ? REFUSALS.decidingPerHost : REFUSALS.deciding });
              throw new LimitError(BUSY_MESSAGE);
            }
            deciding = taken;
            emitter.emit('hello', { client, peer, name: hello.name });
            if (security.encryption && security.remember && security.trust && authenticated?.method === 'code') {
              void rememberReceiver(security.trust, client, rememberedName(hello.name, host), authenticated.fingerprint, host, log);
            }
          },
          onRequest: (files, bytes) => {
            requestedAt = now();
            deciding?.release();
            emitter.emit('request', { client, files, bytes });
          },
          onBytes: (bytes) => emitter.emit('progress', { client, bytes }),
          onFileAcked: (path, size, sha256) => emitter.emit('file-sent', { client, path, size, sha256 }),
          onFileFailed: (path, code) => emitter.emit('file-failed', { client, path, code }),
          onResumed: (files, skippedBytes) => {
            log.info({ files, skippedBytes }, 'session resumed');
            emitter.emit('session-resumed', { client, peer, files, skippedBytes });
          },
          onRestarted: (path, bytes) => {
            log.info({ path, bytes }, 'file restarted');
            emitter.emit('file-restarted', { client, path, reason: 'changed', bytes });
          },
        },
      });
      done = true;
      const ms = Math.round(now() - (requestedAt ?? now()));
      log.info({ ...result, ms }, 'session complete');
      emitter.emit('session-complete', { client, peer, ...result, ms });
      if (options.once && result.failed === 0) void close(false);
    } catch (error) {
      const code = error instanceof FerryError ? error.code : 'ERR_INTERNAL';
      const message = error instanceof Error ? error.message : String(error);
      // The message may quote the peer: escaped, like everything shown or logged from it.
      log.warn({ code, message: escapeForDisplay(message) }, 'session failed');
      // A connection refused or dropped to make room was reported as refused already.
      // A lost link after REQUEST, when resuming was offered: the receiver can come back for the rest.
      const resumable = resumeOffered && requestedAt !== undefined && LOST_CONNECTION.has(code);
      if (!admission.refused) emitter.emit('session-failed', { client, peer, code, message, resumable });
      // Tell the receiver why, if the link still works; then drop it. Before authentication
      // the security layer has already said what it may.
      if (connection && shouldTellPeer(error) && connection.greeted && !connection.socket.destroyed) {
        void connection.sendErrorAndClose(error);
      } else if (code === ErrorCode.ENCRYPTION_MISMATCH) {
        // Our preamble went out, so the receiver can explain the mismatch too.
        socket.end();
        setTimeout(() => socket.destroy(), 1_000).unref();
      } else {
        connection?.destroy();
        socket.destroy();
      }
    } finally {
      // A completed transfer needs no reconnection; otherwise the ticket lives on for ticketMs.
      if (ticket) {
        if (done) tickets?.complete(ticket);
        else tickets?.ended(ticket);
      }
      deadline.clear();
      deciding?.release();
      connections.delete(socket);
    }
  }

  async function rememberReceiver(trust: TrustStore, client: number, name: string, fingerprint: Uint8Array, host: string, log: Logger) {
    try {
      const outcome = await trust.remember({ name, fingerprint, address: host });
      const result = outcome.kind;
      log.info({ result, key: shortFingerprint(fingerprint) }, 'receiver remembered');
      emitter.emit('remembered', { client, name, fingerprint: shortFingerprint(fingerprint), result });
    } catch (error) {
      log.warn({ err: error, key: fingerprintHex(fingerprint).slice(0, 16) }, 'could not remember the receiver');
      const reason = error instanceof Error ? error.message : String(error);
      emitter.emit('remembered', { client, name, fingerprint: shortFingerprint(fingerprint), result: 'failed', reason });
    }
  }

  async function close(abort = false): Promise<void> {
    if (!closing) {
      closing = true;
      server.close();
      http.close();
      logger.info({ abort }, 'stopping');
    }
    if (abort) for (const socket of sockets) socket.destroy();
    maybeStopped();
    await stopped;
  }

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => reject(toListenError(error, options));
      server.once('error', onError);
      server.listen({ port: options.port, host: options.host }, () => {
        server.off('error', onError);
        server.on('error', (error) => logger.error({ err: error }, 'server error'));
        const bound = server.address() as net.AddressInfo;
        emitter.emit('listening', {
          port: bound.port,
          host: options.host,
          addresses: lanAddresses(options.host),
          encryption: security.encryption,
          fingerprint: security.encryption ? shortFingerprint(security.identity.fingerprint) : undefined,
        });
        if (security.encryption) security.pairing?.start();
        resolve();
      });
    });
  }

  const setOffer = (next: OfferSource) => {
    offer = next;
    session = randomBytes(16).toString('hex');
    logger.info({ files: next.fileCount, bytes: next.totalBytes }, 'offer changed');
  };
  // A getter, not a copied value: Object.assign would read `offer` once.
  return Object.defineProperty(Object.assign(emitter, { listen, close, stopped, setOffer }), 'offer', {
    get: () => offer,
    enumerable: true,
  }) as Sender;
}

/** An ASCII letter: the first byte of an HTTP request's method. */
function isHttpStart(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
}

function toListenError(error: NodeJS.ErrnoException, options: SenderOptions): ListenError {
  const where = `${options.host ?? 'all interfaces'} port ${options.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new ListenError('in-use', `port ${options.port} is already in use (another ferry-send?); choose another with --port`, { cause: error });
    case 'EACCES':
      return new ListenError('denied', `not allowed to listen on ${where}; ports below 1024 need privileges`, { cause: error });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ListenError('bad-address', `${options.host} is not an address of this machine`, { cause: error });
    default:
      return new ListenError('other', `cannot listen on ${where}: ${error.code ?? error.message}`, { cause: error });
  }
}
