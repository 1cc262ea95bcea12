import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  FsListInputSchema,
  FsMkdirInputSchema,
  FsRecentInputSchema,
  FsSpaceInputSchema,
  type WindowApp,
} from '../state/common.ts';
import { type ClientAssets, clientAssets, FAVICON_SVG, shellHtml } from './assets.ts';
import { MAX_BODY_BYTES, readJsonBody } from './body.ts';
import { WindowActionError } from './errors.ts';
import {
  absoluteFolder,
  freeSpace,
  isFolder,
  listFolder,
  listRoots,
  makeFolder,
} from './fs-api.ts';
import { LiveState } from './live-state.ts';
import { openInBrowser } from './open.ts';
import { RecentFolders } from './recent.ts';
import { UPLOAD_PATH } from '../state/upload.ts';
import { DropStaging } from './uploads.ts';
import {
  cookieName,
  isOwnHost,
  isOwnOrigin,
  newWindowToken,
  readCookie,
  SECURITY_HEADERS,
  tokenCookie,
  tokenMatches,
} from './security.ts';

/** How an app starts its window. */
export interface WindowOptions {
  app: WindowApp;
  logger: Logger;
  /** Ferry's config folder: the recent folders are kept there. */
  configDir: string;
  /** The user's home folder: where the file browser starts. */
  home: string;
  /** The port on 127.0.0.1; 0 (a free port) by default. */
  port?: number;
  /** Open the default browser at the window's address (false with --no-open). */
  open?: boolean;
  /** A token (tests only); a new random one otherwise. */
  token?: string;
  /** Opens an address in the default browser (tests only); the system's opener otherwise. */
  opener?: (address: string) => Promise<void>;
  /** Another page (tests only: the components' gallery); the app's own otherwise. */
  assets?: ClientAssets;
  /**
   * Takes files dropped on the page (`POST /api/upload`) into a folder of its own, removed on
   * close: the sending window, where a dropped file is offered.
   */
  uploads?: boolean;
  /** The folder dropped files are staged in (tests only); the system's temporary folder otherwise. */
  uploadRoot?: string;
  /** The free bytes where dropped files are staged (tests only); the file system's otherwise. */
  uploadSpace?: (folder: string) => Promise<number | null>;
  /** How long a request body may send nothing (tests only); BODY_IDLE_MS otherwise. */
  bodyIdleMs?: number;
}

/** A running window: its address, its state, its actions. */
export interface Window {
  /** The address with the token: print it, never log it. */
  readonly url: string;
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** Replaces a slice of the state; the page shows it within `LIVE_STATE.sliceEveryMs`. */
  set<K extends string>(slice: K, value: unknown): void;
  /**
   * Marks a slice changed; `produce` builds its value when it is due to go out, a few times a
   * second at most, the latest winning: for values that change on every chunk, such as progress.
   */
  setLater<K extends string>(slice: K, produce: () => unknown): void;
  /** Registers the action `name`: its input is checked with `schema`, then `run` is called. */
  action<S extends z.ZodType>(
    name: string,
    schema: S,
    run: (input: z.infer<S>) => Promise<unknown> | unknown,
  ): void;
  /** Tells the page the app has stopped, ends every event stream and closes the server. */
  close(): Promise<void>;
}

/** What an app's controller uses of a window: its slices and its actions (a fake in tests). */
export type WindowSurface = Pick<Window, 'set' | 'setLater' | 'action'>;

interface Handler {
  readonly schema: z.ZodType;
  readonly run: (input: unknown) => Promise<unknown> | unknown;
}

const ACTION_NAME = /^[a-z][a-z0-9-]{0,40}$/;
/** A request body that sends nothing for this long is cut off. */
const BODY_IDLE_MS = 30_000;
/** How long the launch code in the address the browser is opened with stays good. */
const LAUNCH_MS = 60_000;

