import { formatBytes, formatDuration, formatRate } from './format.ts';

/**
 * Progress of a transfer or a file: a bar, bytes done of the total, the rate and the time left
 * when known. A screen reader reads the bar's label, then its percentage and the same figures
 * (its value text), when it reaches it. The figures change twice a second, so they are not a
 * live region: one would speak over everything else for the whole transfer.
 */
export function ProgressBar({
  label,
  done,
  total,
  rate,
  eta,
}: {
  label: string;
  done: number;
  total: number;
  /** Bytes per second, when known. */
  rate?: number | null | undefined;
  /** Seconds left, when known. */
  eta?: number | null | undefined;
}) {
  const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : done > 0 ? 100 : 0;
  const parts = [`${formatBytes(done)} of ${formatBytes(total)}`];
  if (rate != null && rate > 0) parts.push(formatRate(rate));
  if (eta != null && done < total) parts.push(`${formatDuration(eta)} left`);
  return (
    <div class="progress">
      <div class="progress-label">
        <span>{label}</span>
        <span class="progress-percent">{percent}%</span>
      </div>
      <progress
        max={100}
        value={percent}
        aria-label={label}
        aria-valuetext={`${percent}%: ${parts.join(', ')}`}
      />
      <div class="progress-detail">{parts.join(' · ')}</div>
    </div>
  );
}
