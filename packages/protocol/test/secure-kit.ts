/**
 * Loopback servers and clients for the security tests: a machine's identity and remembered
 * peers in a temp folder, sender codes the test can read, both sides of a connection, and a
 * raw TLS client that writes frames by hand.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { PreambleFlag } from '../src/constants.ts';
import type { FerryError } from '../src/errors.ts';
import { encodePreamble } from '../src/frame/encode.ts';
import { normalizeCode } from '../src/pairing/code.ts';
import { PairingCodes } from '../src/pairing/codes.ts';
import { type Identity, loadOrCreateIdentity } from '../src/node/identity.ts';
import {
  Deadline,
  exchangePreamble,
  type Secured,
  secureClient,
  secureServer,
} from '../src/node/secure.ts';
import { derivePasswordScalar } from '../src/node/spake2.ts';
import type { TicketStore } from '../src/node/tickets.ts';
import { type PeerRole, TrustStore } from '../src/node/trust.ts';

/** What the running test started: stopped and removed by {@link runCleanups}, last first. */
export const cleanups: (() => Promise<unknown> | unknown)[] = [];

/** Stops and removes what the test started; for `afterEach`. */
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** A temp folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-secure-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A machine: its identity and the peers of one role it remembered, in a folder of its own. */
export async function machine(
  trusts: PeerRole,
): Promise<{ identity: Identity; trust: TrustStore; dir: string }> {
  const dir = await tempDir();
  return {
    identity: await loadOrCreateIdentity(dir),
    trust: await TrustStore.open(dir, trusts),
    dir,
  };
}

/** Sender codes whose current code the test can read. */
export function codes(): {
  pairing: PairingCodes;
  current: () => string;
  events: { event: string; payload: unknown }[];
} {
  const pairing = new PairingCodes(derivePasswordScalar);
  let code = '';
  const events: { event: string; payload: unknown }[] = [];
  pairing.on('code', (event) => {
    code = normalizeCode(event.code)!;
    events.push({ event: 'code', payload: event });
  });
  pairing.on('attempt-failed', (event) => events.push({ event: 'attempt-failed', payload: event }));
  pairing.on('closed', (event) => events.push({ event: 'closed', payload: event }));
  pairing.start();
  return { pairing, current: () => code, events };
}

/** Bounded: a hung handshake fails the test instead of hanging it. */
export function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What the sender side of one connection ended with. */
export type ServerResult = { secured: Secured } | { error: unknown };

/** A listening server that runs the sender's side on every connection. */
export async function server(run: (socket: net.Socket, deadline: Deadline) => Promise<Secured>) {
  const results: Promise<ServerResult>[] = [];
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    const deadline = new Deadline(5_000, socket, 'test deadline');
    results.push(
      run(socket, deadline)
        .then((secured) => ({ secured }))
        .catch((error: unknown) => ({ error }))
        .finally(() => deadline.clear()),
    );
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => listener.close(resolve));
  });
  const { port } = listener.address() as AddressInfo;
  return {
    port,
    async result(index = 0): Promise<ServerResult> {
      for (let i = 0; i < 200 && !results[index]; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      return within(results[index]!, 'the server side');
    },
  };
}

/** A TCP connection to the loopback server, destroyed after the test. */
export async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  cleanups.push(() => socket.destroy());
  return socket;
}

/** Runs the receiver's side of one connection. */
export async function client(
  port: number,
  security: Omit<Parameters<typeof secureClient>[1], 'host'> & { host?: string },
) {
  const socket = await connect(port);
  const deadline = new Deadline(5_000, socket, 'test deadline');
  try {
    await exchangePreamble({ socket }, 'client', true, deadline);
    return await within(
      secureClient(socket, { host: '127.0.0.1', ...security }, deadline),
      'the client side',
    );
  } finally {
    deadline.clear();
  }
}

/** The sender's side: preambles, then secureServer with these stores. */
export function serverSide(
  identity: Identity,
  options: { trust?: TrustStore; pairing?: PairingCodes; tickets?: TicketStore } = {},
) {
  return async (socket: net.Socket, deadline: Deadline) => {
    await exchangePreamble({ socket }, 'server', true, deadline);
    return secureServer(socket, { identity, ...options }, deadline);
  };
}

/** The error the sender side failed with; fails the test if it succeeded. */
export function errorOf(result: ServerResult): FerryError {
  if (!('error' in result)) throw new Error('the server side succeeded');
  return result.error as FerryError;
}

/** A TLS client that passes the preamble and then writes raw frames. */
export async function rawTlsClient(port: number, identity: Identity) {
  const socket = await connect(port);
  socket.write(encodePreamble(1, PreambleFlag.TLS));
  await once(socket, 'data');
  const secure = tls.connect({
    socket,
    key: identity.key,
    cert: identity.cert,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  await once(secure, 'secureConnect');
  secure.on('error', () => {});
  cleanups.push(() => secure.destroy());
  return secure;
}

/** The next frame the raw client receives, decoded as JSON. */
export async function nextFrame(
  secure: tls.TLSSocket,
): Promise<{ type: number; message: Record<string, string> }> {
  const [chunk] = (await within(once(secure, 'data'), 'a frame')) as [Buffer];
  return { type: chunk[0]!, message: JSON.parse(chunk.subarray(5).toString('utf8')) };
}
