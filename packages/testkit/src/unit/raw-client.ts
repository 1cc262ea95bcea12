import { once } from 'node:events';
import net from 'node:net';
import { onCleanup } from '../cleanup.ts';
import { readFrames } from './frames.ts';
import { within } from './waits.ts';

/**
 * A TCP client to 127.0.0.1:`port`, from `localAddress`, that says nothing by itself but
 * `first` (e.g. MAGIC: a Ferry connection that has started its preamble, not an HTTP request);
 * `closed` resolves with every byte received once the server hangs up. Destroyed after the test.
 */
export async function idleClient(port: number, localAddress = '127.0.0.1', first?: Uint8Array) {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  onCleanup('idle client', () => socket.destroy());
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  // Not events.once: it would reject on a socket error, and a reset is a way to hang up too.
  const closed = new Promise<Buffer>((resolve) => {
    socket.once('close', () => resolve(Buffer.concat(received)));
  });
  await within(once(socket, 'connect'), 'connect');
  if (first) socket.write(first);
  return { socket, closed };
}

/**
 * A raw TCP client: keeps every byte it receives and decodes the frames after the preamble;
 * sends `first` once connected, as {@link idleClient} does.
 */
export async function rawClient(port: number, first?: Uint8Array) {
  const { socket, closed } = await idleClient(port, '127.0.0.1', first);
  /** Every byte received, once the server has closed the connection. */
  const allBytes = () => within(closed, 'the server to close the connection');
  return {
    socket,
    allBytes,
    /** The frames received once the connection has closed, decoded. */
    frames: async () => readFrames(await allBytes()),
  };
}
