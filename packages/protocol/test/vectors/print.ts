/**
 * Prints PROTOCOL.md's test vectors, or with `--write` replaces them in PROTOCOL.md
 * between the `vectors:start` and `vectors:end` markers (frames, §10.1), the
 * `pairing-vector:start` and `pairing-vector:end` markers (the pairing, §10.2), and the
 * `chat-vectors` and `chat-text` markers (the chat extension's frames and text, §12.10),
 * and the `resume-vectors` and `resume-proof` markers (resume's frames and proof, §13).
 * Run from packages/protocol: `npx tsx test/vectors/print.ts --write`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { chatTextMarkdown } from './chat-text.ts';
import { CHAT_VECTORS, VECTORS, vectorMarkdown } from './inputs.ts';
import { pairingMarkdown } from './pairing.ts';
import { RESUME_VECTORS, resumeProofMarkdown } from './resume.ts';

const blocks = [
  {
    start: '<!-- vectors:start -->',
    end: '<!-- vectors:end -->',
    body: VECTORS.map(vectorMarkdown).join('\n'),
  },
  {
    start: '<!-- pairing-vector:start -->',
    end: '<!-- pairing-vector:end -->',
    body: pairingMarkdown(),
  },
  {
    start: '<!-- chat-vectors:start -->',
    end: '<!-- chat-vectors:end -->',
    body: CHAT_VECTORS.map(vectorMarkdown).join('\n'),
  },
  {
    start: '<!-- chat-text:start -->',
    end: '<!-- chat-text:end -->',
    body: chatTextMarkdown(),
  },
  {
    start: '<!-- resume-vectors:start -->',
    end: '<!-- resume-vectors:end -->',
    body: RESUME_VECTORS.map(vectorMarkdown).join('\n'),
  },
  {
    start: '<!-- resume-proof:start -->',
    end: '<!-- resume-proof:end -->',
    body: resumeProofMarkdown(),
  },
];

if (process.argv.includes('--write')) {
  const file = new URL('../../PROTOCOL.md', import.meta.url);
  let doc = readFileSync(file, 'utf8');
  for (const { start, end, body } of blocks) {
    const from = doc.indexOf(start);
    const to = doc.indexOf(end);
    if (from < 0 || to < from) throw new Error(`PROTOCOL.md lacks the ${start} ... ${end} markers`);
    doc = `${doc.slice(0, from + start.length)}\n${body}${doc.slice(to)}`;
  }
  writeFileSync(file, doc);
} else {
  process.stdout.write(blocks.map((block) => block.body).join('\n'));
}
