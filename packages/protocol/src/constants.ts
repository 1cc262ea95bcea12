/** Ferry's wire constants. The byte layouts they describe are specified in PROTOCOL.md. */

/** Eight bytes that open every Ferry connection, in both directions: `\x89FERRY\r\n`. */
export const MAGIC = Uint8Array.of(0x89, 0x46, 0x45, 0x52, 0x52, 0x59, 0x0d, 0x0a);

/** The protocol version this implementation speaks. */
export const PROTOCOL_VERSION = 1;

/** Preamble: magic (8 bytes), version (u16 BE), flags (u16 BE). */
export const PREAMBLE_BYTES = 12;

/**
 * Preamble flags. Both sides must send the same flags, so neither can be talked into a weaker
 * session than it asked for: a mismatch ends the connection before anything else is sent.
 */
export const PreambleFlag = {
  /** TLS 1.3 and authentication follow the preamble (the default; clear only if both opt out). */
  TLS: 0x0001,
} as const;

/** Every flag this version knows; a preamble with any other bit set is refused. */
export const KNOWN_PREAMBLE_FLAGS = PreambleFlag.TLS;

/** Frame header: type (u8) then payload length (u32 BE). */
export const FRAME_HEADER_BYTES = 5;

/** The TCP port a sender listens on unless told otherwise. */
export const DEFAULT_PORT = 7878;

/** Every frame type on the wire. Unknown types are a protocol error. */
export const FrameType = {
  HELLO: 0x01,
  OFFER: 0x02,
  REQUEST: 0x03,
  FILE_START: 0x04,
  DATA: 0x05,
  FILE_END: 0x06,
  FILE_ABORT: 0x07,
  FILE_ACK: 0x08,
  END: 0x09,
  DONE: 0x0a,
  PING: 0x0b,
  ERROR: 0x0c,
  AUTH: 0x0d,
  AUTH_REPLY: 0x0e,
  AUTH_CONFIRM: 0x0f,
  // Chat (PROTOCOL.md §12): only after WELCOME, which only a HELLO listing `chat` gets.
  WELCOME: 0x10,
  SAY: 0x11,
  RELAY: 0x12,
  JOINED: 0x13,
  LEFT: 0x14,
  BYE: 0x15,
  PROPOSE: 0x16,
  ACCEPT: 0x17,
  DECLINE: 0x18,
  TX_START: 0x19,
  TX_DATA: 0x1a,
  TX_END: 0x1b,
  TX_ABORT: 0x1c,
  TX_ACK: 0x1d,
  CREDIT: 0x1e,
} as const;

/** Frame types of the chat extension (PROTOCOL.md §12). */
export const CHAT_FRAME_TYPES: ReadonlySet<number> = new Set([
  FrameType.WELCOME,
  FrameType.SAY,
  FrameType.RELAY,
  FrameType.JOINED,
  FrameType.LEFT,
  FrameType.BYE,
  FrameType.PROPOSE,
  FrameType.ACCEPT,
  FrameType.DECLINE,
  FrameType.TX_START,
  FrameType.TX_DATA,
  FrameType.TX_END,
  FrameType.TX_ABORT,
  FrameType.TX_ACK,
  FrameType.CREDIT,
]);

/** The HELLO feature token by which a receiver asks to join a conversation (§12). */
export const CHAT_FEATURE = 'chat';

/** The HELLO feature token by which a receiver asks for resumable transfers (§13). */
export const RESUME_FEATURE = 'resume';

/**
 * The TLS exporter label of a reconnection proof (§13.4): AUTH `resume` proves the ticket
 * bound to the new TLS session, so a recorded proof is worth nothing on another connection.
 */
export const RESUME_EXPORTER_LABEL = 'EXPORTER-ferry-resume-v1';

/** Frame types allowed before authentication completes (besides ERROR); nothing else is. */
export const AUTH_FRAME_TYPES: ReadonlySet<number> = new Set([
  FrameType.AUTH,
  FrameType.AUTH_REPLY,
  FrameType.AUTH_CONFIRM,
]);

/** One of the frame type values. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Frame type names by value, for logs and errors. */
export const FRAME_TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(FrameType).map(([name, value]) => [value, name]),
);

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Named limits. Every length, count and size read from a peer is checked against one of
 * these before anything is allocated for it. A value exactly at a limit is accepted.
 */
