/**
 * The chat window's state (slices) and actions, as zod schemas: the contract between the app's
 * window controller and the page's screens in `client/chat/`. Every name, message and file name
 * here comes from a peer: the page shows it through `<PeerText>` only.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();

/** Someone in the conversation, as the window shows them. Peer 0 is the listener. */
export const ChatPeerSchema = z.strictObject({
  peer: count,
  name: z.string(),
  /** Their key's fingerprint (`A1B2 C3D4 E5F6 0718`), or '' in clear. */
  key: z.string(),
  /** `host:port` where this side knows it, else ''. */
  address: z.string(),
  /** Transfers with them running now. */
  transfers: count,
});
export type ChatPeer = z.infer<typeof ChatPeerSchema>;

/** Where this side stands in the conversation. */
export const CHAT_PHASES = ['connecting', 'code', 'live', 'reconnecting', 'ended'] as const;
export type ChatPhase = (typeof CHAT_PHASES)[number];

/** Where the listener listens and the code joiners type (the listener's window only). */
export const ChatHostSchema = z.strictObject({
  port: count,
  addresses: z.array(z.strictObject({ address: z.string(), iface: z.string().optional() })),
  /** The pairing code a joiner types now; null in clear (no code). */
  code: z.string().nullable(),
  /** This side's key, as joiners check it; null in clear. */
  fingerprint: z.string().nullable(),
});
export type ChatHost = z.infer<typeof ChatHostSchema>;

/** Slice `chat`: who this side is, who else is there, and the connection's state. */
export const ChatSliceSchema = z.strictObject({
  role: z.enum(['listener', 'joiner']),
  phase: z.enum(CHAT_PHASES),
  self: ChatPeerSchema.nullable(),
  peers: z.array(ChatPeerSchema),
  /** The listener's address and code (listener only, once it listens). */
  host: ChatHostSchema.nullable(),
  /** While reconnecting (§13.11): to whom, and for how long at most. */
  reconnecting: z.strictObject({ by: z.string(), seconds: count }).nullable(),
  /** Why the conversation ended for this side (phase `ended`). */
  ended: z
    .strictObject({
      reason: z.enum(['quit', 'closed', 'lost', 'cut-off', 'failed']),
      by: z.string().optional(),
      message: z.string().optional(),
    })
    .nullable(),
});
export type ChatSlice = z.infer<typeof ChatSliceSchema>;

/** A piece of a note: Ferry's own words, or a peer's string (shown through PeerText). */
export const NotePartSchema = z.strictObject({ text: z.string(), peer: z.boolean() });
export type NotePart = z.infer<typeof NotePartSchema>;

/** One line of the conversation: a message (from a peer or this side), or a note by Ferry. */
export const ChatEntrySchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('message'),
    id: count,
    /** Milliseconds since the epoch. */
    at: z.number(),
    peer: count,
    name: z.string(),
    text: z.string(),
    /** Written by this side. */
    own: z.boolean(),
  }),
  z.strictObject({
    kind: z.literal('note'),
    id: count,
    at: z.number(),
    tone: z.enum(['info', 'ok', 'warn', 'danger']),
    parts: z.array(NotePartSchema),
  }),
]);
export type ChatEntry = z.infer<typeof ChatEntrySchema>;

/** The entries kept in slice `messages`, the newest last. */
export const MAX_CHAT_ENTRIES = 500;
/** Slice `messages`: the last {@link MAX_CHAT_ENTRIES} entries, oldest first. */
export const MessagesSliceSchema = z.array(ChatEntrySchema).max(MAX_CHAT_ENTRIES);

