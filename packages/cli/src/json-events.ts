/**
 * The `--json` events of both apps, one zod schema each: the apps type what they print with
 * them, the tests parse every line the real programs print with them, and the README's event
 * tables are checked against them. A field has one meaning and one type in every event:
 * `files`, `failed` and `bytes` are always counts, `out` is always the destination folder.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
/** A key as the apps write it everywhere: `558E F330 5F2B D3DE`. */
const key = z.string().regex(/^[0-9A-F]{4}( [0-9A-F]{4}){3}$/);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const code = z.string().regex(/^ERR_[A-Z0-9_]{1,60}$/);
const rememberResult = z.enum(['added', 'updated', 'conflict', 'failed']);
/** With --ui, first: the window's address, with its key (`http://127.0.0.1:PORT/?t=TOKEN`). */
const windowEvent = z.strictObject({
  url: z.string().regex(/^http:\/\/127\.0\.0\.1:\d{1,5}\/\?t=[A-Za-z0-9_-]{43}$/),
});

/** `ferry-send --json`, by event name. */
export const SENDER_JSON_EVENTS = {
  window: windowEvent,
  listening: z.strictObject({
    port: count,
    host: z.string().optional(),
    addresses: z.array(z.strictObject({ address: z.string(), family: z.enum(['IPv4', 'IPv6']), interface: z.string().optional() })),
    encryption: z.boolean(),
    fingerprint: key.optional(),
    files: count,
    bytes: count,
    skipped: z.array(z.strictObject({ path: z.string(), reason: z.string() })),
  }),
  code: z.strictObject({ code: z.string(), reason: z.enum(['first', 'used', 'retired']), failed: count }),
  'pairing-failed': z.strictObject({ client: count, failed: count, limit: count }),
  'pairing-closed': z.strictObject({ failed: count }),
  'trust-error': z.strictObject({ message: z.string() }),
  connected: z.strictObject({ client: count, peer: z.string() }),
  authenticated: z.strictObject({
    client: count,
    peer: z.string(),
    method: z.enum(['trusted', 'code', 'resume']),
    fingerprint: key,
    rememberedAs: z.string().optional(),
  }),
  remembered: z.strictObject({ client: count, name: z.string(), fingerprint: key, result: rememberResult, reason: z.string().optional() }),
  hello: z.strictObject({ client: count, peer: z.string(), name: z.string() }),
  request: z.strictObject({ client: count, files: count, bytes: count }),
  progress: z.strictObject({ client: count, bytes: count }),
  'file-sent': z.strictObject({ client: count, path: z.string(), size: count, sha256 }),
  'file-failed': z.strictObject({ client: count, path: z.string(), code }),
  'session-complete': z.strictObject({
    client: count,
    peer: z.string(),
    files: count,
    failed: count,
    bytes: count,
    ms: z.number().nonnegative(),
  }),
  'session-failed': z.strictObject({ client: count, peer: z.string(), code, message: z.string() }),
  'session-resumed': z.strictObject({ client: count, peer: z.string(), files: count, skippedBytes: count }),
  'file-restarted': z.strictObject({ client: count, path: z.string(), reason: z.enum(['changed']) }),
  refused: z.strictObject({ peer: z.string(), reason: z.string() }),
  stopped: z.strictObject({ reason: z.enum(['once', 'interrupted', 'window']) }),
  link: z.strictObject({ urls: z.array(z.string()), downloads: count.optional() }),
  'download-start': z.strictObject({
    id: count,
    peer: z.string(),
    agent: z.string(),
    what: z.string(),
    bytes: count,
    range: z.strictObject({ start: count, end: count }).optional(),
  }),
  'download-progress': z.strictObject({ id: count, bytes: count }),
  'download-done': z.strictObject({ id: count, bytes: count, complete: z.boolean() }),
  'download-failed': z.strictObject({ id: count, message: z.string() }),
  'link-ended': z.strictObject({ reason: z.enum(['downloads', 'stopped']) }),
  announced: z.strictObject({ name: z.string(), port: count }),
  'announce-failed': z.strictObject({ message: z.string() }),
  error: z.strictObject({ code: z.string(), message: z.string() }),
} as const;

const savedFile = z.strictObject({ path: z.string(), offered: z.string(), size: count, sha256 });
const failedFile = z.strictObject({ offered: z.string(), code, message: z.string() });
const renamed = z.strictObject({ offered: z.string(), savedAs: z.string() });

