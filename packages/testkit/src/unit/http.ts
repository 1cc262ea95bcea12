import http from 'node:http';
import { within } from './waits.ts';

/** An answer as Node's client read it. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  readonly method?: string;
  /** The request target; `/` by default. */
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly localAddress?: string;
  /** Send exactly `headers`: no `Host` of Node's own (for tests of the Host check). */
  readonly exactHeaders?: boolean;
}

/** One request to 127.0.0.1:`port` on a connection of its own, read whole, within WAIT_MS. */
export function httpRequest(port: number, options: HttpRequestOptions = {}): Promise<HttpAnswer> {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/';
  const done = new Promise<HttpAnswer>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: options.headers ?? {},
        setHost: !options.exactHeaders,
        agent: false,
        localAddress: options.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
  return within(done, `${method} ${path}`);
}
