/**
 * Reading an existing TLS socket into one reused buffer: the receiver's fast path for
 * encrypted transfers. These tests also pin that Node still has the fields it relies on, so a
 * Node upgrade that removes them fails here rather than silently slowing transfers down.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateIdentity } from '../../src/node/identity.ts';
import { canReadIntoUserBuffer, readIntoUserBuffer } from '../../src/node/user-buffer.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TLS server socket and a TLS client made over an already connected TCP socket, as Ferry does. */
async function tlsPair(): Promise<{ server: tls.TLSSocket; client: tls.TLSSocket }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-user-buffer-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const identity = await loadOrCreateIdentity(dir);
  const listener = tls.createServer({ key: identity.key, cert: identity.cert, minVersion: 'TLSv1.3' });
  cleanups.push(() => new Promise((resolve) => listener.close(resolve)));
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const raw = net.connect((listener.address() as AddressInfo).port, '127.0.0.1');
  await once(raw, 'connect');
  const client = tls.connect({ socket: raw, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
  cleanups.push(() => client.destroy());
  await once(client, 'secureConnect');
  const [server] = await accepted;
  cleanups.push(() => server.destroy());
  return { server, client };
}

/** Resolves once `socket` holds at least `bytes` unread bytes while paused. */
async function buffered(socket: tls.TLSSocket, bytes: number): Promise<void> {
  while (socket.readableLength < bytes) await once(socket, 'readable');
}

describe('readIntoUserBuffer', { timeout: 10_000 }, () => {
  it('is available for a TLS socket made over a connected socket on this version of Node', async () => {
    const { client } = await tlsPair();
    expect(canReadIntoUserBuffer(client)).toBe(true);
  });

  it('is not available for a socket that already reads into a buffer of its own, nor for one without a handle', async () => {
    const server = net.createServer();
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const own = net.connect({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      onread: { buffer: Buffer.alloc(1024), callback: () => true },
    });
    cleanups.push(() => own.destroy());
    await once(own, 'connect');
    expect(canReadIntoUserBuffer(own)).toBe(false);
    expect(canReadIntoUserBuffer(new net.Socket())).toBe(false);
    expect(() => readIntoUserBuffer(new net.Socket(), Buffer.alloc(16), () => true)).toThrow(/cannot read into a buffer/);
  });

  it('delivers what was buffered before the switch first, then every byte in order through the one buffer', async () => {
    const { server, client } = await tlsPair();
    const early = randomBytes(3000);
    const rest = randomBytes(3 * 1024 * 1024 + 17);
    client.pause();
    server.write(early);
    await buffered(client, early.byteLength);

    const buffer = Buffer.alloc(64 * 1024);
    const chunks: Buffer[] = [];
    let throughBuffer = 0;
    const ended = once(client, 'end');
    readIntoUserBuffer(client, buffer, (chunk) => {
      if (chunk.buffer === buffer.buffer) {
        throughBuffer++;
        expect(chunk.byteLength).toBeLessThanOrEqual(buffer.byteLength);
      }
      chunks.push(Buffer.from(chunk));
      return true;
    });
    server.end(rest);
    await ended;

    expect(Buffer.concat(chunks).equals(Buffer.concat([early, rest]))).toBe(true);
    expect(throughBuffer).toBeGreaterThan(0);
  });

  it('stops reading soon after the reader returns false, and goes on from there once resumed', async () => {
    const { server, client } = await tlsPair();
    client.pause();
    const payload = randomBytes(4 * 1024 * 1024);
    const chunks: Buffer[] = [];
    let paused = false;
    let bytesWhilePaused = 0;
    const ended = once(client, 'end');
    readIntoUserBuffer(client, Buffer.alloc(16 * 1024), (chunk) => {
      if (paused) bytesWhilePaused += chunk.byteLength;
      chunks.push(Buffer.from(chunk));
      if (chunks.length === 1) paused = true;
      return !paused;
    });
    server.end(payload);
    while (chunks.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // Records already read off the socket are still decrypted and handed over in the same turn
    // (the reader must take them), but the socket itself has stopped reading: the rest of the
    // 4 MiB waits in the kernel until resume.
    await new Promise((resolve) => setImmediate(resolve));
    expect((client as unknown as { _handle: { reading: boolean } })._handle.reading).toBe(false);
    expect(bytesWhilePaused).toBeLessThan(256 * 1024);
    paused = false;
    client.resume();
    await ended;
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
  });
});