/** `ferry-receive --json`, by event name. */
export const RECEIVER_JSON_EVENTS = {
  window: windowEvent,
  'sender-found': z.strictObject({
    number: count,
    name: z.string(),
    host: z.string(),
    addresses: z.array(z.string()),
    port: count,
    key: z.union([key, z.literal('')]),
    encrypted: z.boolean(),
    chat: z.boolean(),
    remembered: z.boolean(),
  }),
  'discovery-done': z.strictObject({ found: count }),
  connected: z.strictObject({ address: z.string() }),
  'code-needed': z.strictObject({ fingerprint: key }),
  secured: z.strictObject({
    encrypted: z.boolean(),
    method: z.enum(['trusted', 'code', 'resume']).optional(),
    fingerprint: key.optional(),
    rememberedAs: z.string().optional(),
  }),
  remembered: z.strictObject({ name: z.string(), fingerprint: key, result: rememberResult, reason: z.string().optional() }),
  offer: z.strictObject({
    sender: z.strictObject({ name: z.string(), host: z.string() }),
    files: count,
    bytes: count,
    items: z.array(z.strictObject({ name: z.string(), kind: z.enum(['file', 'dir']), files: count, bytes: count })),
    entries: z.array(
      z.union([
        z.strictObject({ path: z.string(), kind: z.literal('file'), size: count }),
        z.strictObject({ path: z.string(), kind: z.literal('dir') }),
      ]),
    ),
    hidden: z.array(z.string()),
    folders: count,
  }),
  report: z.strictObject({
    out: z.string(),
    files: count,
    bytes: count,
    folders: count,
    neededBytes: count,
    freeBytes: count.nullable(),
    freeAfter: z.number().int().nullable(),
    enoughSpace: z.boolean(),
    renamed: z.array(renamed),
    systemNames: z.array(renamed),
    hidden: z.array(z.string()),
    unsavable: z.array(
      z.strictObject({
        offered: z.string(),
        kind: z.enum(['file', 'dir']),
        reason: z.enum(['path-too-long', 'name-too-long', 'too-large', 'no-free-name']),
        message: z.string(),
      }),
    ),
  }),
  'resume-found': z.strictObject({ files: count, heldBytes: count, totalBytes: count }),
  start: z.strictObject({
    out: z.string(),
    files: count,
    bytes: count,
    resumedBytes: count,
    presentFiles: count,
  }),
  progress: z.strictObject({ bytes: count }),
  'file-saved': savedFile,
  'file-present': savedFile,
  'file-restarted': z.strictObject({ offered: z.string(), reason: z.enum(['changed', 'differs']) }),
  'file-failed': failedFile,
  'connection-lost': z.strictObject({ code, message: z.string(), retryMs: count }),
  reconnecting: z.strictObject({ attempt: count, delayMs: count }),
  resumed: z.strictObject({ files: count, heldBytes: count }),
  'partial-kept': z.strictObject({ dir: z.string(), files: count, heldBytes: count }),
  done: z.strictObject({
    out: z.string().nullable(),
    declined: z.boolean(),
    cancelled: z.boolean(),
    files: count,
    present: count,
    failed: count,
    bytes: count,
    saved: z.array(savedFile),
    failures: z.array(failedFile),
  }),

  clean: z.strictObject({ dir: z.string(), result: z.enum(['removed', 'left']), reason: z.string().optional() }),
  error: z.strictObject({ code: z.string(), message: z.string() }),
} as const;

const direction = z.enum(['in', 'out']);
/** A key in a conversation: as everywhere, or '' for a peer in clear. */
const chatKey = z.union([key, z.literal('')]);
const chatPeer = z.strictObject({
  peer: count,
  name: z.string(),
  key: chatKey,
  address: z.string(),
  transfers: count,
});
const offerNumber = count;

/**
 * `ferry-send --chat --json` and `ferry-receive --chat --json`, by event name. `offer` is this
 * side's number of an offer (`#1`); `peer` a number in the conversation (0 is the listener).
 */
