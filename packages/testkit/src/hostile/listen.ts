import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { onCleanup } from '../cleanup.ts';

/** A TCP server on 127.0.0.1 that is not a real ferry-send. */
export interface FakeServer {
  readonly port: number;
  readonly address: string;
  /** Sockets accepted so far. */
  readonly sockets: readonly Socket[];
}

/** Listens on 127.0.0.1:0 and hands every connection to `onSocket`; closed after the test. */
export async function startFakeServer(onSocket: (socket: Socket) => void): Promise<FakeServer> {
  const sockets: Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    // The peer under test may reset the connection; that is its business, not a test failure.
    socket.on('error', () => {});
    onSocket(socket);
  });
  return { ...(await listenOnLoopback(server, sockets, 'fake server')), sockets };
}

/**
 * Starts `server` on 127.0.0.1 at a free port. After the test, destroys every socket in
 * `sockets` (as it is then) and closes the server.
 */
export async function listenOnLoopback(
  server: net.Server,
  sockets: Iterable<Socket>,
  what: string,
): Promise<{ port: number; address: string }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(what, async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { port, address: `127.0.0.1:${port}` };
}

/** A port on 127.0.0.1 where nothing listens: bound, noted, closed. */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  return port;
}
