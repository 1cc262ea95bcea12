import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Deadline, peekFirstByte } from '../../src/node/secure.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A loopback server and a client connected to it: the server's end and the client's. */
async function pair(): Promise<{ server: net.Socket; client: net.Socket }> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const [server] = await accepted;
  cleanups.push(() => {
    client.destroy();
    server.destroy();
    listener.close();
  });
  return { server, client };
}

describe('peekFirstByte (PROTOCOL.md §15.1)', () => {
  it('A13: gives the first byte and puts every byte back for the next reader', async () => {
    const { server, client } = await pair();
    const deadline = new Deadline(5_000, server, 'test');
    client.write('GET / HTTP/1.1\r\n');
    expect(await peekFirstByte(server, deadline)).toBe(0x47);
    deadline.clear();
    const chunks: Buffer[] = [];
    server.on('data', (chunk: Buffer) => chunks.push(chunk));
    server.resume();
    client.end('Host: x\r\n\r\n');
    await once(server, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });

  it('A13: a connection that closes before any byte rejects as the preamble exchange would (ERR_TRUNCATED)', async () => {
    const { server, client } = await pair();
    const deadline = new Deadline(5_000, server, 'test');
    const peeked = peekFirstByte(server, deadline);
    client.end();
    await expect(peeked).rejects.toMatchObject({ code: 'ERR_TRUNCATED' });
    deadline.clear();
  });

  it('A12: a connection that sends nothing rejects at the deadline with ERR_TIMEOUT', async () => {
    const { server } = await pair();
    const deadline = new Deadline(50, server, 'the peer did not greet in time');
    await expect(peekFirstByte(server, deadline)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
  });
});