export const CHAT_JSON_EVENTS = {
  window: windowEvent,
  'chat-ready': z.strictObject({
    peer: count,
    name: z.string(),
    key: chatKey,
    peers: z.array(chatPeer),
  }),
  joined: chatPeer,
  left: z.strictObject({
    peer: count,
    name: z.string(),
    reason: z.enum(['quit', 'lost', 'cut-off']),
    code: code.optional(),
    message: z.string().optional(),
  }),
  message: z.strictObject({ from: z.string(), peer: count, text: z.string() }),
  said: z.strictObject({ from: z.string(), peer: count, text: z.string() }),
  offer: z.strictObject({
    offer: offerNumber,
    from: z.string(),
    peer: count,
    files: count,
    bytes: count,
    items: RECEIVER_JSON_EVENTS.offer.shape.items,
    entries: RECEIVER_JSON_EVENTS.offer.shape.entries,
    hidden: z.array(z.string()),
    folders: count,
    renamed: z.array(renamed),
  }),
  report: RECEIVER_JSON_EVENTS.report.extend({ offer: offerNumber }),
  declined: z.strictObject({ offer: offerNumber, peer: count, name: z.string(), code }),
  'transfer-start': z.strictObject({
    offer: offerNumber,
    direction,
    peer: count,
    name: z.string(),
    files: count,
    bytes: count,
    out: z.string().optional(),
    heldBytes: count.optional(),
  }),
  progress: z.strictObject({ offer: offerNumber, direction, bytes: count }),
  'transfer-resumed': z.strictObject({
    offer: offerNumber,
    previous: offerNumber,
    direction,
    peer: count,
    name: z.string(),
    files: count,
    bytes: count,
    heldBytes: count,
  }),
  'file-saved': z.strictObject({
    offer: offerNumber,
    peer: count,
    path: z.string(),
    offered: z.string(),
    size: count,
    sha256,
    present: z.literal(true).optional(),
  }),
  'file-restarted': z.strictObject({
    offer: offerNumber,
    direction,
    peer: count,
    offered: z.string(),
    reason: z.enum(['changed', 'differs']),
  }),
  'file-failed': z.strictObject({
    offer: offerNumber,
    direction,
    peer: count,
    offered: z.string(),
    code,
    message: z.string(),
  }),
  'file-sent': z.strictObject({
    offer: offerNumber,
    peer: count,
    path: z.string(),
    size: count,
    sha256,
  }),
  'transfer-done': z.strictObject({
    offer: offerNumber,
    direction,
    peer: count,
    name: z.string(),
    files: count,
    failed: count,
    bytes: count,
    ms: z.number().nonnegative(),
    code: code.optional(),
    suspended: z.literal(true).optional(),
  }),
  reconnecting: z.strictObject({ by: z.string(), seconds: count }),
  reconnected: z.strictObject({ by: z.string(), self: chatPeer, peers: z.array(chatPeer) }),
  'partial-kept': z.strictObject({
    offer: offerNumber,
    peer: count,
    name: z.string(),
    out: z.string(),
    dir: z.string(),
  }),
  peers: z.strictObject({ peers: z.array(chatPeer) }),
  ended: z.strictObject({
    reason: z.enum(['quit', 'closed', 'lost', 'cut-off']),
    by: z.string().optional(),
    code: code.optional(),
    message: z.string().optional(),
  }),
  error: z.strictObject({ code: z.string(), message: z.string() }),
} as const;

/** The fields of one chat `--json` event, as the apps print them. */
export type ChatJsonEvent<K extends keyof typeof CHAT_JSON_EVENTS> = z.input<
  (typeof CHAT_JSON_EVENTS)[K]
>;

/** The fields of one `ferry-send --json` event, as the app prints them. */
export type SenderJsonEvent<K extends keyof typeof SENDER_JSON_EVENTS> = z.input<(typeof SENDER_JSON_EVENTS)[K]>;

/** The fields of one `ferry-receive --json` event, as the app prints them. */
export type ReceiverJsonEvent<K extends keyof typeof RECEIVER_JSON_EVENTS> = z.input<(typeof RECEIVER_JSON_EVENTS)[K]>;

/**
 * Checks one printed line against `events`: an object whose `event` names one of them and
 * whose other fields are exactly that event's. Returns the problem, or undefined.
 */
export function jsonEventProblem(events: Readonly<Record<string, z.ZodType>>, line: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return `not JSON: ${line}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `not an object: ${line}`;
  const { event, ...fields } = value as Record<string, unknown>;
  if (typeof event !== 'string' || !Object.hasOwn(events, event)) return `an undocumented event: ${line}`;
  const result = events[event]!.safeParse(fields);
  return result.success ? undefined : `${event}: ${z.prettifyError(result.error)} in ${line}`;
}
