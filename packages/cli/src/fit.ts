/** The width assumed when a terminal does not say its own. */
export const DEFAULT_COLUMNS = 80;

/** A key as Ferry shows it, `93E1 2CF8 2297 390E`: never broken across lines. */
const KEY = /[0-9A-F]{4}(?: [0-9A-F]{4}){3}/g;
/** Stands for a space inside a key while wrapping; escaped output never contains NUL. */
const KEY_SPACE = '\u0000';

/** Columns a string takes, counting code points (wide characters count as one). */
export function visibleLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

/** Cuts `text` to at most `width` columns, ending in `…` when cut. */
export function truncate(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  return `${[...text].slice(0, Math.max(0, width - 1)).join('')}…`;
}

/**
 * Wraps one line to `width` columns at spaces, never inside a key; continuation lines are
 * indented two more than the line itself. A word longer than a whole line is cut.
 */
export function wrapLine(line: string, width: number): string[] {
  if (visibleLength(line) <= width) return [line];
  const indent = /^ */.exec(line)![0];
  const next = `${indent}  `.slice(0, Math.max(0, width - 10));
  const words = line
    .slice(indent.length)
    .replace(KEY, (key) => key.replaceAll(' ', KEY_SPACE))
    .split(' ');
  const lines: string[] = [];
  let current = indent;
  let empty = true;
  for (const word of words) {
    const candidate = empty ? current + word : `${current} ${word}`;
    if (visibleLength(candidate) <= width) {
      current = candidate;
      empty = false;
      continue;
    }
    if (!empty) lines.push(current);
    current = next;
    let rest = word;
    // A word longer than a whole line (a long path, say) is cut where the line ends.
    while (visibleLength(current + rest) > width && width > visibleLength(current)) {
      const room = width - visibleLength(current);
      const chars = [...rest];
      lines.push(current + chars.slice(0, room).join(''));
      rest = chars.slice(room).join('');
    }
    current += rest;
    empty = rest === '';
  }
  if (!empty || lines.length === 0) lines.push(current);
  return lines.map((text) => text.replaceAll(KEY_SPACE, ' ').trimEnd());
}
