/** How many entries a summary shows before `... and N more`. */
export const SUMMARY_ENTRIES = 10;

const collator = new Intl.Collator(undefined, { numeric: true });

/**
 * Compares `/`-separated paths in natural order, folder by folder: `f9` before `f80` before
 * `f90`, and a folder's own entries together.
 */
export function comparePathsNaturally(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = collator.compare(left[i]!, right[i]!);
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

/**
 * The lines of a list, all of them or the first `limit` and a closing `... and N more` line
 * (with `more`, a hint saying how to see them all).
 */
export function summarizeLines(
  lines: readonly string[],
  all: boolean,
  more: string,
  limit = SUMMARY_ENTRIES,
): string[] {
  if (all || lines.length <= limit) return [...lines];
  return [...lines.slice(0, limit), `  ... and ${lines.length - limit} more${more}`];
}
