import { z } from 'zod';
import { DEFAULT_PORT, LIMITS, RESUME } from '../constants.ts';

/** pino log levels a user may choose; `silent` is the default. */
export const LogLevelSchema = z.enum(['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace']);

/** A TCP port; 0 asks the system for a free one. */
export const PortSchema = z.union([
  z.number().int(),
  z.string().regex(/^\d{1,5}$/, 'a port is a whole number from 0 to 65535').transform(Number),
]).pipe(z.number().int().min(0).max(65535));

/**
 * `--timeout`: seconds to wait without progress from the peer before giving up, from 1 to 3600
 * (decimals allowed). Absent, the apps use TIMEOUTS.idleMs.
 */
export const TimeoutSecondsSchema = z
  .union([
    z.number(),
    z.string().regex(/^\d{1,4}(\.\d{1,3})?$/, 'a number of seconds, from 1 to 3600').transform(Number),
  ])
  .pipe(z.number().min(1, 'at least 1 second').max(3600, 'at most 3600 seconds (one hour)'));

/**
 * `--retry`: seconds the receiver keeps reconnecting after losing the sender mid-transfer, from
 * 0 (never) to RESUME.maxRetryMs / 1000 (decimals allowed); RESUME.retryMs / 1000 by default.
 */
export const RetrySecondsSchema = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,4}(\.\d{1,3})?$/, 'a number of seconds, from 0 to 3600')
      .transform(Number),
  ])
  .pipe(
    z
      .number()
      .min(0, 'at least 0 seconds')
      .max(RESUME.maxRetryMs / 1000, 'at most 3600 seconds (one hour)'),
  );

/** `--link-downloads`: complete downloads after which the link ends, from 1 to 1,000,000. */
export const LinkDownloadsSchema = z
  .union([
    z.number().int(),
    z.string().regex(/^\d{1,7}$/, 'a whole number of downloads, from 1 to 1000000').transform(Number),
  ])
  .pipe(z.number().int().min(1, 'at least 1 download').max(1_000_000, 'at most 1000000 downloads'));

/** A display name: at most 64 characters, and within the wire's UTF-8 byte limit. */
const DisplayNameSchema = z
  .string()
  .min(1)
  .max(64)
  .refine((name) => new TextEncoder().encode(name).byteLength <= LIMITS.maxNameBytes, {
    message: `longer than ${LIMITS.maxNameBytes} UTF-8 bytes`,
  });

/** Configuration of `ferry-send`, after its arguments are parsed. */
export const SenderConfigSchema = z.strictObject({
  /** Files and folders to offer; in a conversation (chat), offered to each one who joins, or none. */
  paths: z.array(z.string().min(1)),
  host: z.string().min(1).optional(),
  port: PortSchema.default(DEFAULT_PORT),
  once: z.boolean().default(false),
  json: z.boolean().default(false),
  logLevel: LogLevelSchema.default('silent'),
  name: DisplayNameSchema.optional(),
  /** TLS and pairing; off only with --no-encryption, which the receiver must also choose. */
  encryption: z.boolean().default(true),
  /** Remember receivers that pair with a code. */
  remember: z.boolean().default(false),
  /** Seconds without progress from a receiver before its session ends; see TimeoutSecondsSchema. */
  timeout: TimeoutSecondsSchema.optional(),
  /** Hold a conversation that receivers join with --chat (PROTOCOL.md §12). */
  chat: z.boolean().optional(),
  /** In a conversation: where accepted offers are saved when no folder is named. */
  out: z.string().min(1).optional(),
  /** In a conversation: accept every offer without asking. */
  yes: z.boolean().optional(),
  /** Announce the sender on the local network (DNS-SD over mDNS, PROTOCOL.md §14); off with --no-announce. */
  announce: z.boolean().default(true),
  /** Print a QR code of the command a receiver runs (with --link, of the link's first URL). */
  qr: z.boolean().default(false),
  /** Serve the offer over HTTP too, on the same port, under a secret link (PROTOCOL.md §15). */
  link: z.boolean().default(false),
  /** End the link after this many complete downloads; needs `link`. */
  linkDownloads: LinkDownloadsSchema.optional(),
  /** Show the sending window (a local web page on 127.0.0.1) instead of asking on the terminal. */
  ui: z.boolean().default(false),
  /** With `ui`: open the window in the default browser (off with --no-open). */
  open: z.boolean().default(true),
  /** With `ui`: the window's port on 127.0.0.1; 0 (a free one) by default. */
  uiPort: PortSchema.default(0),
}).superRefine((config, ctx) => {
  if (config.linkDownloads !== undefined && !config.link) {
    ctx.addIssue({ code: 'custom', path: [], message: '--link-downloads counts downloads through the link: add --link' });
  }
  if (config.link && config.chat) {
    ctx.addIssue({ code: 'custom', path: [], message: '--link shares the offered files, but a conversation (--chat) has no link: leave out one of them' });
  }
  // The window can start with nothing and add files in its file browser.
  if (!config.chat && !config.ui && config.paths.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['paths'], message: 'name at least one file or folder to offer, or add them in the window (--ui)' });
  }
});

/** Configuration of `ferry-send`. */
export type SenderConfig = z.infer<typeof SenderConfigSchema>;

/** `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to Ferry's. */
export const AddressSchema = z.string().transform((value, ctx) => {
  const text = value.trim();
  let host = text;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [host, port] = text.split(':') as [string, string];
  }
  // Digits only: Number() would also read '1e3', '0x50' and ' 80' as ports.
  const portNumber = port === undefined ? DEFAULT_PORT : /^\d{1,5}$/.test(port) ? Number(port) : Number.NaN;
  // A bracket or blank left in the host means the text was not a host at all (e.g. '[::1]:').
  if (host === '' || /[[\]\s]/.test(host) || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    ctx.addIssue({ code: 'custom', message: `not a host or host:port: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return { host, port: portNumber };
});

/** Configuration of `ferry-receive`, after its arguments are parsed. */
export const ReceiverConfigSchema = z.strictObject({
  /** Where the sender is; left out to look for senders on the network (PROTOCOL.md §14). */
  address: AddressSchema.optional(),
  /** A sender's name to look for on the network first; `address` is then the same text as a host name. */
  find: z.string().min(1).optional(),
  out: z.string().min(1).optional(),
  yes: z.boolean().default(false),
  fsync: z.boolean().default(false),
  json: z.boolean().default(false),
  logLevel: LogLevelSchema.default('silent'),
  name: DisplayNameSchema.optional(),
  connectTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
  encryption: z.boolean().default(true),
  /** Remember the sender after pairing with a code. */
  remember: z.boolean().default(false),
  /** Read the pairing code from the first line of stdin. */
  codeStdin: z.boolean().default(false),
  /** List every offered and saved file (with its digest) instead of a summary. */
  verbose: z.boolean().default(false),
  /** Seconds without progress from the sender before giving up; see TimeoutSecondsSchema. */
  timeout: TimeoutSecondsSchema.optional(),
  /** Join the conversation the sender holds (PROTOCOL.md §12) instead of taking an offer. */
  chat: z.boolean().optional(),
  /** Seconds to keep reconnecting after the connection breaks mid-transfer; 0 turns it off. */
  retry: RetrySecondsSchema.default(RESUME.retryMs / 1000),
});

/** `ferry-receive --clean <folder>`: remove the partial data left in a folder, then exit. */
export const ReceiverCleanSchema = z.strictObject({
  clean: z.string().min(1),
  json: z.boolean().default(false),
});

/** Configuration of `ferry-receive`. */
export type ReceiverConfig = z.infer<typeof ReceiverConfigSchema>;