/** An offer from a peer waiting for this user's answer. */
export const ChatOfferSchema = z.strictObject({
  /** Its local number (`#1`): the `offer` of accept and decline. */
  offer: count,
  peer: count,
  from: z.string(),
  files: count,
  bytes: count,
  items: z.array(
    z.strictObject({ name: z.string(), kind: z.enum(['file', 'dir']), files: count, bytes: count }),
  ),
  /** Top-level names that start with a dot. */
  hidden: z.array(z.string()),
  /** Names this system cannot store, and the names they would be saved under. */
  renamed: z.array(z.strictObject({ offered: z.string(), savedAs: z.string() })),
});
export type ChatOffer = z.infer<typeof ChatOfferSchema>;
/** Slice `offers`: the offers waiting for an answer, oldest first. */
export const OffersSliceSchema = z.array(ChatOfferSchema);

/** Where a transfer is: offered (waiting for the peer's answer), running, and how it ended. */
export const TRANSFER_STATES = [
  'offered',
  'running',
  'done',
  'failed',
  'declined',
  'suspended',
] as const;
export type TransferState = (typeof TRANSFER_STATES)[number];

/** One transfer either way, by its local number. */
export const ChatTransferSchema = z.strictObject({
  offer: count,
  direction: z.enum(['in', 'out']),
  peer: count,
  name: z.string(),
  state: z.enum(TRANSFER_STATES),
  files: count,
  /** Bytes to move (known once it runs; for an offer made, the offer's size). */
  bytes: count,
  /** Bytes moved so far. */
  done: count,
  /** Files saved (in) or acknowledged (out). */
  saved: count,
  failed: count,
  /** Bytes per second, and seconds left, while it runs and once known. */
  rate: z.number().nullable(),
  eta: z.number().nullable(),
  /** The folder an incoming transfer saves into. */
  out: z.string().optional(),
  /** Bytes already held and not sent again (a resumed transfer). */
  held: count.optional(),
  /** The transfer this one continues after a reconnection. */
  previous: count.optional(),
  /** Why it failed or was declined: a code, and plain words when there are any. */
  code: z.string().optional(),
  message: z.string().optional(),
});
export type ChatTransfer = z.infer<typeof ChatTransferSchema>;
/** Slice `transfers`: every transfer of this conversation, newest last. */
export const TransfersSliceSchema = z.array(ChatTransferSchema);

/** The slices of the chat window and their schemas. */
export const CHAT_SLICES = {
  chat: ChatSliceSchema,
  messages: MessagesSliceSchema,
  offers: OffersSliceSchema,
  transfers: TransfersSliceSchema,
} as const;

/** Longest message the page may post (the conversation checks the exact limit). */
const MAX_TEXT_CHARS = 16_384;

/** Action `say`: a message to everyone. */
export const SayInputSchema = z.strictObject({ text: z.string().min(1).max(MAX_TEXT_CHARS) });
/** Action `send`: files and folders (absolute paths) offered to peer `peer`. */
export const SendInputSchema = z.strictObject({
  peer: count,
  paths: z.array(z.string().min(1).max(4096)).min(1).max(1000),
});
/** Action `accept`: offer `offer`, all of it, into the folder `out` (absolute). */
export const AcceptInputSchema = z.strictObject({ offer: count, out: z.string().min(1).max(4096) });
/** Action `decline`: offer `offer`. */
export const DeclineInputSchema = z.strictObject({ offer: count });
/** Action `code`: the pairing code the listener shows (a joiner's window, phase `code`). */
export const CodeInputSchema = z.strictObject({ code: z.string().min(1).max(64) });
/** Action `quit`: leave the conversation (the listener: end it for everyone). */
export const QuitInputSchema = z.strictObject({});

/** The chat window's actions and their inputs. */
export const CHAT_ACTIONS = {
  say: SayInputSchema,
  send: SendInputSchema,
  accept: AcceptInputSchema,
  decline: DeclineInputSchema,
  code: CodeInputSchema,
  quit: QuitInputSchema,
} as const;
export type ChatActionName = keyof typeof CHAT_ACTIONS;
/** What `send` answers: the local numbers of the offers made. */
export interface SendAnswer {
  offers: number[];
}
