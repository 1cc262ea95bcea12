/**
 * A sender core on loopback with a link (PROTOCOL.md §15), and HTTP clients for it: Node's
 * http client for well-formed requests, a raw socket for everything Node would refuse to send.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { scanOffer } from '@ferry/engine';
import { type HttpAnswer, httpRequest } from '@ferry/testkit/unit';
import { hashOffer } from '../../src/link/digests.ts';
import { createLink, type LinkEvents, type LinkOptions } from '../../src/link/server.ts';
import type { SenderOptions } from '../../src/sender.ts';
import {
  EventLog,
  onCleanup,
  silentLogger,
  startSenderOffering,
  tempDir,
  within,
} from '../helpers.ts';

/** The token of every test link: 22 characters of base64url, like a real one. */
export const TOKEN = 'AAAAAAAAAAAAAAAAAAAAAA';

export const LINK_EVENTS: readonly (keyof LinkEvents)[] = [
  'link',
  'download-start',
  'download-progress',
  'download-done',
  'download-failed',
  'link-ended',
];

/**
 * A sender core on 127.0.0.1 with a link over `files` (relative path → content; folders are
 * made for nested paths). `items` are the top-level names offered, in order (default: every
 * top-level name of `files`, sorted).
 */
export async function startLinkSender(
  files: Readonly<Record<string, string | Buffer>>,
  options: Partial<LinkOptions> = {},
  items?: readonly string[],
  senderOptions: Partial<SenderOptions> = {},
) {
  const dir = await tempDir();
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  const tops = items ?? [...new Set(Object.keys(files).map((name) => name.split('/')[0]!))].sort();
  const paths = tops.map((name) => path.join(dir, name));
  const offer = await scanOffer(paths);
  const digests = await hashOffer(offer);
  const link = createLink({
    offer,
    digests,
    logger: silentLogger,
    name: 'test-sender',
    token: TOKEN,
    ...options,
  });
  const events = new EventLog<LinkEvents>(link, LINK_EVENTS);
  onCleanup('link', () => link.close());
  const started = await startSenderOffering(paths, { ...senderOptions, http: link });
  const base = `/t/${TOKEN}/`;
  return { ...started, link, events, dir, offer, digests, base };
}

/** An answer as Node's client read it. */
export type Answer = HttpAnswer;

/** One request with Node's http client, on a connection of its own. */
export function request(
  port: number,
  target: string,
  options: { method?: string; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<Answer> {
  return httpRequest(port, { ...options, path: target });
}

/** Writes `text` as it is on a new connection; resolves with everything read until the server closes it. */
export function rawRequest(
  port: number,
  text: string | Buffer,
  options: { end?: boolean } = {},
): Promise<string> {
  const done = new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(text);
    if (options.end) socket.end();
  });
  return within(done, 'the server to close a raw HTTP connection');
}

/** The status code of a raw answer's first line, or 0 when nothing came back. */
export function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0);
}
