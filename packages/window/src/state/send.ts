/**
 * The sending window's state and actions: what `ferry-send --ui` shows the page, slice by slice,
 * and what the page may ask of it. Isomorphic: zod only. Every string that came from a receiver
 * (`peer`, `name`, `rememberedAs`, a file path it failed) is shown through PeerText.
 */
import { z } from 'zod';
import { AppSliceSchema } from './common.ts';

const count = z.number().int().nonnegative();
/** Bytes per second or seconds left; null while not known yet. */
const measure = z.number().nonnegative().nullable();
/** A key as Ferry shows it: `558E F330 5F2B D3DE`. */
const key = z.string();

/** `app`: who is sending, and whether it encrypts (the page's header shows it). */
export const SendAppSchema = AppSliceSchema;
export type SendApp = z.infer<typeof SendAppSchema>;

/** One item the user added: a file or a folder, by its path on this machine. */
export const OfferItemSchema = z.strictObject({
  path: z.string(),
  name: z.string(),
  kind: z.enum(['file', 'dir']),
  files: count,
  bytes: count,
});
export type OfferItem = z.infer<typeof OfferItemSchema>;

/** `offer`: the items offered to receivers that connect from now on, and what was left out. */
export const SendOfferSchema = z.strictObject({
  items: z.array(OfferItemSchema),
  files: count,
  bytes: count,
  skipped: z.array(z.strictObject({ path: z.string(), reason: z.string() })),
});
export type SendOffer = z.infer<typeof SendOfferSchema>;

/** One address receivers can reach, and the command to run there. */
export const SendAddressSchema = z.strictObject({
  address: z.string(),
  interface: z.string().optional(),
  /** `ferry-receive 192.168.1.20:7878`. */
  command: z.string(),
});

/** `listening`: null until the sender listens (a window started with nothing to offer waits). */
export const SendListeningSchema = z
  .strictObject({
    port: count,
    addresses: z.array(SendAddressSchema),
    /** Only loopback: no other machine can reach this one. */
    loopbackOnly: z.boolean(),
  })
  .nullable();
export type SendListening = z.infer<typeof SendListeningSchema>;

/** `pairing`: the code to read aloud and this sender's key. */
export const SendPairingSchema = z.strictObject({
  /** The code valid now; null without encryption, before listening, or once pairing closed. */
  code: z.string().nullable(),
  fingerprint: key.nullable(),
  /** Wrong attempts against the current code, and the limit before it is replaced. */
  failed: count,
  limit: count.nullable(),
  /** Too many wrong attempts: pairing is off until ferry-send restarts. */
  closed: z.boolean(),
  /** The remembered receivers cannot be read (every receiver then needs a code). */
  trustError: z.string().nullable(),
});
export type SendPairing = z.infer<typeof SendPairingSchema>;

/** One download through the link (a browser or curl); `peer` and `agent` are as the downloader sent them. */
export const SendDownloadSchema = z.strictObject({
  id: count,
  peer: z.string(),
  agent: z.string(),
  /** The offered path (a folder's path plus `.zip`), `SHA256SUMS` or the receiving program. */
  what: z.string(),
  bytes: count,
  total: count,
  state: z.enum(['running', 'done', 'stopped', 'failed']),
  message: z.string().nullable(),
});
export type SendDownload = z.infer<typeof SendDownloadSchema>;

/** `link`: the link's URLs, the first one's QR code (an SVG document), its downloads; or null. */
export const SendLinkSchema = z
  .strictObject({
    urls: z.array(z.string()),
    qr: z.string().nullable(),
    /** The link ends after this many complete downloads (--link-downloads). */
    limit: count.nullable(),
    ended: z.enum(['downloads', 'stopped']).nullable(),
    downloads: z.array(SendDownloadSchema),
  })
  .nullable();
export type SendLink = z.infer<typeof SendLinkSchema>;

/** Where a receiver is: connected, authenticated, greeted (choosing), taking files, done or failed. */
export const RECEIVER_STATES = [
  'connected',
  'paired',
  'choosing',
  'transferring',
  'done',
  'failed',
] as const;
export type ReceiverState = (typeof RECEIVER_STATES)[number];

