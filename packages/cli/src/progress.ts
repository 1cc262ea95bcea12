import { formatBytes } from '@ferry/protocol';

export { formatBytes };

/** Formats seconds as `42s`, `3m05s` or `2h07m`; `--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A snapshot of a transfer's progress. */
export interface ProgressSnapshot {
  readonly bytes: number;
  readonly total: number;
  /**
   * Bytes per second: over the last few seconds while running, the average of the whole
   * transfer once done; NaN until enough time has passed to know it.
   */
  readonly rate: number;
  /** Seconds left at that rate, or NaN when unknown. */
  readonly etaSeconds: number;
  /** Every byte has moved. */
  readonly done: boolean;
}

/** The rate is measured over this much of the recent past... */
const RATE_WINDOW_MS = 5_000;
/** ...and is not known before this much of it has passed: the first burst fills buffers. */
const RATE_MIN_SPAN_MS = 1_000;
/** Samples are kept at most this often. */
const SAMPLE_EVERY_MS = 250;

/**
 * Tracks bytes against a total and derives a rate and an ETA. The rate is the average over a
 * sliding window of a few seconds, so one burst (socket and disk buffers filling at the start)
 * never makes the ETA collapse to 0 while much remains. The caller passes the time (monotonic
 * milliseconds), so the meter itself never reads a clock.
 */
export class ProgressMeter {
  readonly startedAt: number;
  #total: number;
  #bytes = 0;
  #samples: { at: number; bytes: number }[];

  constructor(total: number, nowMs: number) {
    this.#total = total;
    this.startedAt = nowMs;
    this.#samples = [{ at: nowMs, bytes: 0 }];
  }

  /** Bytes to move in all. */
  get total(): number {
    return this.#total;
  }

  /** More bytes to move than first said (a resumed file that starts over from byte 0). */
  grow(bytes: number): void {
    this.#total += bytes;
  }

  /** Bytes moved so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds transferred bytes. */
  add(bytes: number): void {
    this.#bytes += bytes;
  }

  /** The progress as of `nowMs`. */
  snapshot(nowMs: number): ProgressSnapshot {
    const bytes = this.#bytes;
    const done = bytes >= this.total;
    if (done) {
      const elapsed = nowMs - this.startedAt;
      return {
        bytes,
        total: this.total,
        rate: elapsed > 0 ? (bytes * 1000) / elapsed : Number.NaN,
        etaSeconds: 0,
        done,
      };
    }
    const last = this.#samples.at(-1)!;
    if (nowMs - last.at >= SAMPLE_EVERY_MS) this.#samples.push({ at: nowMs, bytes });
    while (this.#samples.length > 2 && nowMs - this.#samples[1]!.at >= RATE_WINDOW_MS)
      this.#samples.shift();
    const oldest = this.#samples[0]!;
    const span = nowMs - oldest.at;
    const rate = span >= RATE_MIN_SPAN_MS ? ((bytes - oldest.bytes) * 1000) / span : Number.NaN;
    const etaSeconds = rate > 0 ? (this.total - bytes) / rate : Number.NaN;
    return { bytes, total: this.total, rate, etaSeconds, done };
  }
}

/**
 * One line of progress: `  45% 1.20 GiB of 2.66 GiB  512 MiB/s  ETA 3s`; `--` for what is not
 * known yet; at the end the average rate and `done`. While bytes remain the ETA is at least 1s.
 */
export function formatProgress(snapshot: ProgressSnapshot): string {
  const { bytes, total, rate, etaSeconds, done } = snapshot;
  const percent = total === 0 ? 100 : Math.floor((bytes / total) * 100);
  const speed = Number.isFinite(rate) ? `${formatBytes(rate)}/s` : '--/s';
  const tail = done
    ? 'done'
    : `ETA ${Number.isFinite(etaSeconds) ? formatDuration(Math.max(1, Math.ceil(etaSeconds))) : '--'}`;
  return `${String(percent).padStart(3)}% ${formatBytes(bytes)} of ${formatBytes(total)}  ${speed}  ${tail}`;
}

/** A short form for narrow lines: `45% 512 MiB/s ETA 3s`, or just `45%`. */
export function formatProgressShort(snapshot: ProgressSnapshot, withRate: boolean): string {
  const { bytes, total, rate, etaSeconds, done } = snapshot;
  const percent = `${total === 0 ? 100 : Math.floor((bytes / total) * 100)}%`;
  if (!withRate) return percent;
  const speed = Number.isFinite(rate) ? `${formatBytes(rate)}/s` : '--/s';
  const tail = done
    ? 'done'
    : `ETA ${Number.isFinite(etaSeconds) ? formatDuration(Math.max(1, Math.ceil(etaSeconds))) : '--'}`;
  return `${percent} ${speed} ${tail}`;
}

/** Whether a progress line is worth showing: bytes have moved and the rate is known, or all is done. */
export function isWorthShowing(snapshot: ProgressSnapshot): boolean {
  return snapshot.done || (snapshot.bytes > 0 && Number.isFinite(snapshot.rate));
}

/**
 * Decides when a meter's progress is shown: at most once per `everyMs`, only once it is worth
 * showing (bytes moved and the rate known), and once more, whatever the time, when it is done.
 */
export class ProgressPacer {
  readonly everyMs: number;
  #shownAt = Number.NEGATIVE_INFINITY;
  #doneShown = false;

  constructor(everyMs: number) {
    this.everyMs = everyMs;
  }

  /** The snapshot to show now, or undefined when nothing should be shown. */
  next(meter: ProgressMeter, nowMs: number): ProgressSnapshot | undefined {
    const done = meter.bytes >= meter.total;
    if (done ? this.#doneShown : nowMs - this.#shownAt < this.everyMs) return undefined;
    const snapshot = meter.snapshot(nowMs);
    if (!isWorthShowing(snapshot)) return undefined;
    this.#shownAt = nowMs;
    this.#doneShown = done;
    return snapshot;
  }
}

/**
 * The progress of several transfers on one line (`#1 45% ... | #2 12% ...`) in the most
 * detailed form that fits `width` columns: full, then rate and ETA, then percentages only.
 */
export function formatProgressLine(
  entries: readonly { label: string; snapshot: ProgressSnapshot }[],
  width: number | undefined,
): string {
  const forms = [
    (s: ProgressSnapshot) => formatProgress(s).trimStart(),
    (s: ProgressSnapshot) => formatProgressShort(s, true),
    (s: ProgressSnapshot) => formatProgressShort(s, false),
  ];
  let line = '';
  for (const form of forms) {
    line = entries.map(({ label, snapshot }) => `${label} ${form(snapshot)}`).join(' | ');
    if (width === undefined || [...line].length <= width - 1) return line;
  }
  return line;
}
