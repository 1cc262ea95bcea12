import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import {
  BULK_READ_GATE,
  type Chunk,
  ChunkReader,
  type FileSource,
  type OfferSource,
  openSource,
  SyncGate,
} from '@ferry/engine';
import { Emitter, escapeForDisplay } from '@ferry/protocol';
import { Connection } from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { addressGroup } from '../addresses.ts';
import {
  BadPath,
  contentDisposition,
  contentType,
  httpDate,
  parseRange,
  pathSegment,
  pathSegments,
  type RangeAnswer,
} from './http-fields.ts';
import { renderPage, renderSums } from './page.ts';
import { ReadBudget } from './read-budget.ts';
import type { FolderZip } from './zip.ts';

/** Events of a link: its addresses, each download, and its end. */
export interface LinkEvents extends Record<string, unknown> {
  /** `downloads`: the link ends after this many complete downloads (--link-downloads). */
  link: { urls: string[]; downloads?: number | undefined };
  /**
   * `peer`: the downloader's address and port; `agent`: its User-Agent (both as sent: escape to
   * show); `what`: the offer path (a folder's path plus `.zip`), `SHA256SUMS` or the program;
   * `bytes`: the body's length; `range`: the bytes served, when not the whole body.
   */
  'download-start': {
    id: number;
    peer: string;
    agent: string;
    what: string;
    bytes: number;
    range?: { start: number; end: number } | undefined;
  };
  /** `bytes`: sent of this download so far. */
  'download-progress': { id: number; bytes: number };
  /** `complete`: every byte of the body went out; otherwise the downloader hung up. */
  'download-done': { id: number; bytes: number; complete: boolean };
  /** The download ended in error (the source changed): the response was cut, never completed. */
  'download-failed': { id: number; message: string };
  'link-ended': { reason: 'downloads' | 'stopped' };
}

/** Makes the zip of a top-level folder (entry `top`) of the offer. */
export type FolderZipper = (source: OfferSource, top: number) => FolderZip;

/** HTTP connections handed over by the sender, which peeked at their first byte. */
export interface HttpHandler {
  accept(socket: net.Socket): void;
  close(): void;
}

/** The limits of the HTTP side (PROTOCOL.md §15). */
export const LINK_LIMITS = {
  maxHeaderSize: 8 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  /** How often Node checks the header and request timeouts. */
  checkingIntervalMs: 1_000,
  /** Wrong tokens from one address within `wrongTokenWindowMs` answered at once. */
  freeWrongTokens: 5,
  wrongTokenWindowMs: 60_000,
  firstDelayMs: 1_000,
  maxDelayMs: 10_000,
  /** Addresses whose wrong tokens are remembered, at most (the oldest are forgotten). */
  maxTrackedAddresses: 4096,
  /**
   * A download's buffers: `readBuffers` of one size in flight at most. The size is the largest
   * power of two from `readBufferBytes` down whose buffers fit what is left of
   * `readBudgetBytes`, shared by all downloads, and `minReadBufferBytes` when none does.
   */
  readBuffers: 2,
  readBufferBytes: 4 * 1024 * 1024,
  minReadBufferBytes: 64 * 1024,
  readBudgetBytes: 32 * 1024 * 1024,
  /** User-Agent kept for display, in characters. */
  maxAgentChars: 200,
} as const;

/** The security headers of every answer, the page's included. */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

const NOT_FOUND_BODY = 'Not Found\n';

/** A new link token: 128 random bits, base64url (22 characters). */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}

/** The link's address on one host (`192.168.1.20`, `fe80::1`) and port. */
export function linkUrl(host: string, port: number, token: string): string {
  // A link-local address's zone is written %25 in a URL (RFC 6874).
  const bracketed = host.includes(':') ? `[${host.replace('%', '%25')}]` : host;
  return `http://${bracketed}:${port}/t/${token}/`;
}

