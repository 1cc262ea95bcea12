import { formatBytes } from '@ferry/protocol/text';

export { formatBytes };

/** `85.2 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.max(0, bytesPerSecond))}/s`;
}

/** `45 s`, `3 min 20 s`, `2 h 5 min`: how long is left, said plainly. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// Made once: `toLocaleString` builds a new formatter on every call, which cost the page more
// than the rest of a progress update together.
const numbers = new Intl.NumberFormat();
const times = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A file's time, in the user's locale; empty for a time no date can hold (a file system's odd value). */
export function formatTime(ms: number): string {
  return Number.isFinite(new Date(ms).getTime()) ? times.format(ms) : '';
}

/** `1 file`, `3 files`, `12,000 files` (in the user's locale). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${numbers.format(count)} ${count === 1 ? one : many}`;
}
