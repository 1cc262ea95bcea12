/**
 * The inputs of PROTOCOL.md §10's test vectors, encoded by the real encoder. `print.ts`
 * writes them into the document; `vectors.test.ts` checks the document still matches.
 */
import { createHash } from 'node:crypto';
import {
  FRAME_HEADER_BYTES,
  FrameType,
  PreambleFlag,
  PROTOCOL_VERSION,
  TX_DATA_HEADER_BYTES,
} from '../../src/constants.ts';
import {
  concatFrame,
  encodePreamble,
  writeFrameHeader,
  writeTxDataOffer,
} from '../../src/frame/encode.ts';
import { encodeMessage } from '../../src/messages/codec.ts';
import type { MessageOf, MessageType } from '../../src/messages/schemas.ts';
import { hexDump } from './hex-dump.ts';
import { PAIRING_VECTOR } from './pairing.ts';

export { hexDump } from './hex-dump.ts';

/** One test vector: a label, what it shows, and its bytes. */
export interface Vector {
  readonly name: string;
  readonly description: string;
  /** The JSON payload text, for control messages. */
  readonly json?: string;
  readonly bytes: Uint8Array;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();
const HELLO_BYTES = utf8.encode('hello');
const HELLO_SHA256 = createHash('sha256').update(HELLO_BYTES).digest('hex');
function message<T extends MessageType>(
  name: string,
  description: string,
  type: T,
  value: MessageOf<T>,
): Vector {
  const payload = encodeMessage(type, value);
  return { name, description, json: text.decode(payload), bytes: concatFrame(type, payload) };
}

/** Every vector, in the order PROTOCOL.md lists them. */
export const VECTORS: readonly Vector[] = [
  {
    name: 'PREAMBLE',
    description: 'magic, version 1, flags 0 (both sides chose `--no-encryption`).',
    bytes: encodePreamble(),
  },
  {
    name: 'PREAMBLE_TLS',
    description: 'magic, version 1, the `TLS` flag: the default.',
    bytes: encodePreamble(PROTOCOL_VERSION, PreambleFlag.TLS),
  },
  message('AUTH_TRUSTED', '(AUTH) let me in by my key.', FrameType.AUTH, { method: 'trusted' }),
  message(
    'AUTH_CODE',
    "(AUTH) the receiver's share pA of the pairing vector (§10.2).",
    FrameType.AUTH,
    {
      method: 'code',
      share: PAIRING_VECTOR.get('pA'),
    },
  ),
  message(
    'AUTH_REPLY',
    "the sender's share pB and confirmation cB of the pairing vector (§10.2).",
    FrameType.AUTH_REPLY,
    {
      result: 'share',
      share: PAIRING_VECTOR.get('pB'),
      confirmation: PAIRING_VECTOR.get('cB'),
    },
  ),
  message(
    'AUTH_CONFIRM',
    "the receiver's confirmation cA of the pairing vector (§10.2).",
    FrameType.AUTH_CONFIRM,
    {
      confirmation: PAIRING_VECTOR.get('cA'),
    },
  ),
  message('AUTH_OK', '(AUTH_REPLY) authenticated.', FrameType.AUTH_REPLY, { result: 'ok' }),
  message('HELLO', 'from a receiver whose user is `alice`.', FrameType.HELLO, {
    software: 'ferry/0.1.0',
    name: 'alice',
    features: [],
  }),
  message(
    'OFFER',
    'a folder `docs` (entry 0) holding the 5-byte file `docs/hello.txt` (entry 1).',
    FrameType.OFFER,
    {
      session: '00112233445566778899aabbccddeeff',
      sender: { name: 'bob', host: 'laptop' },
      entries: [
        { kind: 'dir', path: 'docs' },
        { kind: 'file', path: 'docs/hello.txt', size: 5 },
      ],
    },
  ),
  message(
    'OFFER_REFUSED',
    'an offer a receiver MUST refuse with `ERR_UNSAFE_OFFER` (§6.1 rule 8): the file `a／b` (U+FF0F, whose collision key is `a/b`) beside the file `a/b`.',
    FrameType.OFFER,
    {
      session: '00112233445566778899aabbccddeeff',
      sender: { name: 'bob', host: 'laptop' },
      entries: [
        { kind: 'file', path: 'a\uff0fb', size: 0 },
        { kind: 'file', path: 'a/b', size: 0 },
      ],
    },
  ),
  message('REQUEST', 'entry 1, from offset 0.', FrameType.REQUEST, {
    files: [{ id: 1, offset: 0 }],
  }),
  message('FILE_START', 'entry 1, from offset 0, 5 bytes in all.', FrameType.FILE_START, {
    id: 1,
    offset: 0,
    size: 5,
  }),
  {
    name: 'DATA',
    description: 'the five bytes `hello`.',
    bytes: concatFrame(FrameType.DATA, HELLO_BYTES),
  },
  message('FILE_END', 'entry 1, with the SHA-256 of `hello`.', FrameType.FILE_END, {
    id: 1,
    sha256: HELLO_SHA256,
  }),
  message('FILE_ABORT', 'entry 1: the source file changed.', FrameType.FILE_ABORT, {
    id: 1,
    code: 'ERR_SOURCE_CHANGED',
    message: 'file changed while sending',
  }),
  message('FILE_ACK', 'entry 1 saved intact.', FrameType.FILE_ACK, {
    id: 1,
    ok: true,
    sha256: HELLO_SHA256,
  }),
  message('FILE_ACK_FAILED', '(FILE_ACK) entry 1 not saved: digest mismatch.', FrameType.FILE_ACK, {
    id: 1,
    ok: false,
    code: 'ERR_DIGEST_MISMATCH',
  }),
  message('END', 'every requested file has been sent.', FrameType.END, {}),
  message('DONE', 'one file saved, none failed.', FrameType.DONE, { saved: 1, failed: 0 }),
  {
    name: 'PING',
    description: 'a bare header.',
    bytes: concatFrame(FrameType.PING, new Uint8Array(0)),
  },
  message('ERROR', 'the user declined the offer.', FrameType.ERROR, {
    code: 'ERR_DECLINED',
    message: 'declined',
  }),
];

/** Key fingerprints for the chat vectors: SHA-256 of `alice` and `dave`, standing in for keys. */
const ALICE_KEY = createHash('sha256').update('alice').digest('hex');
const DAVE_KEY = createHash('sha256').update('dave').digest('hex');

/** A TX_DATA frame built the way a chat side sends it: in place, offer id first (§12.3). */
function txData(offer: number, bytes: Uint8Array): Uint8Array {
  const frame = new Uint8Array(TX_DATA_HEADER_BYTES + bytes.byteLength);
  frame.set(bytes, TX_DATA_HEADER_BYTES);
  writeTxDataOffer(frame, offer);
  writeFrameHeader(frame, FrameType.TX_DATA, frame.byteLength - FRAME_HEADER_BYTES);
  return frame;
}

/** The chat extension's vectors (§12.10), in the order PROTOCOL.md lists them. */
export const CHAT_VECTORS: readonly Vector[] = [
  message(
    'HELLO_CHAT',
    '(HELLO) a joiner whose user is `carol` asks to join a conversation.',
    FrameType.HELLO,
    {
      software: 'ferry/0.1.0',
      name: 'carol',
      features: ['chat'],
    },
  ),
  message(
    'WELCOME',
    '`carol` is in as peer 2, under her own name; `alice` (peer 1) is there already.',
    FrameType.WELCOME,
    {
      session: '00112233445566778899aabbccddeeff',
      sender: { name: 'bob', host: 'laptop' },
      you: 2,
      name: 'carol',
      peers: [{ peer: 1, name: 'alice', key: ALICE_KEY }],
    },
  ),
  message('SAY', 'a message with a non-ASCII character (U+1F44B).', FrameType.SAY, {
    text: 'hi 👋',
  }),
  message('RELAY', 'a message peer 1 wrote.', FrameType.RELAY, { peer: 1, text: 'hello carol' }),
  message('JOINED', '`dave` joined as peer 3.', FrameType.JOINED, {
    peer: 3,
    name: 'dave',
    key: DAVE_KEY,
  }),
  message(
    'JOINED_CLEAR',
    '(JOINED) `erin` joined as peer 4 in a conversation without encryption.',
    FrameType.JOINED,
    {
      peer: 4,
      name: 'erin',
      key: '',
    },
  ),
  message('LEFT', 'peer 1 said goodbye.', FrameType.LEFT, { peer: 1, reason: 'quit' }),
  message('BYE', 'its sender leaves.', FrameType.BYE, {}),
  message(
    'PROPOSE',
    'offer 1: a folder `docs` (entry 0) holding the 5-byte file `docs/hello.txt` (entry 1).',
    FrameType.PROPOSE,
    {
      offer: 1,
      entries: [
        { kind: 'dir', path: 'docs' },
        { kind: 'file', path: 'docs/hello.txt', size: 5 },
      ],
    },
  ),
  message('ACCEPT', 'offer 1: entry 1, from offset 0.', FrameType.ACCEPT, {
    offer: 1,
    files: [{ id: 1, offset: 0 }],
  }),
  message('DECLINE', 'offer 2: the user declined it.', FrameType.DECLINE, {
    offer: 2,
    code: 'ERR_DECLINED',
  }),
  message('TX_START', 'offer 1, entry 1, from offset 0, 5 bytes in all.', FrameType.TX_START, {
    offer: 1,
    id: 1,
    offset: 0,
    size: 5,
  }),
  {
    name: 'TX_DATA',
    description: 'offer 1 (`00 00 00 01`), then the five bytes `hello`.',
    bytes: txData(1, HELLO_BYTES),
  },
  message('TX_END', 'offer 1, entry 1, with the SHA-256 of `hello`.', FrameType.TX_END, {
    offer: 1,
    id: 1,
    sha256: HELLO_SHA256,
  }),
  message('TX_ABORT', 'offer 1, entry 1: the source file changed.', FrameType.TX_ABORT, {
    offer: 1,
    id: 1,
    code: 'ERR_SOURCE_CHANGED',
    message: 'file changed while sending',
  }),
  message('TX_ACK', 'offer 1, entry 1 saved intact.', FrameType.TX_ACK, {
    offer: 1,
    id: 1,
    ok: true,
    sha256: HELLO_SHA256,
  }),
  message(
    'TX_ACK_FAILED',
    '(TX_ACK) offer 1, entry 1 not saved: digest mismatch.',
    FrameType.TX_ACK,
    {
      offer: 1,
      id: 1,
      ok: false,
      code: 'ERR_DIGEST_MISMATCH',
    },
  ),
  message('CREDIT', 'offer 1: 2 MiB more.', FrameType.CREDIT, { offer: 1, bytes: 2097152 }),
  message(
    'ERROR_MODE_MISMATCH',
    '(ERROR) a listener answers a HELLO without `chat`.',
    FrameType.ERROR,
    {
      code: 'ERR_MODE_MISMATCH',
      message:
        'this sender holds a conversation: join it with ferry-receive --chat and the same address',
    },
  ),
];

/** The Markdown of one vector, with the marker `vectors.test.ts` looks for. */
export function vectorMarkdown(vector: Vector): string {
  const json = vector.json === undefined ? '' : `Payload: \`${vector.json}\`\n\n`;
  return `<!-- vector: ${vector.name} -->\n**${vector.name}**: ${vector.description}\n\n${json}\`\`\`text\n${hexDump(vector.bytes)}\n\`\`\`\n`;
}
