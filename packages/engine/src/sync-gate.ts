import type { BigIntStats, Stats } from 'node:fs';
import fs from 'node:fs';
import { promisify } from 'node:util';

/**
 * A sync call that takes longer than this, alone, closes the gate: the event loop must not
 * stall behind a disk that hangs.
 */
const SLOW_CALL_MS = 500;
/**
 * The gate closes once sync calls take this long on average: a disk this slow (a network share,
 * a disk spinning up) would hold the event loop for most of the time.
 */
const SLOW_AVERAGE_MS = 10;
/** Weight of the newest call in the running average: about the last 32 calls count. */
const AVERAGE_WEIGHT = 1 / 32;
/** How long a closed gate stays closed before sync calls are tried again. */
const REOPEN_AFTER_MS = 5_000;
/**
 * The sync calls of every gate together spend about this long at most in one turn of the event
 * loop (the call that crosses it runs to its end); past that, calls go through the pool until
 * the loop has turned, so timers, keepalives and other peers get their turn however many fast
 * calls a scan or a queue of small files makes in a row. Only the calls are counted: work done
 * between them in the same turn (hashing, say) is bounded by the callers' own flow control.
 */
export const TURN_BUDGET_MS = 25;

/** What sync calls spent in this turn of the event loop, for all gates of the process. */
const turn: { spentMs: number; reset: NodeJS.Immediate | undefined } = {
  spentMs: 0,
  reset: undefined,
};

function spend(ms: number): void {
  turn.spentMs += ms;
  turn.reset ??= setImmediate(() => {
    turn.spentMs = 0;
    turn.reset = undefined;
  });
}

/**
 * Thresholds for reading chunks of a file (up to a few MiB): from the page cache a MiB takes
 * well under a millisecond, from a disk several. One read over 8 ms, or an average over 2 ms,
 * means the reads miss the cache: the gate closes, and reads go through the pool again, where
 * the next chunk comes off the disk while this one is hashed and sent.
 */
export const BULK_READ_GATE = { slowCallMs: 8, slowAverageMs: 2 } as const;

/**
 * Decides how the small file-system calls made per file (open, stat, link, a small write,
 * close) run: synchronously on the event loop while they are fast, which is what many small
 * files need, or through libuv's thread pool. Through the pool each call costs a hand-off to a
 * pool thread and back (futexes, an eventfd write, an epoll wake-up): measured on 10,000 files
 * of 4 KiB with nine calls each, 6-7 CPU-seconds against 2 for the same calls made
 * synchronously, and three times the wall time. A disk whose calls are slow would stall the
 * event loop instead, so each sync call is timed: once one takes longer than SLOW_CALL_MS, or
 * they average more than SLOW_AVERAGE_MS (a busy host preempts a call now and then for tens of
 * milliseconds: the average rides that out), the gate closes and calls go through the pool,
 * as before, for REOPEN_AFTER_MS; then sync calls are tried again. And however fast they are,
 * the sync calls of all gates stop for the rest of a turn of the event loop once they have
 * spent TURN_BUDGET_MS in it: a slow file system whose calls stay under both bounds still
 * cannot hold the loop.
 */
export class SyncGate {
  #averageMs = 0;
  /** Forever false for a gate made closed; else the time at which a closed gate opens again. */
  #closedUntil: number;

  readonly #slowCallMs: number;
  readonly #slowAverageMs: number;

  /**
   * `sync: false` makes a gate that stays closed: every call goes through the pool.
   * `slowCallMs` and `slowAverageMs` replace SLOW_CALL_MS and SLOW_AVERAGE_MS, for calls that
   * are much faster than a disk when the page cache answers them (see {@link BULK_READ_GATE}).
   */
  constructor(options: { sync?: boolean; slowCallMs?: number; slowAverageMs?: number } = {}) {
    this.#closedUntil = options.sync === false ? Number.POSITIVE_INFINITY : 0;
    this.#slowCallMs = options.slowCallMs ?? SLOW_CALL_MS;
    this.#slowAverageMs = options.slowAverageMs ?? SLOW_AVERAGE_MS;
  }

