/** Formats a byte count with binary prefixes: `0 B`, `1.5 KiB`, `3.21 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Formats seconds as `42s`, `3m05s` or `2h07m`. */
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
  /** Bytes per second, smoothed. */
  readonly rate: number;
  /** Seconds left at the current rate, or NaN when unknown. */
  readonly etaSeconds: number;
}

/**
 * Tracks bytes against a total and derives a smoothed rate and an ETA. The caller passes the
 * time (monotonic milliseconds), so the meter itself never reads a clock.
 */
export class ProgressMeter {
  readonly total: number;
  #bytes = 0;
  #rate = 0;
  #lastAt: number;
  #lastBytes = 0;

  constructor(total: number, nowMs: number) {
    this.total = total;
    this.#lastAt = nowMs;
  }

  /** Adds transferred bytes. */
  add(bytes: number): void {
    this.#bytes += bytes;
  }

  /** The progress as of `nowMs`; folds the bytes since the last call into the smoothed rate. */
  snapshot(nowMs: number): ProgressSnapshot {
    const elapsed = nowMs - this.#lastAt;
    if (elapsed >= 200) {
      const instant = ((this.#bytes - this.#lastBytes) * 1000) / elapsed;
      this.#rate = this.#rate === 0 ? instant : this.#rate * 0.6 + instant * 0.4;
      this.#lastAt = nowMs;
      this.#lastBytes = this.#bytes;
    }
    const left = this.total - this.#bytes;
    const etaSeconds = this.#rate > 0 ? left / this.#rate : left === 0 ? 0 : Number.NaN;
    return { bytes: this.#bytes, total: this.total, rate: this.#rate, etaSeconds };
  }
}

/** One line of progress: `  45% 1.20 GiB of 2.66 GiB  512 MiB/s  ETA 3s`. */
export function formatProgress(snapshot: ProgressSnapshot): string {
  const { bytes, total, rate, etaSeconds } = snapshot;
  const percent = total === 0 ? 100 : Math.floor((bytes / total) * 100);
  return `${String(percent).padStart(3)}% ${formatBytes(bytes)} of ${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${formatDuration(etaSeconds)}`;
}
