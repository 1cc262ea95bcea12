import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameType, LIMITS, limitsForOffer } from '../src/constants.ts';
import { FrameDecoder } from '../src/frame/decoder.ts';
import { decodeMessage, isMessageType } from '../src/messages/codec.ts';
import { fromHex, toHex } from './helpers.ts';
import { derivePasswordScalar, Spake2 } from '../src/node/spake2.ts';
import { UnsafeOfferError } from '../src/errors.ts';
import { validateOffer } from '../src/names.ts';
import { chatTextMarkdown } from './vectors/chat-text.ts';
import { CHAT_VECTORS, VECTORS } from './vectors/inputs.ts';
import { PAIRING_VECTOR, pairingMarkdown } from './vectors/pairing.ts';
import { RESUME_PROOF_VECTOR, RESUME_VECTORS, resumeProofMarkdown } from './vectors/resume.ts';
import { resumeProof } from '../src/node/tickets.ts';

const doc = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');

/** The hex bytes PROTOCOL.md shows under `<!-- vector: name -->`. */
function documented(name: string): { hex: string; json: string | undefined } | undefined {
  const match = new RegExp(
    `<!-- vector: ${name} -->\\n[^\\n]*\\n\\n(?:Payload: \`([^\\n]*)\`\\n\\n)?\`\`\`text\\n([0-9a-f \\n]*)\`\`\``,
  ).exec(doc);
  if (!match) return undefined;
  return { json: match[1], hex: toHex(fromHex(match[2]!)) };
}

/** Every frame vector: §10.1's, then §12.10's, then §13.10's. */
const ALL_VECTORS = [...VECTORS, ...CHAT_VECTORS, ...RESUME_VECTORS];