  /** True while calls run synchronously. */
  get open(): boolean {
    if (this.#closedUntil === 0) return true;
    if (performance.now() < this.#closedUntil) return false;
    this.#closedUntil = 0;
    this.#averageMs = 0;
    return true;
  }

  /**
   * True if the next call may run synchronously: the gate is open, and this turn of the event
   * loop has not spent {@link TURN_BUDGET_MS} on sync calls yet.
   */
  get synchronous(): boolean {
    return turn.spentMs < TURN_BUDGET_MS && this.open;
  }

  /**
   * Runs `syncCall` now while {@link synchronous} (its error becomes the promise's rejection),
   * else `asyncCall`.
   */
  run<T>(syncCall: () => T, asyncCall: () => Promise<T>): Promise<T> {
    if (!this.synchronous) return asyncCall();
    try {
      return Promise.resolve(this.timed(syncCall));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs `syncCall` now and times it; only while {@link synchronous}. */
  timed<T>(syncCall: () => T): T {
    const started = performance.now();
    try {
      return syncCall();
    } finally {
      this.#note(started, performance.now());
    }
  }

  #note(started: number, ended: number): void {
    const ms = ended - started;
    spend(ms);
    this.#averageMs += (ms - this.#averageMs) * AVERAGE_WEIGHT;
    if (ms > this.#slowCallMs || this.#averageMs > this.#slowAverageMs)
      this.#closedUntil = ended + REOPEN_AFTER_MS;
  }
}

const fstatAsync = promisify(fs.fstat);
const closeAsync = promisify(fs.close);
const ftruncateAsync = promisify(fs.ftruncate);
const fdatasyncAsync = promisify(fs.fdatasync);
const openAsync = promisify(fs.open);

/**
 * A file opened through a {@link SyncGate}: its descriptor, and the calls the receiving path
 * makes on it, each run as the gate says (a data sync always through the pool: it waits for
 * the disk). Whoever opens one closes it.
 */
export class GatedFile {
  readonly fd: number;
  readonly #gate: SyncGate;
  #closing: Promise<void> | undefined;

  private constructor(fd: number, gate: SyncGate) {
    this.fd = fd;
    this.#gate = gate;
  }

  /** Opens `file` with `flags` and `mode` (open(2)'s), as the gate says. */
  static async open(file: string, flags: number, mode: number, gate: SyncGate): Promise<GatedFile> {
    const fd = await gate.run(
      () => fs.openSync(file, flags, mode),
      () => openAsync(file, flags, mode),
    );
    return new GatedFile(fd, gate);
  }

  stat(_options: { bigint: true }): Promise<BigIntStats> {
    return this.#gate.run(
      () => fs.fstatSync(this.fd, { bigint: true }),
      () => fstatAsync(this.fd, { bigint: true }),
    );
  }

  truncate(length = 0): Promise<void> {
    return this.#gate.run(
      () => fs.ftruncateSync(this.fd, length),
      () => ftruncateAsync(this.fd, length),
    );
  }

  datasync(): Promise<void> {
    return fdatasyncAsync(this.fd);
  }

  /** Closes the descriptor once, however many times it is asked to (its number may be reused after). */
  close(): Promise<void> {
    this.#closing ??= this.#gate.run(
      () => fs.closeSync(this.fd),
      () => closeAsync(this.fd),
    );
    return this.#closing;
  }
}

/** lstat through the gate. */
export function gatedLstat(gate: SyncGate, file: string): Promise<Stats> {
  return gate.run(
    () => fs.lstatSync(file),
    () => fs.promises.lstat(file),
  );
}

/** lstat through the gate, with 64-bit device and inode numbers. */
export function gatedLstatBig(gate: SyncGate, file: string): Promise<BigIntStats> {
  return gate.run(
    () => fs.lstatSync(file, { bigint: true }),
    () => fs.promises.lstat(file, { bigint: true }),
  );
}

/** link(2) through the gate. */
export function gatedLink(gate: SyncGate, existing: string, created: string): Promise<void> {
  return gate.run(
    () => fs.linkSync(existing, created),
    () => fs.promises.link(existing, created),
  );
}

/** unlink(2) through the gate. */
export function gatedUnlink(gate: SyncGate, file: string): Promise<void> {
  return gate.run(
    () => fs.unlinkSync(file),
    () => fs.promises.unlink(file),
  );
}
