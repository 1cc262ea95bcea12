import { JoinedConversation } from '@ferry/engine';
import {
  CHAT_FEATURE,
  Emitter,
  ErrorCode,
  FerryError,
  FrameType,
  LIMITS,
  RESUME,
  RESUME_FEATURE,
  shouldTellPeer,
  truncateUtf8,
  type Welcome,
} from '@ferry/protocol';
import {
  type Connection,
  type Deadline,
  fingerprintHex,
  localUserName,
  peerError,
  shortFingerprint,
  unexpectedFrame,
} from '@ferry/protocol/node';
import {
  openSecured,
  type ReceiverEvents,
  type ReceiverOptions,
  reopenSecured,
} from './receiver.ts';
import { isConnectionLoss } from './reconnect.ts';

/** Options of {@link createJoiner}: a receiver's, without the one-way offer's question. */
export type JoinerOptions = Omit<ReceiverOptions, 'decide'> & {
  /** A peer that takes nothing queued for it for this long is cut off. */
  readonly stallMs?: number;
};

/** Joins a conversation: emits the receiver's connection events, then hands over the conversation. */
export interface Joiner extends Emitter<ReceiverEvents> {
  /** Connects, secures and joins; resolves once the listener's WELCOME arrived and the conversation runs. */
  join(): Promise<JoinedConversation>;
}

/**
 * Creates a joiner for the conversation held by `ferry-send --chat` at `host:port` (PROTOCOL.md
 * §12): the same connection, pairing and remembered keys as a one-way receiver, then HELLO
 * asking for the conversation. A one-way sender is told, and the user too (ERR_MODE_MISMATCH).
 */
export function createJoiner(options: JoinerOptions): Joiner {
  const emitter = new Emitter<ReceiverEvents>();
  return Object.assign(emitter, { join: () => join(options, emitter) });
}

async function join(
  options: JoinerOptions,
  events: Emitter<ReceiverEvents>,
): Promise<JoinedConversation> {
  const logger = options.logger.child({ component: 'joiner' });
  const receiverOptions: ReceiverOptions = { ...options, decide: async () => null };
  const { connection, deadline, secured } = await openSecured(receiverOptions, events, logger);
  let welcome: Welcome;
  try {
    welcome = await greet(connection, options, deadline);
  } catch (error) {
    deadline.clear();
    if (shouldTellPeer(error) && connection.greeted) await connection.sendErrorAndClose(error);
    connection.destroy();
    throw error;
  }
  deadline.clear();
  // A quiet conversation lives on the listener's PINGs, unlike a one-way transfer.
  connection.countPingsAsLife();
  const listenerKey = secured.peer ? shortFingerprint(secured.peer.fingerprint) : '';
  const own = options.security.encryption
    ? shortFingerprint(options.security.identity.fingerprint)
    : '';
  // The WELCOME ticket (§13.11) lives in memory only: never logged, shown or written. A listener
  // that gave none (or an empty one over TLS) takes no reconnection.
  const fingerprint = secured.peer?.fingerprint;
  const ticket = 'resume' in welcome ? welcome.resume.ticket : undefined;
  const canReconnect = ticket !== undefined && (fingerprint === undefined || ticket !== '');
  const retryMs = options.retryMs ?? RESUME.retryMs;
  const conversation = new JoinedConversation({
    connection,
    welcome: withoutTicket(welcome),
    listener: {
      address: connection.remote,
      key: listenerKey,
      keyHex: fingerprint ? fingerprintHex(fingerprint) : '',
    },
    key: own,
    logger,
    fsync: options.fsync,
    pathLimits: options.pathLimits,
    platform: options.platform,
    stallMs: options.stallMs ?? options.idleMs,
    keepaliveMs: options.keepaliveMs,
    reconnect: canReconnect
      ? {
          windowMs: retryMs,
          backoff: options.backoff,
          retryable: isConnectionLoss,
          connect: (timeoutMs, signal) =>
            reopenSecured(
              // Leaving stops the attempt: its socket goes at once.
              { ...receiverOptions, signal: anySignal(options.signal, signal) },
              { ticket: ticket ?? '', fingerprint },
              Math.min(options.connectTimeoutMs ?? timeoutMs, timeoutMs),
              'the listener no longer knows this conversation (it was restarted?): join again with its new code; send again to resume',
              async (next, deadline) => {
                const again = await greet(next, options, deadline);
                next.countPingsAsLife();
                return { connection: next, welcome: withoutTicket(again) };
              },
            ),
        }
      : undefined,
  });
  const onAbort = () => void conversation.quit();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  void conversation.run().finally(() => options.signal?.removeEventListener('abort', onAbort));
  return conversation;
}

/** A signal that aborts when either does. */
function anySignal(
  one: AbortSignal | undefined,
  other: AbortSignal | undefined,
): AbortSignal | undefined {
  if (!one || !other) return one ?? other;
  return AbortSignal.any([one, other]);
}

/** WELCOME as the conversation keeps it: whether it carried `resume`, never the ticket itself. */
function withoutTicket(welcome: Welcome): Welcome {
  return 'resume' in welcome ? { ...welcome, resume: { ticket: '' } } : welcome;
}

/** HELLO asking for the conversation, then WELCOME; an OFFER means a one-way sender. */
async function greet(
  connection: Connection,
  options: JoinerOptions,
  deadline: Deadline,
): Promise<Welcome> {
  await connection.send(FrameType.HELLO, {
    software: 'ferry-receive/0.1.0',
    name: truncateUtf8(options.name ?? localUserName(), LIMITS.maxNameBytes),
    features: [CHAT_FEATURE, RESUME_FEATURE],
  });
  const timer = setTimeout(
    () =>
      connection.destroy(
        new FerryError(ErrorCode.TIMEOUT, 'the sender did not welcome us in time'),
      ),
    deadline.remaining,
  );
  try {
    for (;;) {
      const incoming = await connection.read();
      if (incoming === null)
        throw new FerryError(
          ErrorCode.CONNECTION_CLOSED,
          'the sender closed the connection before welcoming us',
        );
      if (incoming.kind === 'ping') continue;
      if (incoming.kind !== 'message') throw unexpectedFrame(incoming);
      if (incoming.type === FrameType.WELCOME) return incoming.message;
      if (incoming.type === FrameType.OFFER) {
        // A sender that does not speak §12 (or ignores the token) offers files instead.
        throw new FerryError(
          ErrorCode.MODE_MISMATCH,
          'that sender only sends files, it holds no conversation: run ferry-receive without --chat',
        );
      }
      if (incoming.type === FrameType.ERROR) throw peerError(incoming.message);
      throw unexpectedFrame(incoming);
    }
  } finally {
    clearTimeout(timer);
  }
}