export const LIMITS = {
  /** Payload of any control frame other than OFFER. */
  maxControlPayloadBytes: 64 * KiB,
  /** Payload of the REQUEST frame (the list of wanted files). */
  maxRequestPayloadBytes: 8 * MiB,
  /** Payload of the OFFER frame (the whole manifest). */
  maxOfferPayloadBytes: 32 * MiB,
  /** Payload of one DATA frame. */
  maxDataPayloadBytes: 4 * MiB,
  /** Entries (files and folders) in one offer. */
  maxEntries: 200_000,
  /** Folders one offer creates: its `dir` entries and the folders its paths imply. */
  maxFolders: 200_000,
  /** UTF-8 bytes of one path component. */
  maxComponentBytes: 255,
  /** UTF-8 bytes of one whole relative path. */
  maxPathBytes: 4096,
  /** Components in one relative path. */
  maxDepth: 64,
  /** Size of one file: the largest integer a JavaScript number holds exactly. */
  maxFileSize: Number.MAX_SAFE_INTEGER,
  /** Sum of the sizes in one offer. */
  maxTotalSize: Number.MAX_SAFE_INTEGER,
  /** UTF-8 bytes of a user or host name announced in HELLO or OFFER. */
  maxNameBytes: 128,
  /** UTF-8 bytes of the human-readable text of an ERROR or FILE_ABORT frame. */
  maxErrorMessageBytes: 1024,
  /** Payload of an AUTH, AUTH_REPLY or AUTH_CONFIRM frame: far more than their fixed-size fields need. */
  maxAuthPayloadBytes: 512,
} as const;

/** The limits a peer's frames are checked against; tests and configuration may lower them. */
export type Limits = { readonly [K in keyof typeof LIMITS]: number };

/** Bytes of a REQUEST besides its items: braces, the `files` key and whitespace. */
export const REQUEST_BASE_BYTES = 1024;

/** Bytes one REQUEST item may take: `{"id":199999,"offset":9007199254740991},` is 40 (39 and its comma). */
export const REQUEST_ITEM_BYTES = 128;

/**
 * The limits a sender holds a receiver of an offer of `fileCount` files to: a REQUEST can list
 * each file once, so its cap is what that many items take (PROTOCOL.md §7), and a receiver
 * cannot make the sender buffer megabytes for an offer of one file.
 */
export function limitsForOffer(fileCount: number, limits: Limits = LIMITS): Limits {
  const request = REQUEST_BASE_BYTES + REQUEST_ITEM_BYTES * fileCount;
  return { ...limits, maxRequestPayloadBytes: Math.min(limits.maxRequestPayloadBytes, request) };
}

/**
 * Limits of the chat extension (PROTOCOL.md §12). A peer past one of them is cut off with
 * ERR_LIMIT_EXCEEDED; the conversation goes on for everyone else.
 */
export const CHAT = {
  /** UTF-8 bytes of one message (SAY, RELAY), at least 1. */
  maxTextBytes: 4 * KiB,
  /** Messages (SAY) one peer may send per second, sustained. */
  maxMessagesPerSecond: 10,
  /** Messages one peer may send at once after a quiet spell (the token bucket's depth). */
  messageBurst: 20,
  /** Joiners in one conversation; one more gets ERROR instead of WELCOME. */
  maxPeers: 32,
  /** Proposals from one side of a connection that are not finished yet. */
  maxOpenOffers: 8,
  /** The largest offer id: a u32, because TX_DATA carries it in 4 bytes. */
  maxOfferId: 0xffff_ffff,
  /** TX_DATA payload bytes a proposer may send for an offer before any CREDIT. */
  initialCreditBytes: 8 * MiB,
  /** File bytes in one TX_DATA frame, at most (the frame adds a 4-byte offer id). */
  maxTxDataBytes: 1 * MiB,
  /** Control frames queued for one peer that is not reading, at most, before it is cut off. */
  maxQueuedControlBytes: 1 * MiB,
} as const;

/** Bytes in front of a TX_DATA frame's file bytes: the frame header and the u32 offer id. */
export const TX_DATA_HEADER_BYTES = 9;

/**
 * File bytes per TX_DATA frame a chat side writes: two of them are in flight at most, so a
 * message waits behind about one one-way DATA frame (1 MiB), and the reads stay large.
 */
export const CHAT_DATA_CHUNK_BYTES = 512 * KiB;

/** The size of DATA frames a sender writes: the buffer size that keeps Node fast. */
export const DATA_CHUNK_BYTES = 1 * MiB;

