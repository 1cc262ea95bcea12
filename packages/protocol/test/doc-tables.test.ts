/**
 * PROTOCOL.md's tables of frame types (§3.1), chat and resume limits (§7) and error codes (§8)
 * say what the code does: the same types, names and caps, the same values as `CHAT` and
 * `RESUME`, the same codes. And
 * the TX_DATA offer id is written where §12.3.11 says.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CHAT,
  CHAT_FRAME_TYPES,
  DISCOVERY,
  FRAME_HEADER_BYTES,
  FRAME_TYPE_NAMES,
  FrameType,
  RESUME,
  TX_DATA_HEADER_BYTES,
} from '../src/constants.ts';
import { ErrorCode } from '../src/errors.ts';
import { writeFrameHeader, writeTxDataOffer } from '../src/frame/encode.ts';
import { FrameDecoder, maxPayloadFor } from '../src/frame/decoder.ts';

const doc = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');

/** The lines of the section that starts with `heading`, up to the next heading. */
function section(heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  expect(start).toBeGreaterThan(0);
  const rest = doc.slice(start + heading.length + 2);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** A size as §3.1 writes a cap: `64 KiB`, `32 MiB`, `512 B`, `1 MiB + 4 B`, `0`. */
function parseCap(cell: string): number | undefined {
  const match = /^(\d+)(?: (B|KiB|MiB))?(?: \+ (\d+) B)?(?: |$)/.exec(cell);
  if (!match || cell.includes('per file')) return undefined;
  const unit = { B: 1, KiB: 1024, MiB: 1024 * 1024 }[match[2] ?? 'B']!;
  return Number(match[1]) * unit + Number(match[3] ?? 0);
}

describe('PROTOCOL.md §3.1 frame types', () => {
  const rows = [
    ...section('### 3.1 Frame types').matchAll(
      /^\| `0x([0-9A-F]{2})` \| (\w+) \| [^|]+ \| [^|]+ \| ([^|]+) \|$/gm,
    ),
  ].map(([, hex, name, cap]) => ({
    type: Number.parseInt(hex!, 16),
    name: name!,
    cap: cap!.trim(),
  }));

  it('lists every frame type the code knows, under its name, and no other', () => {
    expect(rows.map(({ type, name }) => [type, name])).toEqual(
      [...FRAME_TYPE_NAMES].sort(([a], [b]) => a - b),
    );
  });

  it('gives every type the cap the decoder applies', () => {
    let checked = 0;
    for (const { type, cap } of rows) {
      const bytes = parseCap(cap);
      if (bytes === undefined) continue;
      expect({ type, cap: bytes }).toEqual({ type, cap: maxPayloadFor(type) });
      checked++;
    }
    // Only REQUEST's cap, which depends on the offer, is written in words.
    expect(checked).toBe(rows.length - 1);
  });

  it('lists the chat types 0x10 to 0x1E, and says the rest is unassigned', () => {
    expect(rows.filter(({ type }) => CHAT_FRAME_TYPES.has(type))).toHaveLength(15);
    expect(section('### 3.1 Frame types')).toContain(
      'Type `0x00` and `0x1F`–`0xFF` are unassigned.',
    );
  });
});

/**
 * The table of §7 that follows the paragraph starting `<title> (\`<NAME>\``: each `name` of its
 * first column with the number in the second, in order.
 */
function limitsTable(title: string, constant: string): Record<string, number> {
  const table =
    new RegExp(`^${title} \\(\`${constant}\`[\\s\\S]*?\\n\\n([\\s\\S]*?)\\n\\n`, 'm').exec(
      section('## 7. Timeouts and limits'),
    )?.[1] ?? '';
  const values = new Map<string, number>();
  for (const [, names, cell] of table.matchAll(/^\| ((?:`\w+`(?:, )?)+) \| ([^|]+) \|/gm)) {
    const keys = [...names!.matchAll(/`(\w+)`/g)].map((match) => match[1]!);
    const numbers = cell!
      .replace(/\(.*?\)/g, '')
      .split(',')
      .map((part) => part.trim());
    keys.forEach((key, i) => {
      const text = numbers[i]!;
      values.set(key, text === '2³²−1' ? 2 ** 32 - 1 : Number(text.replace(/ /g, '')));
    });
  }
  return Object.fromEntries(values);
}

describe('PROTOCOL.md §7 chat limits', () => {
  it('lists every limit of CHAT with its value', () => {
    expect(limitsTable('Chat limits', 'CHAT')).toEqual({ ...CHAT });
  });
});

describe('PROTOCOL.md §7 resume limits', () => {
  it('lists every limit of RESUME with its value', () => {
    expect(limitsTable('Resume limits', 'RESUME')).toEqual({ ...RESUME });
  });
});

describe('PROTOCOL.md §7 discovery limits', () => {
  it('lists every limit of DISCOVERY with its value', () => {
    expect(limitsTable('Discovery limits', 'DISCOVERY')).toEqual({ ...DISCOVERY });
  });
});

describe('PROTOCOL.md §8 error codes', () => {
  it('lists every code of ErrorCode once, and no other', () => {
    const listed = [...section('## 8. Error codes').matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map(
      (match) => match[1],
    );
    expect(listed.sort()).toEqual(Object.values(ErrorCode).sort());
  });
});

describe('writeTxDataOffer (§12.3.11)', () => {
  it('writes the offer id as a u32 BE after the header, for a frame the decoder reads back', () => {
    const frame = new Uint8Array(TX_DATA_HEADER_BYTES + 3).fill(0xee);
    frame.set([1, 2, 3], TX_DATA_HEADER_BYTES);
    writeTxDataOffer(frame, 0x0102_0304);
    writeFrameHeader(frame, FrameType.TX_DATA, frame.byteLength - FRAME_HEADER_BYTES);
    const [event] = new FrameDecoder().push(frame);
    expect(event).toEqual({
      kind: 'frame',
      type: FrameType.TX_DATA,
      payload: Uint8Array.of(1, 2, 3, 4, 1, 2, 3),
    });
  });

  it.each([0, -1, 1.5, CHAT.maxOfferId + 1, Number.NaN])('refuses the offer id %s', (offer) => {
    expect(() => writeTxDataOffer(new Uint8Array(TX_DATA_HEADER_BYTES + 1), offer)).toThrow(
      RangeError,
    );
  });

  it('takes offer ids 1 and 2^32-1', () => {
    const frame = new Uint8Array(TX_DATA_HEADER_BYTES + 1);
    writeTxDataOffer(frame, CHAT.maxOfferId);
    expect([...frame.subarray(FRAME_HEADER_BYTES, TX_DATA_HEADER_BYTES)]).toEqual([
      0xff, 0xff, 0xff, 0xff,
    ]);
    writeTxDataOffer(frame, 1);
    expect([...frame.subarray(FRAME_HEADER_BYTES, TX_DATA_HEADER_BYTES)]).toEqual([0, 0, 0, 1]);
  });
});
