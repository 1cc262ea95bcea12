/**
 * PROTOCOL.md §13's vectors: the resume feature's frames (§13.10, a conversation's among them) and one reconnection proof
 * (§13.4), from a fixed ticket and a fixed TLS exporter value (each the SHA-256 of an ASCII
 * label, so anyone can recompute them). The proof is computed here with node:crypto's HMAC
 * from the formula §13.4 states, independently of `resumeProof`, which the test holds to it.
 * `print.ts` writes them into the document; `vectors.test.ts` checks the document against them.
 */
import { createHash, createHmac } from 'node:crypto';
import { FrameType } from '../../src/constants.ts';
import { concatFrame } from '../../src/frame/encode.ts';
import { encodeMessage } from '../../src/messages/codec.ts';
import type { MessageOf, MessageType } from '../../src/messages/schemas.ts';
import { hexDump } from './hex-dump.ts';
import type { Vector } from './inputs.ts';

const text = new TextDecoder();

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

/** The vector's inputs and result, in lowercase hex. */
export const RESUME_PROOF_VECTOR = (() => {
  const ticket = sha256Hex('ferry resume vector: ticket');
  const exported = sha256Hex('ferry resume vector: TLS exporter');
  const proof = createHmac('sha256', Buffer.from(ticket, 'hex'))
    .update(Buffer.from(exported, 'hex'))
    .digest('hex');
  return { ticket, exported, proof } as const;
})();

function message<T extends MessageType>(
  name: string,
  description: string,
  type: T,
  value: MessageOf<T>,
): Vector {
  const payload = encodeMessage(type, value);
  return { name, description, json: text.decode(payload), bytes: concatFrame(type, payload) };
}

const SESSION = '00112233445566778899aabbccddeeff';
const SENDER = { name: 'bob', host: 'laptop' };
const ENTRIES = [
  { kind: 'file', path: 'hello.txt', size: 5 },
  { kind: 'file', path: 'new.txt', size: 5 },
] as const;

/** The resume feature's frame vectors (§13.10), in the order PROTOCOL.md lists them. */
export const RESUME_VECTORS: readonly Vector[] = [
  message(
    'HELLO_RESUME',
    '(HELLO) a receiver whose user is `alice` asks for resumable transfers.',
    FrameType.HELLO,
    {
      software: 'ferry/0.1.0',
      name: 'alice',
      features: ['resume'],
    },
  ),
  message(
    'OFFER_RESUME',
    '(OFFER) two 5-byte files, `hello.txt` (entry 0) and `new.txt` (entry 1), from a sender that honours §13, with the ticket of the proof vector below.',
    FrameType.OFFER,
    {
      session: SESSION,
      sender: SENDER,
      entries: [...ENTRIES],
      resume: { ticket: RESUME_PROOF_VECTOR.ticket },
    },
  ),
  message(
    'OFFER_RESUME_CLEAR',
    '(OFFER) the same offer in clear mode (`--no-encryption`): §13 is honoured, but there is no ticket.',
    FrameType.OFFER,
    { session: SESSION, sender: SENDER, entries: [...ENTRIES], resume: { ticket: '' } },
  ),
  message(
    'REQUEST_RESUME',
    '(REQUEST) entry 0 from offset 4, holding `hell` (the prefix is its SHA-256), then entry 1 whole.',
    FrameType.REQUEST,
    {
      files: [
        { id: 0, offset: 4, prefix: sha256Hex('hell') },
        { id: 1, offset: 0 },
      ],
    },
  ),
  message(
    'FILE_START_RESUME',
    '(FILE_START) the prefix matched: entry 0 from offset 4; one byte of DATA (`o`) follows, then FILE_END with the SHA-256 of the whole `hello`.',
    FrameType.FILE_START,
    { id: 0, offset: 4, size: 5 },
  ),
  message(
    'FILE_START_RESTART',
    '(FILE_START) the prefix did not match: entry 0 starts over from offset 0; all 5 bytes follow.',
    FrameType.FILE_START,
    { id: 0, offset: 0, size: 5 },
  ),
  message('AUTH_RESUME', '(AUTH) the proof of the proof vector below.', FrameType.AUTH, {
    method: 'resume',
    proof: RESUME_PROOF_VECTOR.proof,
  }),
  message(
    'HELLO_CHAT_RESUME',
    '(HELLO) a joiner whose user is `carol` asks to join a conversation and to resume in it (§13.11).',
    FrameType.HELLO,
    { software: 'ferry/0.1.0', name: 'carol', features: ['chat', 'resume'] },
  ),
  message(
    'WELCOME_RESUME',
    '(WELCOME) the listener `bob` lets `carol` in as peer 1, alone with it, honours §13.11 and gives her the ticket of the proof vector below.',
    FrameType.WELCOME,
    {
      session: SESSION,
      sender: SENDER,
      you: 1,
      name: 'carol',
      peers: [],
      resume: { ticket: RESUME_PROOF_VECTOR.ticket },
    },
  ),
  message(
    'ACCEPT_RESUME',
    '(ACCEPT) of offer 3 proposing `hello.txt` and `new.txt`: entry 0 from offset 4, holding `hell` (the prefix is its SHA-256), then entry 1 whole.',
    FrameType.ACCEPT,
    {
      offer: 3,
      files: [
        { id: 0, offset: 4, prefix: sha256Hex('hell') },
        { id: 1, offset: 0 },
      ],
    },
  ),
  message(
    'TX_START_RESUME',
    '(TX_START) the prefix matched: entry 0 of offer 3 from offset 4; one byte of TX_DATA follows, then TX_END with the SHA-256 of the whole `hello`.',
    FrameType.TX_START,
    { offer: 3, id: 0, offset: 4, size: 5 },
  ),
];

/** §13.4's proof vector, as the document shows it. */
export function resumeProofMarkdown(): string {
  const { ticket, exported, proof } = RESUME_PROOF_VECTOR;
  const block = (title: string, hex: string) =>
    `${title}\n\n\`\`\`text\n${hexDump(Buffer.from(hex, 'hex'))}\n\`\`\`\n`;
  return [
    block(
      '**ticket** (32 bytes): SHA-256 of `ferry resume vector: ticket`; OFFER `resume.ticket`.',
      ticket,
    ),
    block(
      '**exporter** (32 bytes): SHA-256 of `ferry resume vector: TLS exporter`, standing in for ' +
        'TLS-Exporter("EXPORTER-ferry-resume-v1", empty, 32) of the new connection.',
      exported,
    ),
    block('**proof** (32 bytes): HMAC-SHA256(key = ticket, data = exporter); AUTH `proof`.', proof),
  ].join('\n');
}
