import { z } from 'zod';
import { CHAT, FrameType, LIMITS } from '../constants.ts';
import { chatTextProblem } from '../text.ts';

const utf8 = new TextEncoder();

/** A string whose UTF-8 encoding is at most `max` bytes (JavaScript length counts UTF-16 units). */
export function utf8Max(max: number) {
  return z.string().refine((value) => utf8.encode(value).byteLength <= max, {
    message: `longer than ${max} UTF-8 bytes`,
  });
}

/** A non-negative integer no larger than `max`, exact in a JavaScript number. */
export function size(max: number = Number.MAX_SAFE_INTEGER) {
  return z.number().int().min(0).max(max);
}

const entryId = size(LIMITS.maxEntries - 1);
const hexDigest = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in lowercase hex');
const errorCode = z.string().regex(/^ERR_[A-Z0-9_]{1,60}$/, 'an ERR_ code');
const peerName = utf8Max(LIMITS.maxNameBytes);

/** HELLO, receiver to sender: who is asking. */
export const HelloSchema = z.strictObject({
  software: utf8Max(64),
  name: peerName,
  features: z.array(z.string().regex(/^[a-z0-9-]{1,32}$/)).max(16),
});

/** One entry of an offer; its id is its index in `entries`. */
export const OfferEntrySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('file'), path: z.string(), size: size(LIMITS.maxFileSize) }),
  z.strictObject({ kind: z.literal('dir'), path: z.string() }),
]);

const offerFields = {
  session: z.string().regex(/^[0-9a-f]{32}$/),
  sender: z.strictObject({ name: peerName, host: peerName }),
  entries: z.array(OfferEntrySchema).max(LIMITS.maxEntries),
};

/** OFFER's and WELCOME's `resume`: the reconnection ticket, 64 lowercase hex digits, or empty in clear. */
const resumeField = z.strictObject({
  ticket: z.string().regex(/^([0-9a-f]{64})?$/, 'a ticket in lowercase hex, or empty'),
});

/**
 * OFFER, sender to receiver: everything on offer, as relative paths. With `resume` (only when
 * HELLO listed it, §13) the sender honours REQUEST prefixes and gives a reconnection ticket:
 * 64 hex digits when encrypted, empty in clear.
 */
export const OfferSchema = z.union([
  z.strictObject(offerFields),
  z.strictObject({
    ...offerFields,
    resume: resumeField,
  }),
]);

/**
 * One file of a REQUEST: from byte 0, or (resuming, §13) from `offset` with the SHA-256 of the
 * `offset` bytes the receiver holds. Which combinations are allowed is checked by the sender.
 */
export const RequestItemSchema = z.union([
  z.strictObject({ id: entryId, offset: size(LIMITS.maxFileSize) }),
  z.strictObject({ id: entryId, offset: size(LIMITS.maxFileSize), prefix: hexDigest }),
]);

/** REQUEST, receiver to sender: which files to send, in order, each from an offset. */
export const RequestSchema = z.strictObject({
  files: z.array(RequestItemSchema).max(LIMITS.maxEntries),
});

/** FILE_START, sender to receiver: DATA frames for this file follow. */
export const FileStartSchema = z.strictObject({
  id: entryId,
  offset: size(LIMITS.maxFileSize),
  size: size(LIMITS.maxFileSize),
});

/** FILE_END, sender to receiver: the file's bytes are complete; its digest. */
export const FileEndSchema = z.strictObject({ id: entryId, sha256: hexDigest });

/** FILE_ABORT, sender to receiver: the file cannot be sent; discard what arrived of it. */
export const FileAbortSchema = z.strictObject({
  id: entryId,
  code: errorCode,
  message: utf8Max(LIMITS.maxErrorMessageBytes),
});

/** FILE_ACK, receiver to sender: the file is saved intact, or it is not. */
export const FileAckSchema = z.union([
  z.strictObject({ id: entryId, ok: z.literal(true), sha256: hexDigest }),
  z.strictObject({ id: entryId, ok: z.literal(false), code: errorCode }),
]);

/** END, sender to receiver: every requested file has been sent. */
export const EndSchema = z.strictObject({});

/** DONE, receiver to sender: every file is acknowledged; the receiver closes. */
export const DoneSchema = z.strictObject({ saved: size(), failed: size() });

/** ERROR, either way: the connection ends. */
export const ErrorMessageSchema = z.strictObject({
  code: errorCode,
  message: utf8Max(LIMITS.maxErrorMessageBytes),
});

