import { once } from 'node:events';
import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameType } from '../../src/constants.ts';
import {
  ConnectionClosedError,
  ErrorCode,
  PeerError,
  ProtocolError,
  TimeoutError,
} from '../../src/errors.ts';
import { encodePreamble } from '../../src/frame/encode.ts';
import {
  Connection,
  type ConnectionOptions,
  peerError,
  unexpectedFrame,
} from '../../src/node/connection.ts';
import { concat, frame, header, preamble, toHex, utf8Bytes } from '../helpers.ts';

const HELLO = { software: 'ferry/test', name: 'alice', features: [] };

/** Everything a test opened, closed after it whatever happens. */
const opened: { sockets: Socket[]; servers: Server[]; timers: NodeJS.Timeout[] } = {
  sockets: [],
  servers: [],
  timers: [],
};

afterEach(async () => {
  for (const timer of opened.timers.splice(0)) clearInterval(timer);
  for (const socket of opened.sockets.splice(0)) socket.destroy();
  await Promise.all(
    opened.servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

/** A connected loopback pair: the accepted socket and the client socket. */
async function socketPair(): Promise<{ accepted: Socket; client: Socket }> {
  const server = net.createServer();
  opened.servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const connection = once(server, 'connection');
  const client = net.connect(port, '127.0.0.1');
  opened.sockets.push(client);
  // Raw sockets may be reset by the side under test; that must not fail the run.
  client.on('error', () => {});
  const [[accepted]] = (await Promise.all([connection, once(client, 'connect')])) as [
    [Socket],
    unknown[],
  ];
  opened.sockets.push(accepted);
  accepted.on('error', () => {});
  return { accepted, client };
}

/** A Connection on the server side, with a raw socket as the peer. */
async function withRawPeer(
  options: ConnectionOptions = {},
): Promise<{ conn: Connection; peer: Socket }> {
  const { accepted, client } = await socketPair();
  return { conn: new Connection(accepted, options), peer: client };
}

/** Two Connections talking to each other. */
async function connectionPair(
  options: ConnectionOptions = {},
): Promise<{ sender: Connection; receiver: Connection }> {
  const { accepted, client } = await socketPair();
  return { sender: new Connection(accepted, options), receiver: new Connection(client, options) };
}

/** Reads the first `count` bytes a raw socket receives. */
async function readBytes(socket: Socket, count: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    parts.push(chunk);
    total += chunk.byteLength;
    if (total >= count) break;
  }
  return concat(...parts).subarray(0, count);
}

describe('Connection', { timeout: 5_000 }, () => {
  it('sends the preamble at once and reads the peer’s', async () => {
    const { conn, peer } = await withRawPeer();
    const greeting = readBytes(peer, 12);
    peer.write(preamble());
    await conn.readPreamble();
    expect(toHex(await greeting)).toBe(toHex(encodePreamble()));
  });

  it('exchanges preambles between two Connections', async () => {
    const { sender, receiver } = await connectionPair();
    await Promise.all([sender.readPreamble(), receiver.readPreamble()]);
    expect(sender.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(receiver.remote).toBe(`127.0.0.1:${receiver.socket.remotePort}`);
  });

  it('sends and reads control messages, PING and DATA in order', async () => {
    const { sender, receiver } = await connectionPair();
    await receiver.send(FrameType.HELLO, HELLO);
    await receiver.ping();
    expect(await sender.read()).toEqual({ kind: 'message', type: FrameType.HELLO, message: HELLO });
    expect(await sender.read()).toEqual({ kind: 'ping' });

    await sender.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
    await sender.sendData(utf8Bytes('hel'));
    await sender.sendData(utf8Bytes('lo'));
    await sender.send(FrameType.END, {});
    expect(await receiver.read()).toEqual({
      kind: 'message',
      type: FrameType.FILE_START,
      message: { id: 0, offset: 0, size: 5 },
    });
    let text = '';
    for (;;) {
      const item = await receiver.read();
      if (item?.kind !== 'data') {
        expect(item).toEqual({ kind: 'message', type: FrameType.END, message: {} });
        break;
      }
      text += Buffer.from(item.bytes).toString();
    }
    expect(text).toBe('hello');
    const fileStart = '{"id":0,"offset":0,"size":5}'.length;
    expect(receiver.bytesIn).toBe(12 + (5 + fileStart) + (5 + 3) + (5 + 2) + (5 + 2));
  });

  it('sends a DATA frame built in place as header and payload, in one write', async () => {
    const { conn, peer } = await withRawPeer({ preambleDone: true });
    const frameBytes = Buffer.alloc(5 + 6, 0xee);
    frameBytes.write('ferry!', 5);
    const writes = vi.spyOn(conn.socket, 'write');
    const received = readBytes(peer, 11);
    const flushed = new Promise<void>((resolve) => {
      conn.sendDataInPlace(frameBytes, resolve).catch(() => {});
    });
    expect(toHex(await received)).toBe(toHex(frame(FrameType.DATA, 'ferry!')));
    await flushed;
    expect(writes).toHaveBeenCalledTimes(1);
  });

  it('refuses a DATA frame built in place without room for a header and a payload', async () => {
    const { conn } = await withRawPeer({ preambleDone: true });
    expect(() => conn.sendDataInPlace(new Uint8Array(5))).toThrow(RangeError);
  });

  /** Feeds `wire` in 16 KiB reads through one reused buffer, as an `onread` socket does. */
  function feedInReads(conn: Connection, wire: Uint8Array, between?: () => void): void {
    const reused = new Uint8Array(16 * 1024);
    for (let at = 0; at < wire.byteLength; at += reused.byteLength) {
      const piece = wire.subarray(at, at + reused.byteLength);
      reused.set(piece);
      conn.feed(reused.subarray(0, piece.byteLength));
      reused.fill(0);
      between?.();
    }
  }

  it('with external reads, hands on a DATA frame that came in many reads as one item once the frame ends', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const { conn } = await withRawPeer({ preambleDone: true, externalReads: true });
      const payload = new Uint8Array(200 * 1024).map((_, i) => i % 253);
      feedInReads(conn, concat(frame(FrameType.DATA, payload), frame(FrameType.END, '{}')));
      const data = await conn.read();
      expect(data?.kind).toBe('data');
      expect(toHex((data as { bytes: Uint8Array }).bytes)).toBe(toHex(payload));
      expect(await conn.read()).toEqual({ kind: 'message', type: FrameType.END, message: {} });
    } finally {
      vi.useRealTimers();
    }
  });

  it('with external reads, hands on what arrived of a slowly arriving DATA frame every 50 ms', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const { conn } = await withRawPeer({ preambleDone: true, externalReads: true });
      const payload = new Uint8Array(64 * 1024).map((_, i) => i % 251);
      // Four reads, 30 ms apart: what arrived is handed on after the second and at the frame's end.
      feedInReads(conn, frame(FrameType.DATA, payload), () => vi.advanceTimersByTime(30));
      const sizes: number[] = [];
      const parts: Uint8Array[] = [];
      while (parts.reduce((sum, part) => sum + part.byteLength, 0) < payload.byteLength) {
        const item = await conn.read();
        if (item?.kind !== 'data') throw new Error(`expected data, got ${item?.kind}`);
        sizes.push(item.bytes.byteLength);
        parts.push(Uint8Array.from(item.bytes));
      }
      expect(sizes.length).toBeGreaterThan(1);
      expect(toHex(concat(...parts))).toBe(toHex(payload));
    } finally {
      vi.useRealTimers();
    }
  });

  /** A TX_DATA frame: the offer id, then `bytes`. */
  function txData(offer: number, bytes: Uint8Array): Uint8Array {
    const payload = new Uint8Array(4 + bytes.byteLength);
    new DataView(payload.buffer).setUint32(0, offer);
    payload.set(bytes, 4);
    return frame(FrameType.TX_DATA, payload);
  }

  it('with external reads, hands on a TX_DATA frame that came in many reads whole, in memory of its own', async () => {
    const { conn } = await withRawPeer({ preambleDone: true, externalReads: true });
    const first = new Uint8Array(256 * 1024).map((_, i) => i % 253);
    const second = new Uint8Array(100 * 1024).map((_, i) => i % 241);
    // The reused read buffer is zeroed after each read: what the items hold must not change.
    feedInReads(conn, concat(txData(7, first), txData(9, second), frame(FrameType.BYE, '{}')));
    const items = [await conn.read(), await conn.read()];
    expect(items.map((item) => item?.kind === 'tx-data' && item.offer)).toEqual([7, 9]);
    const [a, b] = items as { bytes: Uint8Array }[];
    expect(toHex(a!.bytes)).toBe(toHex(first));
    expect(toHex(b!.bytes)).toBe(toHex(second));
    expect(await conn.read()).toEqual({ kind: 'message', type: FrameType.BYE, message: {} });
  });

  it('reuses a TX_DATA frame’s memory once its bytes are released, and never memory still in use', async () => {
    const { conn } = await withRawPeer({ preambleDone: true, externalReads: true });
    const chunk = (seed: number) => new Uint8Array(256 * 1024).map((_, i) => (i + seed) % 251);
    const read = async () => {
      const item = await conn.read();
      if (item?.kind !== 'tx-data') throw new Error(`expected TX_DATA, got ${item?.kind}`);
      return item;
    };
    feedInReads(conn, txData(1, chunk(1)));
    const kept = await read();
    feedInReads(conn, txData(1, chunk(2)));
    const released = await read();
    // The first is still in use: the second went elsewhere, and the first is intact.
    expect(released.bytes.buffer).not.toBe(kept.bytes.buffer);
    released.release!();
    released.release!();
    feedInReads(conn, txData(1, chunk(3)));
    const reused = await read();
    feedInReads(conn, txData(1, chunk(4)));
    const fresh = await read();
    // Released twice, given out once: the third reuses it, the fourth gets memory of its own.
    expect(reused.bytes.buffer).toBe(released.bytes.buffer);
    expect(fresh.bytes.buffer).not.toBe(reused.bytes.buffer);
    expect(fresh.bytes.buffer).not.toBe(kept.bytes.buffer);
    expect(toHex(kept.bytes)).toBe(toHex(chunk(1)));
    expect(toHex(reused.bytes)).toBe(toHex(chunk(3)));
    expect(toHex(fresh.bytes)).toBe(toHex(chunk(4)));
  });

  it('carries a large DATA frame intact while honouring backpressure', async () => {
    const { sender, receiver } = await connectionPair();
    const big = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < big.byteLength; i++) big[i] = i % 251;
    const sent = sender.sendData(big);
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < big.byteLength) {
      const item = await receiver.read();
      if (item?.kind !== 'data') throw new Error(`expected data, got ${item?.kind}`);
      parts.push(Uint8Array.from(item.bytes));
      total += item.bytes.byteLength;
    }
    await sent;
    expect(Buffer.compare(Buffer.from(concat(...parts)), Buffer.from(big))).toBe(0);
  });

  it('E5, E6: a reader that falls behind stops taking bytes from the socket, and the writer waits for it', async () => {
    const { sender, receiver } = await connectionPair();
    const chunk = new Uint8Array(1024 * 1024).fill(7);
    const frames = 64;
    let sentFrames = 0;
    const sending = (async () => {
      for (let i = 0; i < frames; i++) {
        await sender.sendData(chunk);
        sentFrames++;
      }
    })();
    // Nobody reads: the receiver stops taking bytes from its socket rather than buffer 64 MiB.
    await once(receiver.socket, 'pause');
    const heldWhileBehind = receiver.bytesIn;
    expect(heldWhileBehind).toBeLessThan(16 * 1024 * 1024);
    expect(sentFrames).toBeLessThan(frames);
    let total = 0;
    while (total < frames * chunk.byteLength) {
      const item = await receiver.read();
      if (item?.kind !== 'data') throw new Error(`expected data, got ${item?.kind}`);
      total += item.bytes.byteLength;
    }
    await sending;
    expect(total).toBe(frames * chunk.byteLength);
  });

  it('returns null when the peer closes cleanly between frames', async () => {
    const { sender, receiver } = await connectionPair();
    await receiver.send(FrameType.DONE, { saved: 1, failed: 0 });
    const closing = receiver.close();
    expect(await sender.read()).toEqual({
      kind: 'message',
      type: FrameType.DONE,
      message: { saved: 1, failed: 0 },
    });
    expect(await sender.read()).toBeNull();
    await closing;
    expect(receiver.socket.destroyed).toBe(true);
  });

  it('A13: fails with ERR_BAD_MAGIC when the peer speaks HTTP', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.BAD_MAGIC });
  });

  it('A13: fails with ERR_BAD_MAGIC when the peer opens with a TLS ClientHello', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0xa5, 0x01));
    const error = await conn.readPreamble().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: ErrorCode.BAD_MAGIC });
  });

  it('A13: fails with ERR_UNSUPPORTED_VERSION for another protocol version', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(preamble(2));
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.UNSUPPORTED_VERSION });
  });

  it('fails with ERR_BAD_MESSAGE for a malformed control message', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(
      concat(
        preamble(),
        frame(FrameType.HELLO, '{"software":"x","name":"y","features":[],"admin":true}'),
      ),
    );
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.BAD_MESSAGE });
  });

  it('A1: fails with ERR_LIMIT_EXCEEDED as soon as an oversized header arrives', async () => {
    const { conn, peer } = await withRawPeer({ frameMs: 30_000, idleMs: 30_000 });
    peer.write(concat(preamble(), header(FrameType.DATA, 0xffff_ffff)));
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.LIMIT_EXCEEDED });
  });

  it('F2: raises ERR_TIMEOUT when the peer goes silent for idleMs', async () => {
    const { conn, peer } = await withRawPeer({ idleMs: 200, frameMs: 30_000 });
    peer.write(preamble());
    const error = await conn.read().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCode.TIMEOUT });
  });

  it('F9: timeouts follow a monotonic clock: the wall clock jumping an hour ahead neither fires nor delays them', async () => {
    const realNow = Date.now.bind(Date);
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000);
    try {
      // A peer that keeps talking is never timed out, however far the wall clock jumped.
      const { conn, peer } = await withRawPeer({ idleMs: 300, frameMs: 300 });
      peer.write(preamble());
      opened.timers.push(
        setInterval(() => peer.write(frame(FrameType.PING, new Uint8Array(0))), 50),
      );
      for (let i = 0; i < 8; i++) expect((await conn.read())?.kind).toBe('ping');
      // The wall clock goes back two hours; a silent peer is still timed out after idleMs.
      clock.mockImplementation(() => realNow() - 3_600_000);
      const { conn: quiet, peer: silent } = await withRawPeer({ idleMs: 300, frameMs: 30_000 });
      silent.write(preamble());
      await expect(quiet.read()).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      clock.mockRestore();
    }
  });

  it('U5: a process stopped with Ctrl-Z and resumed does not blame the peer for the time it was stopped', async () => {
    const { conn, peer } = await withRawPeer({ idleMs: 200, frameMs: 200 });
    peer.write(preamble());
    // The peer's PING reaches the kernel while this process is stopped.
    peer.write(frame(FrameType.PING, new Uint8Array(0)));
    // A stopped process runs no event loop: stand for one with the loop held for 2 s, well past
    // idleMs (this is the stopped process itself, not a wait for an event).
    const resumeAt = performance.now() + 2_000;
    while (performance.now() < resumeAt) {
      // stopped
    }
    expect((await conn.read())?.kind).toBe('ping');
  });

  it('A12: raises ERR_TIMEOUT when a started frame stalls past frameMs', async () => {
    const { conn, peer } = await withRawPeer({ idleMs: 30_000, frameMs: 200 });
    peer.write(concat(preamble(), header(FrameType.HELLO, 40), utf8Bytes('{"soft')));
    const error = await conn.read().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCode.TIMEOUT });
  });

  it('A12: raises ERR_TIMEOUT for a frame trickled a byte at a time, however steady the trickle', async () => {
    const { conn, peer } = await withRawPeer({ idleMs: 30_000, frameMs: 300 });
    peer.write(concat(preamble(), header(FrameType.DATA, 1000)));
    opened.timers.push(setInterval(() => peer.write(Uint8Array.of(0x61)), 20));
    let error: unknown;
    try {
      for (;;) {
        const item = await conn.read();
        expect(item?.kind).toBe('data');
      }
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCode.TIMEOUT });
  });

  it('raises ERR_TIMEOUT when no preamble arrives within the handshake deadline', async () => {
    const { conn } = await withRawPeer({ idleMs: 30_000, frameMs: 30_000 });
    await expect(conn.readPreamble(200)).rejects.toBeInstanceOf(TimeoutError);
  });

  it('A6: raises ERR_TRUNCATED when the peer ends the stream inside a frame header', async () => {
    const { conn, peer } = await withRawPeer();
    peer.end(concat(preamble(), header(FrameType.HELLO, 40).subarray(0, 3)));
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.TRUNCATED });
  });

  it('A6: raises ERR_TRUNCATED when the peer ends the stream inside a frame body', async () => {
    const { conn, peer } = await withRawPeer();
    peer.end(concat(preamble(), header(FrameType.DATA, 10), utf8Bytes('abc')));
    expect(await conn.read()).toMatchObject({ kind: 'data' });
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.TRUNCATED });
  });

  it('A6: raises ERR_TRUNCATED when the peer ends the stream inside the preamble', async () => {
    const { conn, peer } = await withRawPeer();
    peer.end(preamble().subarray(0, 10));
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.TRUNCATED });
  });

  it('F1: raises ERR_CONNECTION_CLOSED when the peer resets the connection', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(concat(preamble(), header(FrameType.DATA, 10), utf8Bytes('abc')));
    expect(await conn.read()).toMatchObject({ kind: 'data' });
    peer.resetAndDestroy();
    const error = await conn.read().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ code: ErrorCode.CONNECTION_CLOSED });
  });

  it('rejects sends after it has been destroyed', async () => {
    const { conn } = await withRawPeer();
    conn.destroy();
    await expect(conn.send(FrameType.END, {})).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(conn.sendData(utf8Bytes('x'))).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('reports the error it was destroyed with to a pending read', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(preamble());
    await conn.readPreamble();
    const reading = conn.read();
    conn.destroy(new TimeoutError('test deadline'));
    await expect(reading).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe('closing (PROTOCOL.md §5.3)', { timeout: 10_000 }, () => {
  it('S5: after its ERROR a side half-closes and reads until the peer closes, so a peer still sending reads the ERROR, not a reset', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(preamble());
    await conn.readPreamble();
    // The peer is busy sending (DATA frames of 1 MiB until its socket holds more than it can
    // pass on: what the kernel's buffers and the connection's queue take varies by machine)
    // and reads nothing until all of it has gone out.
    peer.pause();
    const chunk = frame(FrameType.DATA, new Uint8Array(1024 * 1024).fill(0x61));
    let flushed = true;
    for (let i = 0; i < 64 && flushed; i++) flushed = peer.write(chunk);
    expect(flushed).toBe(false);
    const closing = conn.sendErrorAndClose(
      new ProtocolError(ErrorCode.SIZE_MISMATCH, 'past the declared size'),
    );
    let reset: Error | undefined;
    peer.on('error', (error) => {
      reset = error;
    });
    // Its writes drain only because the closing side keeps reading (and discarding).
    await once(peer, 'drain');
    const received: Buffer[] = [];
    peer.on('data', (data: Buffer) => received.push(data));
    peer.resume();
    await once(peer, 'end');
    expect(reset).toBeUndefined();
    const bytes = concat(...received);
    expect(bytes.subarray(0, 12)).toEqual(encodePreamble());
    expect(bytes[12]).toBe(FrameType.ERROR);
    expect(JSON.parse(Buffer.from(bytes.subarray(17)).toString('utf8'))).toMatchObject({
      code: 'ERR_SIZE_MISMATCH',
    });
    peer.end();
    await closing;
    expect(conn.socket.destroyed).toBe(true);
  });

  it('I3: ERROR is the last frame: a frame another task sends after it is refused with the same error, never written', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(preamble());
    await conn.readPreamble();
    const told = new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'unexpected REQUEST frame');
    const received: Buffer[] = [];
    peer.on('data', (data: Buffer) => received.push(data));
    const closing = conn.sendErrorAndClose(told);
    // A sending loop that goes on in the same turn, as one with its next file in memory does.
    const late = [
      conn.sendData(new Uint8Array(16).fill(0x62)),
      conn.sendDataInPlace(new Uint8Array(5 + 16)),
      conn.send(FrameType.FILE_END, { id: 1, sha256: '0'.repeat(64) }),
    ];
    for (const write of late) await expect(write).rejects.toBe(told);
    await once(peer, 'end');
    peer.end();
    await closing;
    const bytes = concat(...received);
    expect(bytes.subarray(0, 12)).toEqual(encodePreamble());
    expect(bytes[12]).toBe(FrameType.ERROR);
    const length = Buffer.from(bytes).readUInt32BE(13);
    // Nothing after the ERROR frame.
    expect(bytes.byteLength).toBe(12 + 5 + length);
  });

  it('S5: a side that closes after its last frame waits for the peer to close before it closes the socket', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(preamble());
    await conn.readPreamble();
    const closed = conn.close();
    peer.resume();
    await once(peer, 'end');
    // Half-closed, not gone: it waits for the peer's end (a plain socket answers FIN with FIN).
    expect(conn.socket.destroyed).toBe(false);
    expect(conn.socket.writableEnded).toBe(true);
    await closed;
    expect(conn.socket.destroyed).toBe(true);
  });
});

