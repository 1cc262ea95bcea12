import http from 'node:http';
import { Writable } from 'node:stream';
import {
  type HttpRequestOptions,
  httpRequest,
  onCleanup,
  tempDir,
  within,
} from '@ferry/testkit/unit';
import pino from 'pino';
import { startWindow, type Window, type WindowOptions } from '../src/index.ts';

/** A window on a loopback port, its log lines captured at the most verbose level. */
export interface TestWindow {
  readonly window: Window;
  readonly port: number;
  readonly token: string;
  /** `ferry-window-<port>=<token>`, as the browser sends it. */
  readonly cookie: string;
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  readonly logs: string[];
  readonly home: string;
  readonly configDir: string;
}

/** Starts a window for a test (closed after it), with a home and a config folder of its own. */
export async function startTestWindow(options: Partial<WindowOptions> = {}): Promise<TestWindow> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line !== ''),
      );
      done();
    },
  });
  const home = await tempDir();
  const configDir = await tempDir();
  const window = await startWindow({
    app: 'send',
    logger: pino({ level: 'trace' }, sink),
    configDir,
    home,
    open: false,
    ...options,
  });
  onCleanup('window', () => window.close());
  const url = new URL(window.url);
  const token = url.searchParams.get('t')!;
  return {
    window,
    port: window.port,
    token,
    cookie: `ferry-window-${window.port}=${token}`,
    host: url.host,
    logs,
    home,
    configDir,
  };
}

/** An answer as read off the socket, its body as text. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to 127.0.0.1:`port` with exactly these headers (Host included). */
export async function request(
  port: number,
  options: Omit<HttpRequestOptions, 'exactHeaders' | 'localAddress'>,
): Promise<Answer> {
  const answer = await httpRequest(port, { ...options, exactHeaders: true });
  return { ...answer, body: answer.body.toString('utf8') };
}

/** The headers of a request the window's own page makes to an action. */
export function pageHeaders(
  w: TestWindow,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    Host: w.host,
    Cookie: w.cookie,
    Origin: `http://${w.host}`,
    'Content-Type': 'application/json',
    ...extra,
  };
}

/** POSTs `input` as the page would, and parses the JSON answer. */
export async function post(
  w: TestWindow,
  path: string,
  input: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes, checked by the tests
): Promise<{ status: number; json: any }> {
  const answer = await request(w.port, {
    method: 'POST',
    path,
    headers: pageHeaders(w),
    body: JSON.stringify(input),
  });
  return { status: answer.status, json: JSON.parse(answer.body) };
}

/** One server-sent event. */
export interface SseEvent {
  event: string;
  data: string;
}

/** An open event stream: the events so far, and a wait for the next matching one. */
export interface EventStream {
  readonly events: SseEvent[];
  /** Waits until some event after index `from` matches; returns its index. */
  waitFor(match: (event: SseEvent) => boolean, from?: number): Promise<number>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens `/api/events` with the window's cookie. */
export function openEvents(w: TestWindow): Promise<EventStream> {
  return within(
    new Promise<EventStream>((resolve, reject) => {
      const events: SseEvent[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      const req = http.get(
        {
          host: '127.0.0.1',
          port: w.port,
          path: '/api/events',
          headers: { Host: w.host, Cookie: w.cookie },
          setHost: false,
          agent: false,
        },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`events answered ${res.statusCode}`));
            return;
          }
          const ended = new Promise<void>((done) => res.on('close', () => done()));
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let end = buffer.indexOf('\n\n');
            while (end !== -1) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              let event = 'message';
              let data = '';
              for (const line of block.split('\n')) {
                if (line.startsWith('event: ')) event = line.slice(7);
                else if (line.startsWith('data: ')) data += line.slice(6);
              }
              if (data !== '' || event !== 'message') events.push({ event, data });
              end = buffer.indexOf('\n\n');
            }
            for (const waiter of waiters) waiter();
          });
          const stream: EventStream = {
            events,
            ended,
            waitFor(match, from = 0) {
              return within(
                new Promise<number>((done) => {
                  const check = () => {
                    const index = events.findIndex((e, i) => i >= from && match(e));
                    if (index === -1) return;
                    waiters.delete(check);
                    done(index);
                  };
                  waiters.add(check);
                  check();
                }),
                'an event',
                () => JSON.stringify(events),
              );
            },
            close: () => req.destroy(),
          };
          onCleanup('event stream', () => req.destroy());
          resolve(stream);
        },
      );
      req.on('error', reject);
    }),
    'the event stream',
  );
}

/** The `{ slice, value }` of a `state` event. */
export function stateOf(event: SseEvent): { slice: string; value: unknown } {
  return JSON.parse(event.data) as { slice: string; value: unknown };
}
