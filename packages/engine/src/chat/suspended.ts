import { ErrorCode, type FerryError, PeerError, type ValidatedEntry } from '@ferry/protocol';
import type { KeptPartials } from '../destination.ts';
import type { PreparedReceiving } from '../receiving.ts';
import type { OfferSource } from '../scan.ts';

/** One of our proposals that was not finished when its connection was lost (§13.11 item 6). */
export interface SuspendedOutgoing {
  /** Its offer id on the lost link. */
  readonly offer: number;
  readonly source: OfferSource;
}

/** An accepted proposal of the peer that was being received when the connection was lost. */
export interface SuspendedIncoming {
  /** Its offer id on the lost link. */
  readonly offer: number;
  /** The folder it was accepted into, as resolved. */
  readonly outDir: string;
  /**
   * Keeps its partial folder on disk for a later rerun (§13.11 item 9): what it holds and where,
   * or undefined when it holds no byte (then it is removed, with the folders made for it). Once.
   */
  keep(): Promise<KeptPartials | undefined>;
}

/** Work suspended on a lost connection, to go on with the same peer on its next one. */
export interface SuspendedWork {
  readonly outgoing: readonly SuspendedOutgoing[];
  readonly incoming: readonly SuspendedIncoming[];
}

/**
 * The link's own account of a suspended incoming transfer: the destination it writes to (its
 * partial folder still locked by this process), the files accepted, and those concluded
 * (saved, already there, or failed) on any connection so far, which are not asked for again.
 */
export class SuspendedReceiving implements SuspendedIncoming {
  readonly offer: number;
  readonly outDir: string;
  /** The proposal's entries as JSON: a re-proposal matches when its entries are equal. */
  readonly entriesKey: string;
  /** The first preparation: its destination, and what was held then (files already there). */
  readonly prepared: Pick<PreparedReceiving, 'destination' | 'held' | 'outDir'>;
  /** Every file accepted, under its local path, in offer order. */
  readonly files: readonly ValidatedEntry[];
  readonly concluded: ReadonlySet<number>;
  #settled: Promise<KeptPartials | undefined> | undefined;
  #taken = false;

  constructor(init: {
    offer: number;
    entriesKey: string;
    prepared: Pick<PreparedReceiving, 'destination' | 'held' | 'outDir'>;
    files: readonly ValidatedEntry[];
    concluded: ReadonlySet<number>;
  }) {
    this.offer = init.offer;
    this.outDir = init.prepared.outDir;
    this.entriesKey = init.entriesKey;
    this.prepared = init.prepared;
    this.files = init.files;
    this.concluded = init.concluded;
  }

  /** The files still to receive. */
  get remaining(): readonly ValidatedEntry[] {
    return this.files.filter((entry) => !this.concluded.has(entry.id));
  }

  /** A new link goes on with it: it is no longer this object's to keep. False when kept or taken already. */
  take(): boolean {
    if (this.#taken || this.#settled) return false;
    this.#taken = true;
    return true;
  }

  keep(): Promise<KeptPartials | undefined> {
    if (this.#taken) return Promise.resolve(undefined);
    this.#settled ??= keepOrClean(this.prepared.destination);
    return this.#settled;
  }
}

/** Partial folders being kept or cleaned up now, in this process. */
const settling = new Set<Promise<unknown>>();

/**
 * Keeps a destination's partial folder when it holds bytes (its lock given up, so that a later
 * accept can resume from it); otherwise cleans up as after a failure.
 */
export function keepOrClean(
  destination: PreparedReceiving['destination'],
): Promise<KeptPartials | undefined> {
  return settle(
    (async () => {
      const kept = await destination.keep().catch(() => undefined);
      if (!kept) await destination.cleanup().catch(() => {});
      return kept;
    })(),
  );
}

/** Counts `work` (a link suspending or keeping its transfers) until it settles: see {@link keptSettled}. */
export function settle<T>(work: Promise<T>): Promise<T> {
  settling.add(work);
  const done = () => {
    settling.delete(work);
  };
  work.then(done, done);
  return work;
}

/**
 * Resolves once every link ending now has suspended or kept its transfers, and every partial
 * folder being kept now is settled: an accept that follows a transfer kept a moment ago (a
 * joiner that came back in clear) finds it unlocked and resumes from it.
 */
export async function keptSettled(): Promise<void> {
  await Promise.allSettled([...settling]);
}

/**
 * True for how a connection fails without anyone ending it (§13.9): closed without BYE,
 * truncated, timed out. Never for an ERROR the peer sent.
 */
export function isConnectionFailure(error: FerryError): boolean {
  if (error instanceof PeerError) return false;
  return (
    error.code === ErrorCode.CONNECTION_CLOSED ||
    error.code === ErrorCode.TRUNCATED ||
    error.code === ErrorCode.TIMEOUT
  );
}

/** The JSON of a proposal's entries as they came: equal proposals give equal keys. */
export function entriesKey(entries: unknown): string {
  return JSON.stringify(entries);
}