/** Options of {@link createLink}. */
export interface LinkOptions {
  readonly offer: OfferSource;
  /** SHA-256 of each offered file by entry id, computed before the link is shown. */
  readonly digests: ReadonlyMap<number, string>;
  readonly logger: Logger;
  /** The sender's display name, shown on the page. */
  readonly name: string;
  /** The token (a new one unless a test sets it). */
  readonly token?: string;
  /** End the link after this many complete downloads. */
  readonly downloads?: number | undefined;
  /** Zips of top-level folders; without it, folders are listed but not downloadable. */
  readonly zipper?: FolderZipper | undefined;
  /** The single-file receiving program's path, looked up when asked for; undefined: not offered. */
  readonly program?: (() => Promise<string | undefined>) | undefined;
  /** Milliseconds for the wrong-token window; `performance.now` unless a test sets it. */
  readonly clock?: () => number;
  /** Waits before a slowed-down answer; a timer unless a test sets it. */
  readonly delay?: (ms: number) => Promise<void>;
  /** Limits a test shortens. */
  readonly limits?: Partial<
    Record<
      'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'checkingIntervalMs',
      number
    >
  >;
}

/** A link: the HTTP side of a sender that offers its files to browsers and curl too. */
export interface Link extends Emitter<LinkEvents>, HttpHandler {
  readonly token: string;
  /** The link's URLs for these hosts and port, announced as the `link` event. */
  announce(hosts: readonly string[], port: number): string[];
  /** Ends the link: every later request gets the bare 404. */
  end(reason: LinkEvents['link-ended']['reason']): void;
  readonly ended: boolean;
  /** Serves `offer` (with its files' digests) from now on; downloads under way go on. */
  setOffer(offer: OfferSource, digests: ReadonlyMap<number, string>): void;
}

/** Creates the Node HTTP server used for both the link and the bare 404, with the limits. */
function httpServer(
  limits: LinkOptions['limits'],
  handler: (request: http.IncomingMessage, response: http.ServerResponse) => void,
): http.Server {
  const server = http.createServer(
    {
      maxHeaderSize: LINK_LIMITS.maxHeaderSize,
      headersTimeout: limits?.headersTimeoutMs ?? LINK_LIMITS.headersTimeoutMs,
      requestTimeout: limits?.requestTimeoutMs ?? LINK_LIMITS.requestTimeoutMs,
      keepAliveTimeout: limits?.keepAliveTimeoutMs ?? LINK_LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits?.checkingIntervalMs ?? LINK_LIMITS.checkingIntervalMs,
      // Requests have no body worth reading: anything sent with one is answered and closed.
      requireHostHeader: false,
    },
    handler,
  );
  // Sockets come from the sender's listener, never from this server's own: "listening" starts
  // Node's checks of headersTimeout and requestTimeout over the connections handed to it.
  server.emit('listening');
  server.on('clientError', (error: NodeJS.ErrnoException, socket: net.Socket) => {
    if (!socket.writable) return socket.destroy();
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroySoon();
  });
  return server;
}

function stopServer(server: http.Server): void {
  server.closeAllConnections();
  // Never listened on its own: close() only stops the timeout checks.
  server.close(() => {});
}

/** The bare HTTP side of a sender without a link: `404 Not Found` to everything. */
export function bareHttp(): HttpHandler {
  const server = httpServer(undefined, (request, response) =>
    notFound(response, request.method === 'HEAD'),
  );
  return {
    accept: (socket) => server.emit('connection', socket),
    close: () => stopServer(server),
  };
}

function notFound(response: http.ServerResponse, head: boolean): void {
  response.writeHead(404, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(NOT_FOUND_BODY),
  });
  response.end(head ? undefined : NOT_FOUND_BODY);
}

/** What a request under a valid token names. */
type Target =
  | { kind: 'page' }
  | { kind: 'sums' }
  | { kind: 'program' }
  | { kind: 'file'; id: number; source: FileSource; path: string; name: string }
  | { kind: 'zip'; id: number; path: string }
  | { kind: 'none' };

/**
 * Creates a link over `options.offer`. Requests map the token and an entry id to what is on
 * offer, never a path the client typed to the disk.
 */
