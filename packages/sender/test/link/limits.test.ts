import { randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LINK_LIMITS } from '../../src/link/server.ts';
import { receiveAll, runCleanup, tempDir, within } from '../helpers.ts';
import { rawRequest, request, startLinkSender, statusOf, TOKEN } from './helpers.ts';

afterEach(runCleanup);

const MiB = 1024 * 1024;

describe('wrong tokens are slowed down per address (L2)', () => {
  it(`L2: after ${LINK_LIMITS.freeWrongTokens} wrong tokens from one address within a minute, each further 404 waits 1 s doubling to 10 s; other addresses are not slowed`, async () => {
    let now = 0;
    const delays: number[] = [];
    const { port } = await startLinkSender(
      { 'a.txt': 'alpha' },
      {
        clock: () => now,
        delay: async (ms) => {
          delays.push(ms);
        },
      },
    );
    const wrong = `/t/${'B'.repeat(22)}/`;
    const answers = [];
    for (let i = 0; i < 10; i++)
      answers.push(await request(port, wrong, { localAddress: '127.0.0.2' }));
    expect(answers.every((answer) => answer.status === 404)).toBe(true);
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 10_000]);
    // A missing token counts the same; another address starts from nothing.
    expect((await request(port, '/', { localAddress: '127.0.0.3' })).status).toBe(404);
    expect(delays).toHaveLength(5);
    // A minute later the address is forgiven.
    now += LINK_LIMITS.wrongTokenWindowMs + 1;
    for (let i = 0; i < LINK_LIMITS.freeWrongTokens; i++)
      await request(port, wrong, { localAddress: '127.0.0.2' });
    expect(delays).toHaveLength(5);
    // The right token is never slowed down.
    expect((await request(port, `/t/${TOKEN}/`, { localAddress: '127.0.0.2' })).status).toBe(200);
    expect(delays).toHaveLength(5);
  });
});