/** A chat offer id (§12): a u32 above 0, since TX_DATA carries it in 4 bytes. */
const offerId = z.number().int().min(1).max(CHAT.maxOfferId);
/** A joiner's peer id: 1, 2, 3, … (the listener is 0, which never travels). */
const peerId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/** A key fingerprint in full (64 lowercase hex), or empty in a conversation without encryption. */
const keyField = z
  .string()
  .regex(/^([0-9a-f]{64})?$/, 'a key fingerprint in lowercase hex, or empty');
/** A chat name: 1 to 128 UTF-8 bytes of text a terminal shows as it is (§12.2). */
const chatName = z.string().superRefine(chatTextRule(LIMITS.maxNameBytes));
/** A chat message: 1 to 4 KiB of UTF-8 text a terminal shows as it is (§12.2). */
const chatText = z.string().superRefine(chatTextRule(CHAT.maxTextBytes));

function chatTextRule(max: number) {
  return (value: string, context: z.RefinementCtx) => {
    const problem = chatTextProblem(value, max);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  };
}

const welcomeFields = {
  session: z.string().regex(/^[0-9a-f]{32}$/),
  sender: z.strictObject({ name: chatName, host: peerName }),
  you: peerId,
  name: chatName,
  peers: z
    .array(z.strictObject({ peer: peerId, name: chatName, key: keyField }))
    .max(CHAT.maxPeers),
};

/**
 * WELCOME, listener to joiner: the conversation, the joiner's name in it, who is there. With
 * `resume` (only when HELLO listed it, §13.11) the listener honours ACCEPT prefixes and gives
 * the joiner a reconnection ticket: 64 hex digits when encrypted, empty in clear.
 */
export const WelcomeSchema = z.union([
  z.strictObject(welcomeFields),
  z.strictObject({ ...welcomeFields, resume: resumeField }),
]);

/** SAY, either way: a message its sender wrote. */
export const SaySchema = z.strictObject({ text: chatText });

/** RELAY, listener to joiner: a message another joiner wrote. */
export const RelaySchema = z.strictObject({ peer: peerId, text: chatText });

/** JOINED, listener to joiner: someone joined. */
export const JoinedSchema = z.strictObject({ peer: peerId, name: chatName, key: keyField });

/** LEFT, listener to joiner: someone left, and how. */
export const LeftSchema = z.strictObject({
  peer: peerId,
  reason: z.union([z.literal('quit'), z.literal('lost'), z.literal('cut-off')]),
});

/** BYE, either way: its sender leaves the conversation (the listener's ends it). */
export const ByeSchema = z.strictObject({});

/** PROPOSE, either way: files and folders on offer, with the proposer's id for them. */
export const ProposeSchema = z.strictObject({
  offer: offerId,
  entries: z.array(OfferEntrySchema).max(LIMITS.maxEntries),
});

/**
 * ACCEPT: which files of a proposal to send, in REQUEST's forms: from 0, or (resume negotiated
 * in WELCOME, §13.11) from a prefix. Which combinations are allowed is checked by the proposer.
 */
export const AcceptSchema = z.strictObject({
  offer: offerId,
  files: z.array(RequestItemSchema).max(LIMITS.maxEntries),
});

/** DECLINE: nothing of a proposal is wanted, and why. */
export const DeclineSchema = z.strictObject({ offer: offerId, code: errorCode });

/** TX_START: TX_DATA frames for this file of this offer follow. */
export const TxStartSchema = z.strictObject({
  offer: offerId,
  id: entryId,
  offset: size(LIMITS.maxFileSize),
  size: size(LIMITS.maxFileSize),
});

/** TX_END: the file's bytes are complete; its digest. */
export const TxEndSchema = z.strictObject({ offer: offerId, id: entryId, sha256: hexDigest });

/** TX_ABORT: the file cannot be sent; discard what arrived of it. */
export const TxAbortSchema = z.strictObject({
  offer: offerId,
  id: entryId,
  code: errorCode,
  message: utf8Max(LIMITS.maxErrorMessageBytes),
});

/** TX_ACK: the file of this offer is saved intact, or it is not. */
export const TxAckSchema = z.union([
  z.strictObject({ offer: offerId, id: entryId, ok: z.literal(true), sha256: hexDigest }),
  z.strictObject({ offer: offerId, id: entryId, ok: z.literal(false), code: errorCode }),
]);