describe('Connection after a failure', { timeout: 5_000 }, () => {
  it('keeps failing every later read instead of reporting a clean close', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write('GET / HTTP/1.1\r\n\r\n');
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.BAD_MAGIC });
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.BAD_MAGIC });
  });

  it('keeps failing after a mid-stream error too', async () => {
    const { conn, peer } = await withRawPeer();
    peer.end(concat(preamble(), header(FrameType.HELLO, 40).subarray(0, 3)));
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.TRUNCATED });
    await expect(conn.read()).rejects.toMatchObject({ code: ErrorCode.TRUNCATED });
  });
});

describe('Connection.expect', { timeout: 5_000 }, () => {
  it('skips PINGs and returns the message of the expected type', async () => {
    const { sender, receiver } = await connectionPair();
    await receiver.ping();
    await receiver.send(FrameType.HELLO, HELLO);
    expect(await sender.expect(FrameType.HELLO)).toEqual(HELLO);
  });

  it('A8: raises ERR_UNEXPECTED_FRAME for a frame of another type', async () => {
    const { sender, receiver } = await connectionPair();
    await receiver.send(FrameType.DONE, { saved: 0, failed: 0 });
    const error = await sender.expect(FrameType.HELLO).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: ErrorCode.UNEXPECTED_FRAME });
  });

  it('A8: raises ERR_UNEXPECTED_FRAME for DATA where a message is expected', async () => {
    const { conn, peer } = await withRawPeer();
    peer.write(concat(preamble(), frame(FrameType.DATA, 'x')));
    await expect(conn.expect(FrameType.HELLO)).rejects.toMatchObject({
      code: ErrorCode.UNEXPECTED_FRAME,
    });
  });

  it('turns the peer’s ERROR frame into a PeerError with the peer’s code', async () => {
    const { sender, receiver } = await connectionPair();
    await receiver.send(FrameType.ERROR, { code: 'ERR_DECLINED', message: 'no' });
    const error = await sender.expect(FrameType.REQUEST).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PeerError);
    expect(error).toMatchObject({ code: ErrorCode.DECLINED });
  });

  it('raises ERR_CONNECTION_CLOSED when the peer closes cleanly instead', async () => {
    const { conn, peer } = await withRawPeer();
    peer.end(preamble());
    await expect(conn.expect(FrameType.HELLO)).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});

describe('peerError', () => {
  it('keeps a code this version knows and maps any other to ERR_INTERNAL', () => {
    expect(peerError({ code: 'ERR_NO_SPACE', message: 'full' })).toMatchObject({
      code: ErrorCode.NO_SPACE,
    });
    expect(peerError({ code: 'ERR_FROM_THE_FUTURE', message: '?' })).toMatchObject({
      code: ErrorCode.INTERNAL,
    });
    expect(peerError({ code: 'ERR_X', message: '' })).toBeInstanceOf(PeerError);
  });
});

describe('unexpectedFrame', () => {
  it('is a ProtocolError with ERR_UNEXPECTED_FRAME for messages, DATA and PING alike', () => {
    const items = [
      { kind: 'message', type: FrameType.END, message: {} },
      { kind: 'data', bytes: new Uint8Array(1) },
      { kind: 'ping' },
    ] as const;
    for (const item of items) {
      const error = unexpectedFrame(item);
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error.code).toBe(ErrorCode.UNEXPECTED_FRAME);
    }
  });
});