describe('request heads: size and time (L4)', () => {
  it('L4: an oversized request line and a header flood are refused with 431 and closed; a receiver is still served', async () => {
    const { port, base } = await startLinkSender({ 'a.txt': 'alpha' });
    const longLine = await rawRequest(
      port,
      `GET ${base}${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(statusOf(longLine)).toBe(431);
    const flood = await rawRequest(
      port,
      `GET ${base} HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(5_000)}\r\n`,
    );
    expect(statusOf(flood)).toBe(431);
    const { result } = await receiveAll(port);
    expect(result.saved).toHaveLength(1);
  });

  it('L4: a slow-loris client whose headers never end is answered 408 and closed at the header timeout; a receiver is served meanwhile', async () => {
    const { port, base } = await startLinkSender(
      { 'a.txt': 'alpha' },
      { limits: { headersTimeoutMs: 300, checkingIntervalMs: 50 } },
    );
    const slow = rawRequest(port, `GET ${base} HTTP/1.1\r\nHost: x\r\nX-Slow: `);
    const { result } = await receiveAll(port);
    expect(result.saved).toHaveLength(1);
    expect(statusOf(await slow)).toBe(408);
  });

  it('L4: a client that connects and sends one letter only is closed at the header timeout', async () => {
    const { port } = await startLinkSender(
      { 'a.txt': 'alpha' },
      { limits: { headersTimeoutMs: 300, checkingIntervalMs: 50 } },
    );
    const answer = await rawRequest(port, 'G');
    expect([0, 408]).toContain(statusOf(answer));
  });
});

describe('a file that changes (L5)', () => {
  it('L5: a file changed since the offer is refused with 410 before any byte of it', async () => {
    const { port, base, dir } = await startLinkSender({ 'a.txt': 'alpha' });
    const file = await open(path.join(dir, 'a.txt'), 'r+');
    await file.write('ALPHA', 0);
    await file.close();
    const got = await request(port, `${base}f/0/a.txt`);
    expect(got.status).toBe(410);
    expect(got.body.toString()).not.toContain('ALPHA');
  });

  it('L5: a file changed while it is downloaded cuts the response before its end: never a complete body of mixed bytes', async () => {
    const size = 32 * MiB;
    const { port, base, dir, events } = await startLinkSender({ 'big.bin': randomBytes(size) });
    const got = await within(
      new Promise<{ bytes: number; aborted: boolean }>((resolve) => {
        const req = http.get(
          { host: '127.0.0.1', port, path: `${base}f/0/big.bin`, agent: false },
          (res) => {
            expect(res.statusCode).toBe(200);
            let bytes = 0;
            let changed = false;
            res.on('data', (chunk: Buffer) => {
              bytes += chunk.byteLength;
              if (changed) return;
              changed = true;
              // The first bytes are in: the file is rewritten in place, its size kept.
              res.pause();
              void (async () => {
                const file = await open(path.join(dir, 'big.bin'), 'r+');
                await file.write(Buffer.alloc(1024, 1), 0, 1024, size - 1024);
                await file.close();
                res.resume();
              })();
            });
            res.on('close', () => resolve({ bytes, aborted: !res.complete }));
          },
        );
        req.on('error', () => {});
      }),
      'the changed download to end',
    );
    expect(got.aborted).toBe(true);
    expect(got.bytes).toBeLessThan(size);
    expect((await events.waitFor('download-failed')).message).toMatch(/changed/);
    expect(events.all('download-done')).toEqual([]);
  });
});

describe('many downloads at once (L8)', () => {
  it('L8: a downloader that hangs up mid-file ends its download as incomplete; the next one is served whole', async () => {
    const size = 32 * MiB;
    const content = randomBytes(size);
    const { port, base, events } = await startLinkSender({ 'big.bin': content });
    const cut = await within(
      new Promise<number>((resolve) => {
        const req = http.get(
          { host: '127.0.0.1', port, path: `${base}f/0/big.bin`, agent: false },
          (res) => {
            let bytes = 0;
            res.on('data', (chunk: Buffer) => {
              bytes += chunk.byteLength;
              // The first bytes are in: the downloader goes away.
              req.destroy();
            });
            res.on('close', () => resolve(bytes));
          },
        );
        req.on('error', () => {});
      }),
      'the downloader to hang up',
    );
    expect(cut).toBeLessThan(size);
    const done = await events.waitFor('download-done');
    expect(done).toMatchObject({ id: 1, complete: false });
    expect(done.bytes).toBeLessThan(size);
    const whole = await request(port, `${base}f/0/big.bin`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(content)).toBe(true);
    const dones = events.all('download-done');
    expect(dones.at(-1)).toMatchObject({ id: 2, bytes: size, complete: true });
    expect(events.all('download-failed')).toEqual([]);
  });

  it('L8: downloaders that hang up as soon as they ask are never counted as complete: --link-downloads 1 waits for a whole one', async () => {
    const size = 4 * MiB;
    const content = randomBytes(size);
    const { port, base, events, link } = await startLinkSender(
      { 'big.bin': content },
      { downloads: 1 },
    );
    let ended = false;
    link.on('link-ended', () => {
      ended = true;
    });
    const accepted = serverSockets(link);
    // Each asks and goes away at once: most hang up while the file is being opened, before
    // the download has started listening for its end.
    for (let i = 0; i < 20; i++) {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.write(`GET ${base}f/0/big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
        socket.destroy();
      });
      socket.on('error', () => {});
      await accepted.closed(i);
    }
    // Every download begun has ended (with the fix, in the same turn it began).
    await events.waitUntil(
      () => events.all('download-done').length === events.all('download-start').length,
      'every cut download to end',
    );
    expect(events.all('download-done').filter((done) => done.complete)).toEqual([]);
    expect(ended).toBe(false);
    const whole = await request(port, `${base}f/0/big.bin`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(content)).toBe(true);
    await events.waitFor('link-ended');
    expect(events.all('download-done').filter((done) => done.complete)).toHaveLength(1);
  });

  it('L8: a downloader that hangs up while the receiving program is found sees its download end as incomplete', async () => {
    const dir = await tempDir();
    const program = path.join(dir, 'ferry-receive.mjs');
    await writeFile(program, 'console.log("hello");\n');
    let asked: () => void = () => {};
    const askedFor = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let accepted: ReturnType<typeof serverSockets> | undefined;
    // Finding the program takes a moment (it may be built first); the downloader is gone by
    // then: the program is found once the server has seen the connection close.
    const { port, base, events, link } = await startLinkSender(
      { 'a.txt': 'a' },
      {
        program: async () => {
          asked();
          await accepted!.closed(0);
          return program;
        },
      },
    );
    accepted = serverSockets(link);
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write(`GET ${base}ferry-receive.mjs HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
    socket.on('error', () => {});
    await askedFor;
    socket.destroy();
    const done = await events.waitFor('download-done');
    expect(done).toMatchObject({ bytes: 0, complete: false });
    const whole = await request(port, `${base}ferry-receive.mjs`);
    expect(whole.status).toBe(200);
    expect(whole.body.toString()).toBe('console.log("hello");\n');
  });

  it('L8: 200 concurrent downloads keep the heap and buffers bounded, and a Ferry receiver is served meanwhile', async () => {
    const size = 4 * MiB;
    const count = 200;
    const { port, base, events } = await startLinkSender(
      { 'big.bin': randomBytes(size) },
      {},
      undefined,
      {
        maxConnections: 512,
        maxConnectionsPerHost: 512,
        maxPending: 512,
        maxPendingPerHost: 512,
      },
    );
    const live = () => {
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    };
    const before = live();
    let peak = before;
    let sampled = 0;
    const sample = () => {
      if (++sampled % 50 === 0) peak = Math.max(peak, live());
    };
    const paused: http.IncomingMessage[] = [];
    let onStarted = () => {};
    const allStarted = new Promise<void>((resolve) => {
      onStarted = () => {
        if (paused.length === count) resolve();
      };
    });
    const downloads = Array.from(
      { length: count },
      () =>
        new Promise<number>((resolve, reject) => {
          const req = http.get(
            { host: '127.0.0.1', port, path: `${base}f/0/big.bin`, agent: false },
            (res) => {
              res.pause();
              paused.push(res);
              onStarted();
              let bytes = 0;
              res.on('data', (chunk: Buffer) => {
                bytes += chunk.byteLength;
                sample();
              });
              res.on('end', () => resolve(bytes));
              res.on('error', reject);
            },
          );
          req.on('error', reject);
        }),
    );
    await within(allStarted, 'every download to start', () => '', 60_000);
    // Every client holds its answer unread: the sender must not read the files ahead meanwhile.
    // Served while the 200 downloads run in this same process: bounded like them.
    const received = receiveAll(port, { waitMs: 120_000 });
    peak = Math.max(peak, live());
    for (const res of paused) res.resume();
    const sizes = await within(
      Promise.all(downloads),
      'every download to finish',
      () => '',
      120_000,
    );
    peak = Math.max(peak, live());
    expect(sizes.every((bytes) => bytes === size)).toBe(true);
    expect((await received).result.saved).toHaveLength(1);
    // Buffered whole, 200 downloads would hold 800 MiB; together they hold at most the read
    // budget plus 2 × 64 KiB each (§15.4).
    console.info(
      `L8: ${count} downloads of ${size / MiB} MiB: heap and buffers grew by ${Math.round((peak - before) / MiB)} MiB at most`,
    );
    expect(peak - before).toBeLessThan(256 * MiB);
    expect(events.all('download-done').filter((done) => done.complete)).toHaveLength(count);
  }, 180_000);
});

/**
 * The connections `link` is handed by the sender, in order: `closed(i)` resolves once the
 * server has seen the `i`-th one close (its own close handling has run by then).
 */
function serverSockets(link: { accept(socket: net.Socket): void }) {
  const closes: Promise<unknown>[] = [];
  let arrived: (() => void)[] = [];
  const accept = link.accept.bind(link);
  link.accept = (socket: net.Socket) => {
    // Listened for before the server runs: its close cannot pass unseen.
    closes.push(once(socket, 'close'));
    accept(socket);
    const waiters = arrived;
    arrived = [];
    for (const waiter of waiters) waiter();
  };
  return {
    closed(index: number): Promise<void> {
      const closing = async () => {
        while (closes[index] === undefined) await new Promise<void>((r) => arrived.push(r));
        await closes[index];
      };
      return within(closing(), `connection ${index} to close`);
    },
  };
}
