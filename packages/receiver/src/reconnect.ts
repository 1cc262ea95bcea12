/**
 * The receiver's reconnect loop (PROTOCOL.md §13): the transfer after REQUEST, and when the
 * connection breaks mid-transfer, reconnecting with a growing delay for up to `--retry`,
 * proving the sender's ticket instead of a code, and continuing every file not yet concluded
 * from what is on disk. Files concluded before the loss keep their outcome.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { FailedFile, PreparedReceiving, PresentFile, SavedFile } from '@ferry/engine';
import {
  type Emitter,
  ErrorCode,
  FerryError,
  FrameType,
  type Offer,
  PeerError,
  RESUME,
  TIMEOUTS,
  type ValidatedEntry,
} from '@ferry/protocol';
import type { Connection } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { ResumeStoppedError } from './errors.ts';
import { type PauseSwitch, pausedError } from './pause.ts';
import type { ReceiverEvents, ReceiverOptions } from './receiver.ts';

/** What the transfer has concluded so far, across every connection it used. */
export interface Outcomes {
  readonly saved: SavedFile[];
  readonly present: PresentFile[];
  readonly failed: FailedFile[];
  /** Ids of the files whose outcome is known here (saved, present or failed for good). */
  readonly concluded: Set<number>;
}

/** One connection's share of the transfer: the files asked for, their REQUEST items, what is held. */
export type Round = Pick<
  PreparedReceiving,
  'destination' | 'files' | 'requests' | 'held' | 'resumed'
>;

/** What the loop needs from the receiver. */
export interface TransferContext {
  readonly options: ReceiverOptions;
  readonly events: Emitter<ReceiverEvents>;
  readonly logger: Logger;
  /** The connection in use; replaced by the new one after a reconnect. */
  readonly link: { connection: Connection };
  /** The first OFFER: a reconnect must find the same session and entries. */
  readonly offer: Offer;
  /** The sender's key seen on the first connection (encrypted), which a ticket is shown to only. */
  readonly senderKey: Uint8Array | undefined;
  /** The first round, whose REQUEST is sent already. */
  readonly first: Round;
  readonly outcomes: Outcomes;
  /** Receives the files of `round` on `connection`, recording each outcome in `outcomes`. */
  readonly receive: (connection: Connection, round: Round) => Promise<void>;
  /** The next round for `files`, from what is on disk now (the same proof a rerun makes). */
  readonly plan: (files: readonly ValidatedEntry[]) => Promise<Round>;
  /** Connects, secures with the ticket and greets again; resolves with the new OFFER. */
  readonly reconnect: (
    resume: { readonly ticket: string; readonly fingerprint: Uint8Array | undefined },
    connectTimeoutMs: number,
  ) => Promise<{ connection: Connection; offer: Offer }>;
  /** Pausing: closes the connection as a cut that waits for `resume()` before reconnecting. */
  readonly pause?: PauseSwitch | undefined;
}

const LOST_CODES: ReadonlySet<string> = new Set([
  ErrorCode.TRUNCATED,
  ErrorCode.CONNECTION_CLOSED,
  ErrorCode.TIMEOUT,
]);
const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
]);

/**
 * Whether `error` is the connection failing (§13.6): it ended, was reset or went silent. A
 * protocol violation, an ERROR the sender sent, or an interruption here is not.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (error instanceof PeerError || error instanceof ResumeStoppedError) return false;
  if (error instanceof FerryError) {
    // A TLS handshake cut by a reset is the network failing, not the peer's key or proof.
    return (
      LOST_CODES.has(error.code) ||
      (error.code === ErrorCode.TLS_FAILED && isSocketError(error.cause))
    );
  }
  return isSocketError(error);
}

function isSocketError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && SOCKET_CODES.has(code);
}

/**
 * Runs the transfer to DONE on `ctx.link.connection`, reconnecting after a connection loss
 * while the sender honours §13 (its OFFER carried `resume`) and `retryMs` allows.
 */
