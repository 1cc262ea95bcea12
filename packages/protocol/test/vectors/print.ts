/**
 * Prints PROTOCOL.md §10's test vectors, or with `--write` replaces them in PROTOCOL.md
 * between the `vectors:start` and `vectors:end` markers.
 * Run from packages/protocol: `npx tsx test/vectors/print.ts --write`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { VECTORS, vectorMarkdown } from './inputs.ts';

const START = '<!-- vectors:start -->';
const END = '<!-- vectors:end -->';
const body = VECTORS.map(vectorMarkdown).join('\n');

if (process.argv.includes('--write')) {
  const file = new URL('../../PROTOCOL.md', import.meta.url);
  const doc = readFileSync(file, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) throw new Error(`PROTOCOL.md lacks the ${START} ... ${END} markers`);
  writeFileSync(file, `${doc.slice(0, from + START.length)}\n${body}${doc.slice(to)}`);
} else {
  process.stdout.write(body);
}
