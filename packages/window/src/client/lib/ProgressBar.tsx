import { formatBytes, formatDuration, formatRate } from './format.ts';

/**
 * Progress of a transfer or a file: a bar, bytes done of the total, the rate and the time left
 * when known. Announced politely to screen readers.
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
      <progress max={100} value={percent} aria-label={label} />
      <div class="progress-detail" aria-live="polite">
        {parts.join(' · ')}
      </div>
    </div>
  );
}