export async function transferWithReconnect(ctx: TransferContext): Promise<void> {
  const { options, events, logger, outcomes } = ctx;
  const retryMs = options.retryMs ?? RESUME.retryMs;
  // A ticket proves nothing without the sender key it came from: none, no reconnecting.
  let ticket = ticketOf(ctx.offer, ctx.senderKey);
  let round = ctx.first;
  // DONE counts the files of its own session: after a reconnect, those of the new connection.
  // Files concluded before the first REQUEST (empty ones already here) were never requested.
  let counted = {
    saved: outcomes.saved.length + outcomes.present.length,
    failed: outcomes.failed.length,
  };
  // After a reconnect: the files still to ask for on the new connection.
  let pending: readonly ValidatedEntry[] | undefined;
  const pause = ctx.pause;
  for (;;) {
    const connection = ctx.link.connection;
    // Without a ticket a closed connection cannot be reopened: such a transfer cannot pause.
    if (ticket !== undefined) pause?.arm(() => connection.destroy(pausedError()));
    try {
      if (pending) {
        // Hashing what is held takes a while for big files: PINGs keep the sender waiting.
        round = await ctx.plan(pending);
        connection.releasePeerSilence();
        await connection.send(FrameType.REQUEST, { files: [...round.requests] });
        logger.info({ files: pending.length, heldBytes: round.resumed.heldBytes }, 'resumed');
        events.emit('resumed', { files: pending.length, heldBytes: round.resumed.heldBytes });
        pending = undefined;
      }
      await ctx.receive(connection, round);
      // Every file is concluded: what is left is a few frames, not worth a reconnection.
      pause?.disarm();
      await connection.expect(FrameType.END);
      await connection.send(FrameType.DONE, {
        saved: outcomes.saved.length + outcomes.present.length - counted.saved,
        failed: outcomes.failed.length - counted.failed,
      });
      await connection.close();
      return;
    } catch (error) {
      pause?.disarm();
      if (pause?.takePause() && ticket !== undefined && !options.signal?.aborted) {
        connection.destroy();
        const files = ctx.first.files.filter((entry) => !outcomes.concluded.has(entry.id)).length;
        logger.info({ files }, 'paused');
        events.emit('paused', { files });
        await pause.untilResumed(options.signal);
        // A resume is the user's wish to go on: the reconnection gets the usual window, even
        // when --retry turned reconnecting after a cut off.
        const next = await reconnectWithin(
          ctx,
          { ticket, fingerprint: ctx.senderKey },
          retryMs > 0 ? retryMs : RESUME.retryMs,
          error,
        );
        ({ ticket, counted, pending } = afterReconnect(ctx, next, ticket));
        continue;
      }
      if (
        ticket === undefined ||
        retryMs <= 0 ||
        options.signal?.aborted ||
        !isConnectionLoss(error)
      )
        throw error;
      connection.destroy();
      const message = error instanceof Error ? error.message : String(error);
      logger.info(
        { code: codeOf(error), reason: message, retryMs },
        'connection lost; reconnecting',
      );
      events.emit('connection-lost', { code: codeOf(error), message, retryMs });
      const next = await reconnectWithin(
        ctx,
        { ticket, fingerprint: ctx.senderKey },
        retryMs,
        error,
      );
      ({ ticket, counted, pending } = afterReconnect(ctx, next, ticket));
    }
  }
}

/**
 * Takes the new connection: DONE counts from here, the latest OFFER's ticket is kept, and the
 * files not yet concluded are asked for again.
 */
function afterReconnect(
  ctx: TransferContext,
  next: { connection: Connection; offer: Offer },
  ticket: string,
): { ticket: string; counted: { saved: number; failed: number }; pending: ValidatedEntry[] } {
  const { outcomes } = ctx;
  ctx.link.connection = next.connection;
  return {
    ticket: ticketOf(next.offer, ctx.senderKey) ?? ticket,
    counted: {
      saved: outcomes.saved.length + outcomes.present.length,
      failed: outcomes.failed.length,
    },
    pending: ctx.first.files.filter((entry) => !outcomes.concluded.has(entry.id)),
  };
}

