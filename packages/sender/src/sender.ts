import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Emitter, escapeForDisplay, FerryError, shouldTellPeer, TIMEOUTS } from '@ferry/protocol';
import { Connection } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { type LanAddress, lanAddresses } from './addresses.ts';
import { ListenError } from './errors.ts';
import type { OfferSource } from './scan.ts';
import { runSession } from './session.ts';

/** Events a sender emits; the UI renders them, `--json` prints them. */
export interface SenderEvents extends Record<string, unknown> {
  listening: { port: number; host: string | undefined; addresses: LanAddress[] };
  connected: { client: number; peer: string };
  hello: { client: number; peer: string; name: string };
  request: { client: number; files: number; bytes: number };
  progress: { client: number; bytes: number };
  'file-sent': { client: number; path: string; size: number; sha256: string };
  'file-failed': { client: number; path: string; code: string };
  'session-complete': { client: number; peer: string; files: number; failed: number; bytes: number; ms: number };
  'session-failed': { client: number; peer: string; code: string; message: string };
  refused: { peer: string; reason: string };
}

/** Options of {@link createSender}. */
export interface SenderOptions {
  readonly offer: OfferSource;
  readonly host?: string | undefined;
  readonly port: number;
  readonly name: string;
  readonly logger: Logger;
  /** Stop after the first receiver that takes everything it asked for. */
  readonly once?: boolean;
  /** Connections that have not yet sent HELLO, at most. */
  readonly maxPending?: number;
  /** Connections at once, at most. */
  readonly maxConnections?: number;
  readonly handshakeMs?: number;
  readonly idleMs?: number;
}

/** A running sender. */
export interface Sender extends Emitter<SenderEvents> {
  /** Starts listening; rejects with ListenError. */
  listen(): Promise<void>;
  /** Resolves when the sender has stopped (after `close()`, or the first transfer with `once`). */
  readonly stopped: Promise<void>;
  /** Stops accepting; `abort` also ends the transfers in progress. */
  close(abort?: boolean): Promise<void>;
}

/**
 * A headless sender: listens, serves each receiver its own session, emits events, never
 * writes to the terminal. One failing receiver never disturbs another or the sender.
 */
export function createSender(options: SenderOptions): Sender {
  const emitter = new Emitter<SenderEvents>();
  const logger = options.logger.child({ component: 'sender' });
  const maxPending = options.maxPending ?? 16;
  const session = randomBytes(16).toString('hex');
  const connections = new Set<Connection>();
  let pending = 0;
  let nextClient = 1;
  let closing = false;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });

  const server = net.createServer({ highWaterMark: 4 * 1024 * 1024, noDelay: true }, (socket) => {
    const peer = Connection.describeRemote(socket);
    if (closing || pending >= maxPending) {
      emitter.emit('refused', { peer, reason: closing ? 'stopping' : 'too many connections waiting to say hello' });
      socket.destroy();
      return;
    }
    const client = nextClient++;
    const connection = new Connection(socket, { idleMs: options.idleMs ?? TIMEOUTS.idleMs });
    connections.add(connection);
    pending++;
    let greeted = false;
    const log = logger.child({ client, peer });
    const started = performance.now();
    emitter.emit('connected', { client, peer });
    runSession({
      connection,
      offer: options.offer,
      session,
      name: options.name,
      logger: log,
      handshakeMs: options.handshakeMs,
      hooks: {
        onHello: (hello) => {
          greeted = true;
          pending--;
          emitter.emit('hello', { client, peer, name: hello.name });
        },
        onRequest: (files, bytes) => emitter.emit('request', { client, files, bytes }),
        onBytes: (bytes) => emitter.emit('progress', { client, bytes }),
        onFileAcked: (path, size, sha256) => emitter.emit('file-sent', { client, path, size, sha256 }),
        onFileFailed: (path, code) => emitter.emit('file-failed', { client, path, code }),
      },
    })
      .then((result) => {
        const ms = Math.round(performance.now() - started);
        log.info({ ...result, ms }, 'session complete');
        emitter.emit('session-complete', { client, peer, ...result, ms });
        if (options.once && result.failed === 0) void close(false);
      })
      .catch((error: unknown) => {
        const code = error instanceof FerryError ? error.code : 'ERR_INTERNAL';
        const message = error instanceof Error ? error.message : String(error);
        // The message may quote the peer: escaped, like everything shown or logged from it.
        log.warn({ code, message: escapeForDisplay(message) }, 'session failed');
        emitter.emit('session-failed', { client, peer, code, message });
        // Tell the receiver why, if the link still works; then drop it.
        if (shouldTellPeer(error) && connection.greeted && !connection.socket.destroyed) {
          void connection.sendErrorAndClose(error);
        } else {
          connection.destroy();
        }
      })
      .finally(() => {
        if (!greeted) pending--;
        connections.delete(connection);
        if (closing && connections.size === 0) resolveStopped();
      });
  });
  server.maxConnections = options.maxConnections ?? 64;

  async function close(abort = false): Promise<void> {
    if (!closing) {
      closing = true;
      server.close();
      logger.info({ abort }, 'stopping');
    }
    if (abort) for (const connection of connections) connection.destroy();
    if (connections.size === 0) resolveStopped();
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
        emitter.emit('listening', { port: bound.port, host: options.host, addresses: lanAddresses(options.host) });
        resolve();
      });
    });
  }

  return Object.assign(emitter, { listen, close, stopped });
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