/** The text between `<!-- name:start -->` and `<!-- name:end -->`. */
function block(name: string): string | undefined {
  return new RegExp(`<!-- ${name}:start -->\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(doc)?.[1];
}

describe('PROTOCOL.md test vectors', () => {
  it('lists every vector exactly once, and no other', () => {
    const names = [...doc.matchAll(/<!-- vector: (\w+) -->/g)].map((match) => match[1]);
    expect(names).toEqual(ALL_VECTORS.map((vector) => vector.name));
  });

  it('shows §10.1 vectors in §10.1, chat vectors in §12.10 and resume vectors in §13.10', () => {
    const names = (text: string | undefined) =>
      [...(text ?? '').matchAll(/<!-- vector: (\w+) -->/g)].map((match) => match[1]);
    expect(names(block('vectors'))).toEqual(VECTORS.map((vector) => vector.name));
    expect(names(block('chat-vectors'))).toEqual(CHAT_VECTORS.map((vector) => vector.name));
    expect(names(block('resume-vectors'))).toEqual(RESUME_VECTORS.map((vector) => vector.name));
  });

  it('gives every frame type at least one vector', () => {
    const types = new Set(
      ALL_VECTORS.filter((vector) => !vector.name.startsWith('PREAMBLE')).map(
        (vector) => vector.bytes[0],
      ),
    );
    expect([...types].sort((a, b) => a! - b!)).toEqual(
      [...Object.values(FrameType)].sort((a, b) => a - b),
    );
  });

  it.each(ALL_VECTORS)(
    'shows the bytes the encoder produces for $name',
    ({ name, bytes, json }) => {
      const shown = documented(name);
      expect(shown).toBeDefined();
      expect(shown?.hex).toBe(toHex(bytes));
      expect(shown?.json).toBe(json);
    },
  );

  it.each(ALL_VECTORS.filter((vector) => !vector.name.startsWith('PREAMBLE')))(
    'decodes the $name vector',
    ({ bytes, json }) => {
      const decoder = new FrameDecoder();
      const events = decoder.push(bytes);
      decoder.end();
      expect(events).toHaveLength(1);
      const [event] = events;
      if (event?.kind === 'frame' && isMessageType(event.type)) {
        expect(decodeMessage(event.type, event.payload)).toEqual(JSON.parse(json!));
      } else if (event?.kind === 'frame' && event.type === FrameType.TX_DATA) {
        // The offer id, u32 BE, then the file bytes: offer 1 and `hello`.
        expect(toHex(event.payload)).toBe('0000000168656c6c6f');
      } else if (event?.kind === 'frame') {
        expect(event.type).toBe(FrameType.PING);
      } else {
        expect(event?.kind).toBe('data');
      }
    },
  );
});

describe('PROTOCOL.md §10.1 OFFER_REFUSED', () => {
  it('K1: U8: the OFFER_REFUSED vector decodes, and its offer is refused as unsafe', () => {
    const vector = VECTORS.find((candidate) => candidate.name === 'OFFER_REFUSED')!;
    const offer = JSON.parse(vector.json!) as { entries: Parameters<typeof validateOffer>[0] };
    expect(offer.entries.map((entry) => entry.path)).toEqual(['a\uff0fb', 'a/b']);
    expect(() => validateOffer(offer.entries)).toThrow(UnsafeOfferError);
  });
});

describe('PROTOCOL.md §10.2 pairing vector', () => {
  const block = /<!-- pairing-vector:start -->\n([\s\S]*?)<!-- pairing-vector:end -->/.exec(
    doc,
  )?.[1];

  it('S1: shows exactly the values the implementation computes, from the typed code to cA and cB', () => {
    expect(block).toBe(pairingMarkdown(PAIRING_VECTOR));
  });

  it('S1: the password is the 8 digits as ASCII, without the hyphen', () => {
    expect(PAIRING_VECTOR.password).toBe('12345678');
    expect(PAIRING_VECTOR.get('password')).toBe('3132333435363738');
  });

  it('S1: derivePasswordScalar gives the documented w for the documented password', async () => {
    const w = await derivePasswordScalar(PAIRING_VECTOR.password);
    expect(w.toString(16).padStart(64, '0')).toBe(PAIRING_VECTOR.get('w'));
  });

  it('S1: a receiver and a sender with the documented inputs put exactly pA, pB, cB and cA on the wire', () => {
    const w = BigInt(`0x${PAIRING_VECTOR.get('w')}`);
    const context = {
      idA: fromHex(PAIRING_VECTOR.get('idA')),
      idB: fromHex(PAIRING_VECTOR.get('idB')),
      aad: fromHex(PAIRING_VECTOR.get('AAD')),
    };
    const receiver = Spake2.start('A', w, context, BigInt(`0x${PAIRING_VECTOR.get('x')}`));
    const sender = Spake2.start('B', w, context, BigInt(`0x${PAIRING_VECTOR.get('y')}`));
    expect(toHex(receiver.message)).toBe(PAIRING_VECTOR.get('pA'));
    expect(toHex(sender.message)).toBe(PAIRING_VECTOR.get('pB'));
    const senderKeys = sender.finish(receiver.message);
    const receiverKeys = receiver.finish(sender.message);
    expect(toHex(senderKeys.confirmation)).toBe(PAIRING_VECTOR.get('cB'));
    expect(toHex(receiverKeys.confirmation)).toBe(PAIRING_VECTOR.get('cA'));
    expect(toHex(receiverKeys.ke)).toBe(PAIRING_VECTOR.get('Ke'));
    expect(receiverKeys.verify(senderKeys.confirmation)).toBe(true);
    expect(senderKeys.verify(receiverKeys.confirmation)).toBe(true);
  });

  it('S1: the transcript is laid out as §2.3 says: 8-byte little-endian lengths, idA, idB, pA, pB, K, w', () => {
    const tt = fromHex(PAIRING_VECTOR.get('TT'));
    expect(tt.byteLength).toBe(339);
    const view = new DataView(tt.buffer, tt.byteOffset, tt.byteLength);
    const parts: string[] = [];
    for (let at = 0; at < tt.byteLength; ) {
      const length = Number(view.getBigUint64(at, true));
      parts.push(toHex(tt.subarray(at + 8, at + 8 + length)));
      at += 8 + length;
    }
    expect(parts).toEqual(
      ['idA', 'idB', 'pA', 'pB', 'K', 'w'].map((name) => PAIRING_VECTOR.get(name)),
    );
  });
});

describe('PROTOCOL.md §12.2 chat text vectors', () => {
  it('shows exactly the table the vectors make', () => {
    expect(block('chat-text')).toBe(chatTextMarkdown());
  });
});

describe('PROTOCOL.md §13 resume vectors', () => {
  const vector = (name: string) => RESUME_VECTORS.find((candidate) => candidate.name === name)!;

  it('D6: shows the proof vector exactly as computed from its ticket and exporter value', () => {
    expect(block('resume-proof')).toBe(resumeProofMarkdown());
  });

  it('D6: resumeProof gives the documented proof for the documented ticket and exporter value', () => {
    const { ticket, exported, proof } = RESUME_PROOF_VECTOR;
    expect(toHex(resumeProof(fromHex(ticket), fromHex(exported)))).toBe(proof);
  });

  it('D6: the OFFER_RESUME vector carries the ticket and AUTH_RESUME the proof of the proof vector', () => {
    expect(JSON.parse(vector('OFFER_RESUME').json!).resume).toEqual({
      ticket: RESUME_PROOF_VECTOR.ticket,
    });
    expect(JSON.parse(vector('AUTH_RESUME').json!)).toEqual({
      method: 'resume',
      proof: RESUME_PROOF_VECTOR.proof,
    });
  });

  it('the REQUEST_RESUME prefix is the SHA-256 of the first offset bytes of the file', () => {
    const [item] = JSON.parse(vector('REQUEST_RESUME').json!).files as {
      offset: number;
      prefix: string;
    }[];
    expect(item!.prefix).toBe(
      createHash('sha256').update('hello'.slice(0, item!.offset)).digest('hex'),
    );
  });

  it('D6: the WELCOME_RESUME vector carries the ticket of the proof vector, last', () => {
    const welcome = JSON.parse(vector('WELCOME_RESUME').json!);
    expect(welcome.resume).toEqual({ ticket: RESUME_PROOF_VECTOR.ticket });
    expect(Object.keys(welcome).at(-1)).toBe('resume');
    expect(JSON.parse(vector('HELLO_CHAT_RESUME').json!).features).toEqual(['chat', 'resume']);
  });

  it('the ACCEPT_RESUME prefix is the SHA-256 of the first offset bytes, and TX_START_RESUME starts there', () => {
    const accept = JSON.parse(vector('ACCEPT_RESUME').json!) as {
      offer: number;
      files: { id: number; offset: number; prefix?: string }[];
    };
    const [item] = accept.files;
    expect(item!.prefix).toBe(
      createHash('sha256').update('hello'.slice(0, item!.offset)).digest('hex'),
    );
    expect(JSON.parse(vector('TX_START_RESUME').json!)).toEqual({
      offer: accept.offer,
      id: item!.id,
      offset: item!.offset,
      size: 5,
    });
  });

  it('a prefix item of the largest id and offset fits REQUEST_ITEM_BYTES, so one per offered file fits the cap', () => {
    const item = { id: LIMITS.maxEntries - 1, offset: LIMITS.maxFileSize, prefix: 'f'.repeat(64) };
    const files = Array.from({ length: 3 }, () => item);
    const bytes = new TextEncoder().encode(JSON.stringify({ files })).byteLength;
    expect(bytes).toBeLessThanOrEqual(limitsForOffer(3).maxRequestPayloadBytes);
  });
});
