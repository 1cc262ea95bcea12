import { once } from 'node:events';
import net, { type Socket } from 'node:net';
import { onCleanup } from '../cleanup.ts';

/** Two connected loopback sockets, `[accepted, client]`, destroyed after the test. */
export async function socketPair(): Promise<[Socket, Socket]> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [socket] = await accepted;
  server.close();
  for (const end of [socket, client]) {
    // Either end may be reset by the side under test; that must not fail the run.
    end.on('error', () => {});
    onCleanup('socket', async () => void end.destroy());
  }
  return [socket, client];
}