/** Starts a window's server on 127.0.0.1 and, unless `open` is false, opens the browser. */
export async function startWindow(options: WindowOptions): Promise<Window> {
  const log = options.logger.child({ component: 'window' });
  const token = options.token ?? newWindowToken();
  // The browser is opened with a launch code, never the token: an opener's command line can be
  // read by other local users (ps), and the browser may keep it there for its whole life. The
  // code lets in one page load within LAUNCH_MS; the page then holds the token in its cookie.
  let launch: { code: string; until: number } | undefined;
  const state = new LiveState();
  const recent = new RecentFolders(options.configDir, log);
  const routes = new Map<string, Handler>();
  const bodyIdleMs = options.bodyIdleMs ?? BODY_IDLE_MS;
  const staging = options.uploads
    ? new DropStaging({ logger: log, root: options.uploadRoot, space: options.uploadSpace })
    : undefined;
  const assetsReady = options.assets ? Promise.resolve(options.assets) : clientAssets();
  // An unhandled rejection here would end the app; the error is answered on first use instead.
  assetsReady.catch(() => {});
  let port = 0;

  const route = (path: string, schema: z.ZodType, run: Handler['run']): void => {
    routes.set(path, { schema, run });
  };
  route('/api/fs/list', FsListInputSchema, async (input) => {
    const { path: given, hidden } = input as z.infer<typeof FsListInputSchema>;
    const listing = await listFolder(
      given === undefined ? options.home : absoluteFolder(given),
      hidden ?? false,
    );
    return {
      ...listing,
      home: options.home,
      sep: process.platform === 'win32' ? '\\' : '/',
      roots: await listRoots(),
      recent: await recent.list(),
    };
  });
  route('/api/fs/mkdir', FsMkdirInputSchema, async (input) => {
    const { parent, name } = input as z.infer<typeof FsMkdirInputSchema>;
    return { path: await makeFolder(absoluteFolder(parent), name) };
  });
  route('/api/fs/space', FsSpaceInputSchema, async (input) => {
    return {
      free: await freeSpace(absoluteFolder((input as z.infer<typeof FsSpaceInputSchema>).path)),
    };
  });
  route('/api/fs/recent', FsRecentInputSchema, async (input) => {
    const folder = absoluteFolder((input as z.infer<typeof FsRecentInputSchema>).path);
    if (!(await isFolder(folder))) {
      throw new WindowActionError(
        'ERR_NOT_FOLDER',
        `This is not a folder: ${folder}. Pick a folder.`,
        400,
      );
    }
    await recent.add(folder);
    return { recent: await recent.list() };
  });

  const server = http.createServer(
    { maxHeaderSize: 16 * 1024, requireHostHeader: false },
    (request, response) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
      handle(request, response).catch((error: unknown) => {
        log.error({ err: error }, 'window request failed');
        if (!response.headersSent)
          sendJson(
            response,
            500,
            errorBody('ERR_INTERNAL', 'Ferry could not answer. Reload the page.'),
          );
        else response.destroy();
      });
    },
  );
  server.headersTimeout = 10_000;
  // No bound on a whole request: a dropped file of many GiB takes as long as it takes. A body
  // that stops coming is cut off instead (BODY_IDLE_MS).
  server.requestTimeout = 0;

  const handle = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> => {
    const method = request.method ?? 'GET';
    const host = request.headers.host;
    // The path alone: the query may hold the token, which never reaches a log.
    const pathname = (request.url ?? '/').split('?')[0] ?? '/';
    const refuse = (status: number, reason: string): void => {
      log.debug({ method, path: pathname.slice(0, 200), status, reason }, 'window request refused');
    };
    if (!isOwnHost(host, port)) {
      refuse(421, 'host');
      sendText(
        response,
        421,
        "This address is not Ferry's window. Open the address Ferry printed in the terminal.\n",
      );
      return;
    }
    const url = new URL(request.url ?? '/', `http://${host}`);
    const launched = url.searchParams.get('l');
    if (method === 'GET' && url.pathname === '/' && launched !== null) {
      const valid = launch !== undefined && Date.now() <= launch.until;
      if (!valid || !tokenMatches(launched, launch!.code)) {
        refuse(403, 'launch code');
        sendForbidden(response);
        return;
      }
      launch = undefined;
      response.writeHead(303, { Location: '/', 'Set-Cookie': tokenCookie(port, token) });
      response.end();
      return;
    }
    const presented = url.searchParams.get('t');
    if (method === 'GET' && url.pathname === '/' && presented !== null) {
      if (!tokenMatches(presented, token)) {
        refuse(403, 'token');
        sendForbidden(response);
        return;
      }
      response.writeHead(303, { Location: '/', 'Set-Cookie': tokenCookie(port, token) });
      response.end();
      return;
    }
    if (!tokenMatches(readCookie(request, cookieName(port)), token)) {
      refuse(403, 'cookie');
      sendForbidden(response);
      return;
    }
    // A page elsewhere (an EventSource or fetch from another site) says where it comes from.
    const origin = request.headers.origin;
    if (origin !== undefined && !isOwnOrigin(origin, host!)) {
      refuse(403, 'origin');
      sendJson(response, 403, errorBody('ERR_ORIGIN', "Only Ferry's own window may do this."));
      return;
    }
    if (url.pathname === UPLOAD_PATH) {
      await handleUpload(request, response, url, host!, refuse);
      return;
    }
    const isAction = url.pathname.startsWith('/api/action/') || url.pathname.startsWith('/api/fs/');
    if (isAction) {
      await handleAction(request, response, url.pathname, host!, refuse);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      refuse(405, 'method');
      response.setHeader('Allow', 'GET');
      sendText(response, 405, 'Method Not Allowed\n');
      return;
    }
    switch (url.pathname) {
      case '/':
        sendBody(response, 200, 'text/html; charset=utf-8', shellHtml(options.app));
        return;
      case '/app.js':
        sendBody(response, 200, 'text/javascript; charset=utf-8', (await assetsReady).js);
        return;
      case '/app.css':
        sendBody(response, 200, 'text/css; charset=utf-8', (await assetsReady).css);
        return;
      case '/favicon.svg':
        sendBody(response, 200, 'image/svg+xml', FAVICON_SVG);
        return;
      case '/api/events':
        state.open(request, response);
        return;
      default:
        sendText(response, 404, 'Not Found\n');
    }
  };

  const handleAction = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    pathname: string,
    host: string,
    refuse: (status: number, reason: string) => void,
  ): Promise<void> => {
    if (request.method !== 'POST') {
      refuse(405, 'method');
      response.setHeader('Allow', 'POST');
      sendJson(response, 405, errorBody('ERR_METHOD', 'Use POST for this.'));
      return;
    }
    const origin = request.headers.origin;
    if (!isOwnOrigin(typeof origin === 'string' ? origin : undefined, host)) {
      refuse(403, 'origin');
      sendJson(response, 403, errorBody('ERR_ORIGIN', "Only Ferry's own window may do this."));
      return;
    }
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      refuse(415, 'content-type');
      sendJson(response, 415, errorBody('ERR_CONTENT_TYPE', 'Send JSON (application/json).'));
      return;
    }
    const name = pathname.startsWith('/api/action/')
      ? pathname.slice('/api/action/'.length)
      : undefined;
    const handler =
      name === undefined
        ? routes.get(pathname)
        : ACTION_NAME.test(name)
          ? actions.get(name)
          : undefined;
    if (!handler) {
      refuse(404, 'action');
      sendJson(
        response,
        404,
        errorBody('ERR_NO_ACTION', 'This window cannot do that. Reload the page.'),
      );
      return;
    }
    try {
      request.setTimeout(bodyIdleMs, () => request.destroy());
      const body = await readJsonBody(request, MAX_BODY_BYTES);
      const parsed = handler.schema.safeParse(body);
      if (!parsed.success) {
        refuse(400, 'schema');
        sendJson(
          response,
          400,
          errorBody('ERR_BAD_REQUEST', 'The request did not fit. Reload the page and try again.'),
        );
        return;
      }
      const value = await handler.run(parsed.data);
      sendJson(response, 200, value === undefined ? { ok: true } : { ok: true, value });
    } catch (error) {
      if (error instanceof WindowActionError) {
        log.debug(
          { path: pathname, status: error.status, code: error.code },
          'window action refused',
        );
        if (error.status === 413) response.setHeader('Connection', 'close');
        sendJson(response, error.status, errorBody(error.code, error.message));
        if (error.status === 413) response.on('finish', () => request.destroy());
        return;
      }
      log.error({ err: error, path: pathname }, 'window action failed');
      sendJson(
        response,
        500,
        errorBody(
          'ERR_INTERNAL',
          'Ferry could not do this. Try again; if it fails again, look at the terminal.',
        ),
      );
    }
  };

  /** A dropped file's bytes, streamed to disk (PROTOCOL.md §11.15 W9). */
  const handleUpload = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    url: URL,
    host: string,
    refuse: (status: number, reason: string) => void,
  ): Promise<void> => {
    const answer = (status: number, code: string, message: string, reason: string): void => {
      refuse(status, reason);
      sendJson(response, status, errorBody(code, message));
    };
    if (!staging) {
      answer(404, 'ERR_NO_ACTION', 'This window cannot do that. Reload the page.', 'upload');
      return;
    }
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      answer(405, 'ERR_METHOD', 'Use POST for this.', 'method');
      return;
    }
    const origin = request.headers.origin;
    if (!isOwnOrigin(typeof origin === 'string' ? origin : undefined, host)) {
      answer(403, 'ERR_ORIGIN', "Only Ferry's own window may do this.", 'origin');
      return;
    }
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/octet-stream') {
      answer(415, 'ERR_CONTENT_TYPE', 'Send the file as application/octet-stream.', 'content-type');
      return;
    }
    const declared = request.headers['content-length'];
    const length = Number(declared);
    if (
      request.headers['transfer-encoding'] !== undefined ||
      declared === undefined ||
      !/^\d{1,16}$/.test(declared) ||
      !Number.isSafeInteger(length)
    ) {
      // Without a length the body's end is unknown: the connection ends with the answer.
      response.setHeader('Connection', 'close');
      response.on('finish', () => request.destroy());
      answer(411, 'ERR_LENGTH_REQUIRED', 'Send the file with its length.', 'length');
      return;
    }
    const drop = url.searchParams.get('drop');
    const relative = url.searchParams.get('path');
    if (drop === null || relative === null) {
      answer(400, 'ERR_BAD_REQUEST', 'The request did not fit. Reload the page.', 'query');
      return;
    }
    request.setTimeout(bodyIdleMs, () => request.destroy());
    try {
      const staged = await staging.receive(request, drop, relative, length);
      sendJson(response, 200, { ok: true, value: staged });
    } catch (error) {
      if (!(error instanceof WindowActionError)) throw error;
      // A refusal before the body was read lets Node read and drop the rest, so that the page
      // gets this answer; a body cut short has no one left to answer.
      answer(error.status, error.code, error.message, error.code);
    }
  };

  const actions = new Map<string, Handler>();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const address = `http://127.0.0.1:${port}/`;
  const url = `${address}?t=${token}`;
  log.info({ port, app: options.app }, 'window listening');
  if (options.open !== false) {
    launch = { code: newWindowToken(), until: Date.now() + LAUNCH_MS };
    (options.opener ?? openInBrowser)(`${address}?l=${launch.code}`).catch((error: unknown) =>
      // Only the code: a failed spawn's error carries its arguments, the launch address.
      log.warn({ code: (error as NodeJS.ErrnoException).code }, 'browser not opened'),
    );
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    set(slice, value) {
      state.set(slice, value);
    },
    setLater(slice, produce) {
      state.setLater(slice, produce);
    },
    action(name, schema, run) {
      if (!ACTION_NAME.test(name)) throw new Error(`window action name not allowed: ${name}`);
      actions.set(name, { schema, run: run as Handler['run'] });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        state.close();
        server.close(() => {
          if (staging) void staging.remove().then(() => resolve());
          else resolve();
        });
        server.closeIdleConnections();
        // Streams were ended; what is still open (a request in flight) is cut after a moment.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
        log.info({ port }, 'window closed');
      });
      return closing;
    },
  };
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function sendBody(response: http.ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function sendText(response: http.ServerResponse, status: number, text: string): void {
  sendBody(response, status, 'text/plain; charset=utf-8', text);
}

function sendJson(response: http.ServerResponse, status: number, value: unknown): void {
  sendBody(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** The answer without a valid token: where to go instead, and nothing else. */
function sendForbidden(response: http.ServerResponse): void {
  sendBody(
    response,
    403,
    'text/html; charset=utf-8',
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ferry</title></head><body><main><h1>Open the address Ferry printed in the terminal</h1><p>This page needs the address with its key, as Ferry printed it when it started.</p></main></body></html>\n',
  );
}
