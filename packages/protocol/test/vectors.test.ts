import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameType } from '../src/constants.ts';
import { FrameDecoder } from '../src/frame/decoder.ts';
import { decodeMessage, isMessageType } from '../src/messages/codec.ts';
import { fromHex, toHex } from './helpers.ts';
import { VECTORS } from './vectors/inputs.ts';

const doc = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');

/** The hex bytes PROTOCOL.md shows under `<!-- vector: name -->`. */
function documented(name: string): { hex: string; json: string | undefined } | undefined {
  const match = new RegExp(`<!-- vector: ${name} -->\\n[^\\n]*\\n\\n(?:Payload: \`([^\\n]*)\`\\n\\n)?\`\`\`text\\n([0-9a-f \\n]*)\`\`\``).exec(doc);
  if (!match) return undefined;
  return { json: match[1], hex: toHex(fromHex(match[2]!)) };
}

describe('PROTOCOL.md test vectors', () => {
  it('lists every vector exactly once, and no other', () => {
    const names = [...doc.matchAll(/<!-- vector: (\w+) -->/g)].map((match) => match[1]);
    expect(names).toEqual(VECTORS.map((vector) => vector.name));
  });

  it.each(VECTORS)('shows the bytes the encoder produces for $name', ({ name, bytes, json }) => {
    const shown = documented(name);
    expect(shown).toBeDefined();
    expect(shown?.hex).toBe(toHex(bytes));
    expect(shown?.json).toBe(json);
  });

  it.each(VECTORS.filter((vector) => !vector.name.startsWith('PREAMBLE')))('decodes the $name vector', ({ bytes, json }) => {
    const decoder = new FrameDecoder();
    const events = decoder.push(bytes);
    decoder.end();
    expect(events).toHaveLength(1);
    const [event] = events;
    if (event?.kind === 'frame' && isMessageType(event.type)) {
      expect(decodeMessage(event.type, event.payload)).toEqual(JSON.parse(json!));
    } else if (event?.kind === 'frame') {
      expect(event.type).toBe(FrameType.PING);
    } else {
      expect(event?.kind).toBe('data');
    }
  });
});