/**
 * Reconnects within `windowMs` from now: waits the backoff (250 ms doubling to 5 s, never past
 * the window), connects and greets. A failure to reach the sender is tried again; the window
 * running out, a sender that no longer knows the transfer, an offer that changed, or Ctrl-C
 * stops. Resolves with the new connection, quiet until REQUEST.
 */
async function reconnectWithin(
  ctx: TransferContext,
  resume: { readonly ticket: string; readonly fingerprint: Uint8Array | undefined },
  windowMs: number,
  lost: unknown,
): Promise<{ connection: Connection; offer: Offer }> {
  const { options, events, logger } = ctx;
  const backoff = options.backoff ?? { firstMs: RESUME.backoffFirstMs, maxMs: RESUME.backoffMaxMs };
  const endsAt = performance.now() + windowMs;
  let delayMs = backoff.firstMs;
  let last: unknown = lost;
  for (let attempt = 1; ; attempt++) {
    const wait = Math.max(0, Math.min(delayMs, endsAt - performance.now()));
    events.emit('reconnecting', { attempt, delayMs: Math.round(wait) });
    try {
      await sleep(wait, undefined, { signal: options.signal });
    } catch (error) {
      throw new FerryError(ErrorCode.CANCELLED, 'interrupted while reconnecting', { cause: error });
    }
    const left = endsAt - performance.now();
    if (left <= 0) throw windowEnded(windowMs, last);
    let next: { connection: Connection; offer: Offer };
    try {
      next = await ctx.reconnect(
        resume,
        Math.max(1, Math.min(options.connectTimeoutMs ?? TIMEOUTS.connectMs, left)),
      );
    } catch (error) {
      if (options.signal?.aborted)
        throw new FerryError(ErrorCode.CANCELLED, 'interrupted while reconnecting', {
          cause: error,
        });
      if (!isConnectionLoss(error)) throw error;
      logger.info({ attempt, err: error }, 'reconnect failed');
      last = error;
      if (endsAt - performance.now() <= 0) throw windowEnded(windowMs, last);
      delayMs = Math.min(delayMs * 2, backoff.maxMs);
      continue;
    }
    // The same transfer: a sender whose offer changed is not resumed into (§13.6).
    if (
      next.offer.session !== ctx.offer.session ||
      !isDeepStrictEqual(next.offer.entries, ctx.offer.entries)
    ) {
      next.connection.destroy();
      throw new ResumeStoppedError(
        ErrorCode.CONNECTION_CLOSED,
        "the sender's offer changed; run ferry-receive again",
      );
    }
    // DECIDING again until REQUEST: the sender may send nothing but PING.
    next.connection.requirePeerSilence();
    return next;
  }
}

function windowEnded(windowMs: number, last: unknown): ResumeStoppedError {
  const why = last instanceof Error ? ` (${last.message})` : '';
  return new ResumeStoppedError(
    last instanceof FerryError && last.code === ErrorCode.TIMEOUT
      ? ErrorCode.TIMEOUT
      : ErrorCode.CONNECTION_CLOSED,
    `could not reconnect to the sender within ${formatSeconds(windowMs)}${why}; run the same command again to resume`,
    { cause: last },
  );
}

/** `60 s`, `2.5 s`. */
export function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * The OFFER's reconnection ticket (`''` in clear), or undefined from a sender without §13, and
 * from an encrypted sender that gave none (an empty ticket: it takes no reconnection, §13.1).
 */
function ticketOf(offer: Offer, senderKey: Uint8Array | undefined): string | undefined {
  if (!('resume' in offer)) return undefined;
  const { ticket } = offer.resume;
  return senderKey !== undefined && ticket === '' ? undefined : ticket;
}

/** A code as the events carry it: the error's, or ERR_CONNECTION_CLOSED for a socket error. */
function codeOf(error: unknown): string {
  return error instanceof FerryError ? error.code : ErrorCode.CONNECTION_CLOSED;
}