export function createLink(options: LinkOptions): Link {
  const emitter = new Emitter<LinkEvents>();
  const logger = options.logger.child({ component: 'link' });
  const token = options.token ?? newToken();
  const tokenBytes = Buffer.from(token);
  const now = options.clock ?? (() => performance.now());
  const delay =
    options.delay ??
    ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  // The offer and its digests change when the window's user adds or removes files.
  let offer = options.offer;
  let digests = options.digests;
  // Wrong-token times by address group, for the slowdown (L2).
  const wrongTokens = new Map<string, number[]>();
  let nextDownload = 1;
  let completed = 0;
  const budget = new ReadBudget(
    LINK_LIMITS.readBudgetBytes,
    LINK_LIMITS.readBuffers,
    LINK_LIMITS.readBufferBytes,
    LINK_LIMITS.minReadBufferBytes,
  );
  // Reads of offered files run synchronously while the page cache answers them fast.
  const gate = new SyncGate(BULK_READ_GATE);
  let ended = false;
  const server = httpServer(options.limits, (request, response) => {
    void handle(request, response).catch((error: unknown) => {
      logger.warn({ err: error }, 'request failed');
      response.destroy();
    });
  });

  function end(reason: LinkEvents['link-ended']['reason']): void {
    if (ended) return;
    ended = true;
    logger.info({ reason }, 'link ended');
    emitter.emit('link-ended', { reason });
  }

  /** The delay before answering a wrong token from `group` now, and the failure counted. */
  function wrongTokenDelay(group: string): number {
    const at = now();
    const recent = (wrongTokens.get(group) ?? []).filter(
      (t) => at - t < LINK_LIMITS.wrongTokenWindowMs,
    );
    recent.push(at);
    wrongTokens.delete(group);
    wrongTokens.set(group, recent.slice(-32));
    if (wrongTokens.size > LINK_LIMITS.maxTrackedAddresses)
      wrongTokens.delete(wrongTokens.keys().next().value!);
    const beyond = recent.length - LINK_LIMITS.freeWrongTokens;
    if (beyond <= 0) return 0;
    return Math.min(
      LINK_LIMITS.maxDelayMs,
      LINK_LIMITS.firstDelayMs * 2 ** Math.min(beyond - 1, 16),
    );
  }

  function isToken(segment: string | undefined): boolean {
    if (segment === undefined) return false;
    const given = Buffer.from(segment);
    return given.byteLength === tokenBytes.byteLength && timingSafeEqual(given, tokenBytes);
  }

  function resolveTarget(rest: readonly string[]): Target {
    const [first, second, third, ...more] = rest;
    if (more.length > 0) return { kind: 'none' };
    if (rest.length === 1 && first === '') return { kind: 'page' };
    if (rest.length === 1 && first === 'SHA256SUMS') return { kind: 'sums' };
    if (rest.length === 1 && first === 'ferry-receive.mjs' && options.program)
      return { kind: 'program' };
    if (
      rest.length !== 3 ||
      second === undefined ||
      third === undefined ||
      !/^(0|[1-9][0-9]{0,8})$/.test(second)
    )
      return { kind: 'none' };
    const id = Number(second);
    const entry = offer.entries[id];
    if (!entry) return { kind: 'none' };
    const base = entry.path.split('/').at(-1)!;
    if (first === 'f' && entry.kind === 'file' && third === base) {
      const source = offer.sources.get(id);
      if (source) return { kind: 'file', id, source, path: entry.path, name: base };
    }
    if (
      first === 'z' &&
      entry.kind === 'dir' &&
      !entry.path.includes('/') &&
      options.zipper &&
      third === `${base}.zip`
    ) {
      return { kind: 'zip', id, path: entry.path };
    }
    return { kind: 'none' };
  }

  async function handle(
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> {
    const method = request.method ?? '';
    const head = method === 'HEAD';
    const socket = request.socket;
    const peer = Connection.describeRemote(socket);
    let segments: string[];
    try {
      segments = pathSegments(request.url ?? '');
    } catch (error) {
      if (!(error instanceof BadPath)) throw error;
      logger.info({ peer, reason: error.message }, 'bad request path');
      response.writeHead(400, {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': 12,
        Connection: 'close',
      });
      response.end(head ? undefined : 'Bad Request\n');
      return;
    }
    if (ended || segments[0] !== 't' || !isToken(segments[1])) {
      if (!ended) {
        const wait = wrongTokenDelay(addressGroup(socket.remoteAddress ?? ''));
        // Never the token: a wrong one could be a right one mistyped.
        logger.info({ peer, wait }, 'wrong or missing link token');
        if (wait > 0) await delay(wait);
      }
      if (!response.destroyed) notFound(response, head);
      return;
    }
    const rest = segments.slice(2);
    const target = resolveTarget(rest);
    // The path without the token, for the log.
    const logged = `/t/…/${rest.map((s) => encodeURIComponent(s)).join('/')}`;
    if (target.kind === 'none') {
      logger.info({ peer, path: logged }, 'not on offer');
      return notFound(response, head);
    }
    if (method !== 'GET' && !head) {
      response.writeHead(405, { ...SECURITY_HEADERS, Allow: 'GET, HEAD', 'Content-Length': 0 });
      response.end();
      return;
    }
    logger.info({ peer, method, path: logged }, 'request');
    const agent = (request.headers['user-agent'] ?? '').slice(0, LINK_LIMITS.maxAgentChars);
    switch (target.kind) {
      case 'page': {
        const body = renderPage({
          offer,
          digests,
          name: options.name,
          zips: options.zipper !== undefined,
          program: options.program !== undefined,
        });
        response.writeHead(200, {
          ...SECURITY_HEADERS,
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
        });
        response.end(head ? undefined : body);
        return;
      }
      case 'sums': {
        const body = renderSums(offer, digests);
        response.writeHead(200, {
          ...SECURITY_HEADERS,
          'Content-Type': 'text/plain; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
          'Content-Disposition': contentDisposition('SHA256SUMS'),
        });
        response.end(head ? undefined : body);
        return;
      }
      case 'program':
        return sendProgram(response, head, peer, agent);
      case 'file':
        return sendFile(request, response, target, head, peer, agent);
      case 'zip':
        return sendZip(response, target, head, peer, agent);
    }
  }

  async function sendProgram(
    response: http.ServerResponse,
    head: boolean,
    peer: string,
    agent: string,
  ): Promise<void> {
    const file = await options.program?.();
    const stats = file === undefined ? undefined : await stat(file).catch(() => undefined);
    if (file === undefined || !stats?.isFile()) return notFound(response, head);
    const name = 'ferry-receive.mjs';
    const headers = {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/javascript; charset=utf-8',
      'Content-Disposition': contentDisposition(name),
      'Content-Length': stats.size,
      'Last-Modified': httpDate(stats.mtimeMs),
    };
    response.writeHead(200, headers);
    if (head) return void response.end();
    const id = nextDownload++;
    emitter.emit('download-start', { id, peer, agent, what: name, bytes: stats.size });
    const stream = createReadStream(file, { start: 0, end: Math.max(0, stats.size - 1) });
    await pump(stream, response, id, stats.size, false);
  }

  async function sendFile(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    target: Extract<Target, { kind: 'file' }>,
    head: boolean,
    peer: string,
    agent: string,
  ): Promise<void> {
    const { source } = target;
    const size = source.size;
    const digest = digests.get(target.id) ?? '';
    const etag = `"${digest}"`;
    const modified = httpDate(Number(source.stamp.mtimeNs / 1_000_000n));
    let opened: Awaited<ReturnType<typeof openSource>>;
    try {
      opened = await openSource(source);
    } catch (error) {
      // Changed or gone since it was offered (and hashed): its digest would be wrong.
      logger.info({ peer, path: target.path, err: error }, 'source changed since the offer');
      const body =
        'This file changed on the sender since it was offered: ask for it to be offered again.\n';
      response.writeHead(410, {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      response.end(head ? undefined : body);
      return;
    }
    const { handle, stamp } = opened;
    try {
      let range: RangeAnswer = parseRange(request.headers.range, size);
      if (
        range.kind !== 'whole' &&
        !ifRangeHolds(headerValue(request.headers['if-range']), etag, modified)
      )
        range = { kind: 'whole' };
      const common = {
        ...SECURITY_HEADERS,
        'Content-Type': contentType(target.name),
        'Content-Disposition': contentDisposition(target.name),
        'Accept-Ranges': 'bytes',
        ETag: etag,
        'Last-Modified': modified,
      };
      if (range.kind === 'unsatisfiable') {
        response.writeHead(416, {
          ...common,
          'Content-Range': `bytes */${size}`,
          'Content-Length': 0,
        });
        response.end();
        return;
      }
      const start = range.kind === 'range' ? range.start : 0;
      const end = range.kind === 'range' ? range.end + 1 : size;
      if (range.kind === 'range') {
        response.writeHead(206, {
          ...common,
          'Content-Range': `bytes ${start}-${end - 1}/${size}`,
          'Content-Length': end - start,
        });
      } else {
        response.writeHead(200, { ...common, 'Content-Length': size });
      }
      if (head) return void response.end();
      const id = nextDownload++;
      emitter.emit('download-start', {
        id,
        peer,
        agent,
        what: target.path,
        bytes: end - start,
        range: range.kind === 'range' ? { start, end: end - 1 } : undefined,
      });
      await sendBytes(response, id, handle, stamp, start, end);
      if (end === size) counted(id);
    } finally {
      await handle.close();
    }
  }

  /** The downloads that finished whole, for --link-downloads. */
  const finishedWhole = new Set<number>();
  function counted(id: number): void {
    if (!finishedWhole.has(id)) return;
    completed++;
    if (options.downloads !== undefined && completed >= options.downloads) end('downloads');
  }

  /**
   * Sends bytes `start … end−1` of an open source in a few pool buffers, each reused once the
   * socket has taken it (memory per download stays bounded whatever the client's speed). The last
   * chunk goes out only after the file is checked unchanged: a file changed while it was read
   * cuts the response short, so no client ever holds a complete body of stitched bytes (L5).
   */
  async function sendBytes(
    response: http.ServerResponse,
    id: number,
    handle: Awaited<ReturnType<typeof openSource>>['handle'],
    stamp: Awaited<ReturnType<typeof openSource>>['stamp'],
    start: number,
    end: number,
  ): Promise<void> {
    if (response.destroyed) {
      // The downloader hung up while the file was being opened: its 'close' has passed, so
      // nothing below would hear of it (the budget's share would be lost, and a download
      // sent to nobody counted as complete).
      emitter.emit('download-done', { id, bytes: 0, complete: false });
      return;
    }
    const pool = budget.take();
    // The file is checked unchanged before the chunk that ends the range is handed out.
    const reader = new ChunkReader(handle, pool, 0, start, end, stamp, gate);
    const total = end - start;
    let sent = 0;
    let hungUp = false;
    // Ends the wait for a chunk when the downloader hangs up meanwhile. One listener for the
    // whole download: a race against a promise of the close would add a reaction to it per
    // chunk, held until the end (tens of MiB over a long download).
    let stopWaiting: (() => void) | undefined;
    const closed = new Promise<void>((resolve) =>
      response.once('close', () => {
        hungUp = true;
        stopWaiting?.();
        // The socket takes no more buffers: they go back once the reader and the writes are done.
        budget.release(pool);
        resolve();
      }),
    );
    try {
      while (sent < total && !hungUp) {
        const next = reader.next();
        const chunk = await new Promise<Chunk | undefined>((resolve, reject) => {
          stopWaiting = () => resolve(undefined);
          next.then(resolve, reject);
        });
        stopWaiting = undefined;
        if (chunk === undefined) break;
        if (hungUp) {
          pool.release(chunk.buffer);
          break;
        }
        response.write(chunk.bytes, () => pool.release(chunk.buffer));
        sent += chunk.bytes.byteLength;
        emitter.emit('download-progress', { id, bytes: sent });
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ id, message }, 'download failed');
      emitter.emit('download-failed', { id, message });
      // Cut mid-body: the client sees fewer bytes than Content-Length, never a complete file.
      response.destroy();
      if (!hungUp) await closed;
      await reader.close().catch(() => {});
      return;
    }
    const complete = sent === total && !hungUp;
    if (complete) {
      response.end();
      finishedWhole.add(id);
    } else {
      response.destroy();
    }
    emitter.emit('download-done', { id, bytes: sent, complete });
    // A read still in flight waits for a buffer the closed socket may never give back.
    if (complete) await reader.close();
    else void reader.close().catch(() => {});
  }

  async function sendZip(
    response: http.ServerResponse,
    target: Extract<Target, { kind: 'zip' }>,
    head: boolean,
    peer: string,
    agent: string,
  ): Promise<void> {
    const zip = options.zipper!(offer, target.id);
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/zip',
      'Content-Disposition': contentDisposition(zip.name),
      'Content-Length': zip.size,
      'Accept-Ranges': 'none',
    });
    if (head) return void response.end();
    const id = nextDownload++;
    emitter.emit('download-start', {
      id,
      peer,
      agent,
      what: `${target.path}.zip`,
      bytes: zip.size,
    });
    if (await pump(zip.open() as Readable, response, id, zip.size, true)) counted(id);
  }

  /** Streams `stream` as the body (backpressure through pipe); true when it went out whole. */
  function pump(
    stream: Readable,
    response: http.ServerResponse,
    id: number,
    total: number,
    count: boolean,
  ): Promise<boolean> {
    if (response.destroyed) {
      // Hung up before this began (the program's size is read first): no 'close' will come.
      stream.destroy();
      emitter.emit('download-done', { id, bytes: 0, complete: false });
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      let sent = 0;
      let failed = false;
      stream.on('data', (chunk: Buffer) => {
        sent += chunk.byteLength;
        emitter.emit('download-progress', { id, bytes: sent });
      });
      stream.once('error', (error) => {
        failed = true;
        emitter.emit('download-failed', { id, message: error.message });
        response.destroy();
        resolve(false);
      });
      response.once('close', () => {
        stream.destroy();
        if (failed) return;
        const complete = sent === total && response.writableFinished;
        if (complete && count) finishedWhole.add(id);
        emitter.emit('download-done', { id, bytes: sent, complete });
        resolve(complete);
      });
      stream.pipe(response);
    });
  }

  function announce(hosts: readonly string[], port: number): string[] {
    const urls = hosts.map((host) => linkUrl(host, port, token));
    emitter.emit('link', { urls, downloads: options.downloads });
    return urls;
  }

  const link = Object.assign(emitter, {
    token,
    announce,
    end,
    setOffer(next: OfferSource, nextDigests: ReadonlyMap<number, string>) {
      offer = next;
      digests = nextDigests;
    },
    accept: (socket: net.Socket) => server.emit('connection', socket),
    close: () => stopServer(server),
  });
  // Object.assign would copy a getter's value once: defined as a getter so it stays live.
  return Object.defineProperty(link as typeof link & Pick<Link, 'ended'>, 'ended', {
    get: () => ended,
    enumerable: true,
  });
}

/**
 * Whether a Range applies under `If-Range` (RFC 9110 §13.1.5): always without one; with an
 * entity tag only when it is exactly ours (strong comparison); with a date only when the file
 * was last modified at or before it.
 */
function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function ifRangeHolds(ifRange: string | undefined, etag: string, modified: string): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag;
  const date = Date.parse(value);
  return Number.isFinite(date) && Date.parse(modified) <= date;
}

/** A display string of who downloads: address and user agent, escaped. */
export function describeDownloader(peer: string, agent: string): string {
  return agent ? `${escapeForDisplay(peer)} (${escapeForDisplay(agent)})` : escapeForDisplay(peer);
}

export { pathSegment };