/** One receiver, as long as this window runs (the finished ones too, newest last). */
export const SendReceiverSchema = z.strictObject({
  client: count,
  /** Its number on this screen and the terminal's (`#1`), once it greeted. */
  number: count.nullable(),
  peer: z.string(),
  name: z.string(),
  state: z.enum(RECEIVER_STATES),
  /** How it got in: a code, remembered (and as what), or a reconnection ticket. */
  auth: z
    .strictObject({
      method: z.enum(['code', 'trusted', 'resume']),
      fingerprint: key,
      rememberedAs: z.string().nullable(),
    })
    .nullable(),
  /** Remembered after pairing (--remember): the outcome, and why it failed. */
  remembered: z
    .strictObject({
      result: z.enum(['added', 'updated', 'conflict', 'failed']),
      name: z.string(),
      reason: z.string().nullable(),
    })
    .nullable(),
  /** What it asked for. */
  files: count,
  total: count,
  /** Bytes sent so far, the rate and the time left. */
  bytes: count,
  rate: measure,
  eta: measure,
  /** Files it acknowledged as saved, and those it did not save. */
  sent: count,
  failed: count,
  /** The first of the failed files (the count above is exact). */
  failedFiles: z.array(z.strictObject({ path: z.string(), code: z.string() })),
  /** Files whose first bytes it already held (resuming), and the bytes not sent again. */
  resumed: z.strictObject({ files: count, bytes: count }).nullable(),
  /** Files sent whole again, their part on the receiver differing. */
  restarted: z.array(z.string()),
  /** Done: the transfer's time in milliseconds. */
  ms: z.number().nonnegative().nullable(),
  /** Failed: why, in words; `resumable`: it may reconnect and go on. */
  error: z
    .strictObject({ code: z.string(), message: z.string(), resumable: z.boolean() })
    .nullable(),
});
export type SendReceiver = z.infer<typeof SendReceiverSchema>;

/** `receivers`: every receiver, oldest first. */
export const SendReceiversSchema = z.array(SendReceiverSchema);

/** One remembered receiver (it needs no code). */
export const RememberedReceiverSchema = z.strictObject({
  name: z.string(),
  /** The whole key (64 hex digits), which `forget` takes. */
  fingerprint: z.string(),
  /** As shown: `558E F330 5F2B D3DE`. */
  key,
  addresses: z.array(z.string()),
  added: z.string(),
});
export type RememberedReceiver = z.infer<typeof RememberedReceiverSchema>;

/** `remembered`: the remembered receivers, or why they cannot be read. */
export const SendRememberedSchema = z.strictObject({
  peers: z.array(RememberedReceiverSchema),
  error: z.string().nullable(),
});
export type SendRemembered = z.infer<typeof SendRememberedSchema>;

/** `refusals`: connections refused (a flood counted, not listed), newest last. */
export const SendRefusalsSchema = z.strictObject({
  recent: z.array(z.strictObject({ peer: z.string(), reason: z.string() })),
  total: count,
});
export type SendRefusals = z.infer<typeof SendRefusalsSchema>;

/** `stopped`: null while running; why it stopped. */
export const SendStoppedSchema = z
  .strictObject({ reason: z.enum(['stopped', 'interrupted', 'once']) })
  .nullable();

/** Every slice of the sending window, by name. */
export const SEND_SLICES = {
  app: SendAppSchema,
  offer: SendOfferSchema,
  listening: SendListeningSchema,
  pairing: SendPairingSchema,
  link: SendLinkSchema,
  receivers: SendReceiversSchema,
  remembered: SendRememberedSchema,
  refusals: SendRefusalsSchema,
  stopped: SendStoppedSchema,
} as const;
export type SendSlices = { [K in keyof typeof SEND_SLICES]: z.infer<(typeof SEND_SLICES)[K]> };

/** `add`: files and folders picked in the file browser, by absolute path. */
export const SendAddSchema = z.strictObject({
  paths: z.array(z.string().min(1).max(4096)).min(1).max(1000),
});
/** `remove`: items taken out of the offer, by the path they were added with. */
export const SendRemoveSchema = z.strictObject({
  paths: z.array(z.string().min(1).max(4096)).min(1).max(1000),
});
/** `forget`: a remembered receiver, by its whole key. */
export const SendForgetSchema = z.strictObject({ fingerprint: z.string().regex(/^[0-9a-f]{64}$/) });
/** `stop`: ends ferry-send, as Ctrl-C in its terminal does. */
export const SendStopSchema = z.strictObject({});

/** Every action of the sending window, by name. */
export const SEND_ACTIONS = {
  add: SendAddSchema,
  remove: SendRemoveSchema,
  forget: SendForgetSchema,
  stop: SendStopSchema,
} as const;