/** CREDIT: the proposer may send this many more file bytes of this offer. */
export const CreditSchema = z.strictObject({
  offer: offerId,
  bytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

/** A SPAKE2 share: a P-256 point, SEC1 uncompressed, in lowercase hex. */
const spakeShare = z.string().regex(/^04[0-9a-f]{128}$/, 'a P-256 point in uncompressed hex');
/** A SPAKE2 confirmation: an HMAC-SHA256 in lowercase hex. */
const spakeConfirmation = z.string().regex(/^[0-9a-f]{64}$/, 'an HMAC-SHA256 in lowercase hex');

/**
 * AUTH, receiver to sender, first inside TLS: authenticate by a key both sides remember, or by
 * the pairing code through SPAKE2 (the receiver's share), or by the proof of a reconnection
 * ticket (§13).
 */
export const AuthSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('trusted') }),
  z.strictObject({ method: z.literal('code'), share: spakeShare }),
  z.strictObject({ method: z.literal('resume'), proof: spakeConfirmation }),
]);

/**
 * AUTH_REPLY, sender to receiver: authenticated (`ok`); a code is needed (`code-needed`,
 * nothing else is revealed); or the sender's SPAKE2 share with its confirmation.
 */
export const AuthReplySchema = z.discriminatedUnion('result', [
  z.strictObject({ result: z.literal('ok') }),
  z.strictObject({ result: z.literal('code-needed') }),
  z.strictObject({
    result: z.literal('share'),
    share: spakeShare,
    confirmation: spakeConfirmation,
  }),
]);

/** AUTH_CONFIRM, receiver to sender: the receiver's SPAKE2 confirmation. */
export const AuthConfirmSchema = z.strictObject({ confirmation: spakeConfirmation });

/** The schema of each control frame type that carries a JSON payload. */
export const MESSAGE_SCHEMAS = {
  [FrameType.HELLO]: HelloSchema,
  [FrameType.OFFER]: OfferSchema,
  [FrameType.REQUEST]: RequestSchema,
  [FrameType.FILE_START]: FileStartSchema,
  [FrameType.FILE_END]: FileEndSchema,
  [FrameType.FILE_ABORT]: FileAbortSchema,
  [FrameType.FILE_ACK]: FileAckSchema,
  [FrameType.END]: EndSchema,
  [FrameType.DONE]: DoneSchema,
  [FrameType.ERROR]: ErrorMessageSchema,
  [FrameType.AUTH]: AuthSchema,
  [FrameType.AUTH_REPLY]: AuthReplySchema,
  [FrameType.AUTH_CONFIRM]: AuthConfirmSchema,
  [FrameType.WELCOME]: WelcomeSchema,
  [FrameType.SAY]: SaySchema,
  [FrameType.RELAY]: RelaySchema,
  [FrameType.JOINED]: JoinedSchema,
  [FrameType.LEFT]: LeftSchema,
  [FrameType.BYE]: ByeSchema,
  [FrameType.PROPOSE]: ProposeSchema,
  [FrameType.ACCEPT]: AcceptSchema,
  [FrameType.DECLINE]: DeclineSchema,
  [FrameType.TX_START]: TxStartSchema,
  [FrameType.TX_END]: TxEndSchema,
  [FrameType.TX_ABORT]: TxAbortSchema,
  [FrameType.TX_ACK]: TxAckSchema,
  [FrameType.CREDIT]: CreditSchema,
} as const;

/** Frame types whose payload is a JSON message. */
export type MessageType = keyof typeof MESSAGE_SCHEMAS;

/** The decoded message of each message type. */
export type MessageOf<T extends MessageType> = z.infer<(typeof MESSAGE_SCHEMAS)[T]>;

export type Hello = MessageOf<typeof FrameType.HELLO>;
export type Offer = MessageOf<typeof FrameType.OFFER>;
export type OfferEntry = z.infer<typeof OfferEntrySchema>;
export type Request = MessageOf<typeof FrameType.REQUEST>;
export type RequestItem = z.infer<typeof RequestItemSchema>;
export type FileStart = MessageOf<typeof FrameType.FILE_START>;
export type FileEnd = MessageOf<typeof FrameType.FILE_END>;
export type FileAbort = MessageOf<typeof FrameType.FILE_ABORT>;
export type FileAck = MessageOf<typeof FrameType.FILE_ACK>;
export type Done = MessageOf<typeof FrameType.DONE>;
export type ErrorMessage = MessageOf<typeof FrameType.ERROR>;
export type Auth = MessageOf<typeof FrameType.AUTH>;
export type AuthReply = MessageOf<typeof FrameType.AUTH_REPLY>;
export type Welcome = MessageOf<typeof FrameType.WELCOME>;
export type Propose = MessageOf<typeof FrameType.PROPOSE>;
export type Accept = MessageOf<typeof FrameType.ACCEPT>;
export type TxAck = MessageOf<typeof FrameType.TX_ACK>;
export type TxAbort = MessageOf<typeof FrameType.TX_ABORT>;