/** Timeouts in milliseconds. */
export const TIMEOUTS = {
  /** Connecting, from the first SYN to an accepted TCP connection. */
  connectMs: 10_000,
  /**
   * From accepting a connection to HELLO: preamble, TLS, authentication and the first message.
   * No person is waited for inside it: the receiver asks for a pairing code before it connects.
   */
  handshakeMs: 10_000,
  /** No bytes at all from the peer for this long ends the connection. */
  idleMs: 60_000,
  /** A frame whose header has arrived must be complete within this long. */
  frameMs: 60_000,
  /** How often a side that is waiting on its user sends PING to keep the link alive. */
  keepaliveMs: 15_000,
  /**
   * A sender waits at most this long for REQUEST after HELLO, sending OFFER included, however
   * often the receiver PINGs: time for a person to choose, not for a stranger to hold a place
   * (K3), even one that reads the OFFER slowly.
   */
  decidingMs: 300_000,
  /**
   * A sender waits at most this long for the last FILE_ACK and DONE after sending END, however
   * often the receiver PINGs (K3): time for a disk to sync, not for a stranger to hold a place.
   */
  finishingMs: 300_000,
} as const;

/** Pairing: one-time codes, and what bounds guessing them and the work done for strangers. */
export const PAIRING = {
  /** Decimal digits in a pairing code (shown as two groups of four): 10^8 possible codes. */
  codeDigits: 8,
  /** Attempts one code allows; then it is retired and a new one is shown. */
  attemptsPerCode: 3,
  /** Codes retired after failed attempts before the sender stops pairing altogether. */
  maxRetiredCodes: 5,
  /**
   * Connections at once that have not completed authentication and HELLO. When all are taken,
   * a connection from an address holding at least two fewer than the busiest address takes
   * the place of that address's oldest, so a flood must come from about this many addresses
   * to lock receivers out.
   */
  maxPending: 32,
  /** Of those, from one remote address. */
  maxPendingPerHost: 4,
} as const;

/**
 * What bounds the sessions a sender holds open. A session that has greeted but not yet sent
 * REQUEST is *deciding*: its places are shared fairly between addresses like PAIRING's, so
 * idle sessions from a few addresses can never keep every receiver out (K3).
 */
export const SESSIONS = {
  /** Connections at once, in any state; one more is refused at once. */
  maxConnections: 64,
  /** Of those, from one remote address, so that one address never holds them all. */
  maxConnectionsPerHost: 16,
  /** Sessions at once between HELLO and REQUEST. */
  maxDeciding: 16,
  /** Of those, from one remote address. */
  maxDecidingPerHost: 4,
} as const;

/** What bounds resuming (§13): reconnection tickets, the receiver's state record, retrying. */
export const RESUME = {
  /** Random bytes of a reconnection ticket (OFFER `resume.ticket`, 64 hex digits). */
  ticketBytes: 32,
  /** A ticket dies this long after the last connection that used it ended. */
  ticketMs: 600_000,
  /** Live tickets a sender keeps at most; the oldest goes first. */
  maxTickets: 64,
  /** Bytes of a receiver's state record at most; a larger one is not read. */
  maxStateBytes: 65_536,
  /** How long a receiver tries to reconnect after losing the sender, by default (`--retry`). */
  retryMs: 60_000,
  /** The longest `--retry` allowed. */
  maxRetryMs: 3_600_000,
  /** The first wait before reconnecting; it doubles up to `backoffMaxMs`. */
  backoffFirstMs: 250,
  backoffMaxMs: 5_000,
} as const;

/** Digest algorithm of FILE_END and FILE_ACK, and its length in bytes. */
export const DIGEST = { algorithm: 'sha256', bytes: 32 } as const;

/**
 * What bounds finding senders on the network (PROTOCOL.md §14). Announcements come from anyone
 * on the network, so everything a receiver keeps of them is capped (M2).
 */
export const DISCOVERY = {
  /** How long a receiver looks for senders. */
  browseMs: 2000,
  /** When the query is sent again, in case the first was lost. */
  requeryMs: 1000,
  /** Senders kept in one browse; later ones are dropped. */
  maxSenders: 64,
  /** Instances kept from one source address, so one flooding host cannot bury the others. */
  maxPerSource: 4,
  /** UTF-8 bytes of an instance name (one DNS label). */
  maxNameBytes: 63,
  /** Bytes of one TXT string. */
  maxTxtStringBytes: 255,
  /** Bytes of a whole TXT record; a larger record is ignored. */
  maxTxtBytes: 1024,
  /** Addresses kept per sender. */
  maxAddresses: 8,
  /** Hex digits of the key fingerprint a sender announces (`fp`). */
  keyHintHexDigits: 16,
  /** How long a stopping sender waits for its goodbye to go out. */
  goodbyeMs: 1000,
} as const;
