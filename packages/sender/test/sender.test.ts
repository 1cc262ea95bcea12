import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import {
  concatFrame,
  decodeMessage,
  encodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  isMessageType,
  MAGIC,
  type MessageOf,
  type MessageType,
  RESUME_FEATURE,
} from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createReceiver } from '../../receiver/src/receiver.ts';
import {
  rawClient,
  receiveAll,
  runCleanup,
  silentLogger,
  startSender,
  startSenderOffering,
  tempDir,
  within,
} from './helpers.ts';

afterEach(runCleanup);

function frame<T extends MessageType>(type: T, message: MessageOf<T>): Uint8Array {
  return concatFrame(type, encodeMessage(type, message));
}

const HELLO = { software: 'raw-test/1', name: 'raw', features: [] };

function write(socket: Socket, ...parts: Uint8Array[]): void {
  for (const part of parts) socket.write(part);
}

describe('createSender', () => {
  it('serves a receiver every file, byte for byte, and reports the session', async () => {
    // Several DATA frames and a short last one; compared with equals(), as toEqual is slow on MiBs.
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const { log, port } = await startSender({ 'big.bin': big, 'empty.txt': '', 'small.txt': 'small' });
    const { out, result } = await receiveAll(port);
    expect(result.failed).toEqual([]);
    expect((await readFile(path.join(out, 'big.bin'))).equals(big)).toBe(true);
    expect(await readFile(path.join(out, 'empty.txt'), 'utf8')).toBe('');
    expect(await readFile(path.join(out, 'small.txt'), 'utf8')).toBe('small');
    const complete = await log.waitFor('session-complete');
    expect(complete).toMatchObject({ files: 3, failed: 0, bytes: big.length + 5 });
    const sent = log.all('file-sent').find((e) => e.path === 'big.bin');
    expect(sent?.sha256).toBe(createHash('sha256').update(big).digest('hex'));
  });

  it('C7: aborts a file that changed size since the offer, and still sends the others', async () => {
    const { log, port, dir } = await startSender({ 'a.txt': 'alpha', 'b.txt': 'bravo' });
    await writeFile(path.join(dir, 'a.txt'), 'alpha and more');
    const { out, result } = await receiveAll(port);
    expect(result.failed).toEqual([expect.objectContaining({ offered: 'a.txt', code: 'ERR_SOURCE_CHANGED' })]);
    expect(await readdir(out)).toEqual(['b.txt']);
    expect(await log.waitFor('file-failed')).toMatchObject({ path: 'a.txt', code: 'ERR_SOURCE_CHANGED' });
    expect(await log.waitFor('session-complete')).toMatchObject({ files: 1, failed: 1 });
  });

  it('H11: does not send a file that was swapped for a symlink after the offer', async () => {
    const { port, dir } = await startSender({ 'a.txt': 'alpha' });
    const secret = path.join(await tempDir(), 'secret');
    await writeFile(secret, 'SECRET');
    await rm(path.join(dir, 'a.txt'));
    await symlink(secret, path.join(dir, 'a.txt'));
    await writeFile(secret, 'SECRE');
    const { out, result } = await receiveAll(port);
    expect(result.saved).toEqual([]);
    expect(result.failed).toEqual([expect.objectContaining({ offered: 'a.txt' })]);
    expect(await readdir(out)).toEqual([]);
  });

  it('A13: drops a client whose first byte is neither the magic nor a letter (a TLS ClientHello), with ERR_BAD_MAGIC', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    client.socket.write(Buffer.from('16030100f5010000f10303', 'hex'));
    const failed = await log.waitFor('session-failed');
    expect(failed.code).toBe('ERR_BAD_MAGIC');
    await client.allBytes();
    expect(log.all('hello')).toEqual([]);
  });

  it('A13: sends a client that is not Ferry nor HTTP nothing at all (PROTOCOL.md §2: the sender answers only a valid preamble)', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    client.socket.write('<?xml version="1.0"?>\r\n');
    expect((await log.waitFor('session-failed')).code).toBe('ERR_BAD_MAGIC');
    expect(Buffer.from(await client.allBytes()).toString('hex')).toBe('');
  });

  it('A13: an HTTP request on a sender without a link gets a bare 404 Not Found and no session (§15)', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    client.socket.write('GET /t/anything/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const answer = Buffer.from(await client.allBytes()).toString('latin1');
    expect(answer).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(answer.endsWith('\r\n\r\nNot Found\n')).toBe(true);
    expect(log.all('session-failed')).toEqual([]);
    expect(log.all('hello')).toEqual([]);
  });

  it('still serves a proper transfer after dropping a garbage client', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    client.socket.write('\0\0\0\0');
    await log.waitFor('session-failed');
    const { out, result } = await receiveAll(port);
    expect(result.saved).toHaveLength(1);
    expect(await readFile(path.join(out, 'a.txt'), 'utf8')).toBe('alpha');
    expect(await log.waitFor('session-complete')).toMatchObject({ files: 1, failed: 0 });
  });

  it('drops a client with another protocol version without a session', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    client.socket.write(encodePreamble(2));
    expect((await log.waitFor('session-failed')).code).toBe('ERR_UNSUPPORTED_VERSION');
    await client.allBytes();
  });

  it('I1: refuses a REQUEST for an id that is not in the offer with ERROR ERR_UNKNOWN_FILE', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, HELLO), frame(FrameType.REQUEST, { files: [{ id: 7, offset: 0 }] }));
    expect((await log.waitFor('session-failed')).code).toBe('ERR_UNKNOWN_FILE');
    const frames = await client.frames();
    expect(frames.map((f) => f.type)).toEqual([FrameType.OFFER, FrameType.ERROR]);
    expect(frames[1]?.message).toMatchObject({ code: 'ERR_UNKNOWN_FILE' });
    expect(log.all('file-sent')).toEqual([]);
  });

  it('I1: refuses a REQUEST for a folder entry with ERR_UNKNOWN_FILE', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'inside.txt'), 'x');
    const { log, port } = await startSenderOffering([dir]);
    const client = await rawClient(port);
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, HELLO), frame(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] }));
    expect((await log.waitFor('session-failed')).code).toBe('ERR_UNKNOWN_FILE');
  });

  it('refuses a REQUEST naming the same file twice with ERR_BAD_MESSAGE', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    const request = { files: [{ id: 0, offset: 0 }, { id: 0, offset: 0 }] };
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, HELLO), frame(FrameType.REQUEST, request));
    expect((await log.waitFor('session-failed')).code).toBe('ERR_BAD_MESSAGE');
    expect((await client.frames()).at(-1)?.message).toMatchObject({ code: 'ERR_BAD_MESSAGE' });
  });

  it('I2: refuses an offset past the end of the file with ERR_BAD_MESSAGE', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, HELLO), frame(FrameType.REQUEST, { files: [{ id: 0, offset: 6 }] }));
    expect((await log.waitFor('session-failed')).code).toBe('ERR_BAD_MESSAGE');
  });

  it('F2: waits for a receiver whose user is choosing longer than its own idle timeout', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' }, { idleMs: 200 });
    const client = await rawClient(port);
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, HELLO));
    await log.waitFor('hello');
    // Five idle timeouts of silence: a person reading the offer, before the first PING is due.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    write(client.socket, frame(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] }));
    expect((await log.waitFor('request')).files).toBe(1);
    expect(log.all('session-failed')).toEqual([]);
  });

  it('answers an empty REQUEST with END and completes on DONE', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, HELLO), frame(FrameType.REQUEST, { files: [] }));
    // END is the frame after OFFER; answer it.
    const decoder = new FrameDecoder({ expectPreamble: true });
    const types: number[] = [];
    await within(
      new Promise<void>((resolve) => {
        client.socket.on('data', (chunk: Buffer) => {
          for (const event of decoder.push(chunk)) if (event.kind === 'frame') types.push(event.type);
          if (types.includes(FrameType.END)) resolve();
        });
      }),
      'END',
    );
    client.socket.end(frame(FrameType.DONE, { saved: 0, failed: 0 }));
    expect(await log.waitFor('session-complete')).toMatchObject({ files: 0, failed: 0, bytes: 0 });
    expect(types).toEqual([FrameType.OFFER, FrameType.END]);
  });

  /** Collects the frames a raw client receives after the preamble until one of `type` arrives. */
  function framesUntil(socket: Socket, type: number): Promise<{ type: number; message: unknown }[]> {
    const decoder = new FrameDecoder({ expectPreamble: true });
    const frames: { type: number; message: unknown }[] = [];
    return within(
      new Promise((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          for (const event of decoder.push(chunk)) {
            if (event.kind !== 'frame') continue;
            frames.push({ type: event.type, message: isMessageType(event.type) ? decodeMessage(event.type, event.payload) : undefined });
            if (event.type === type) resolve(frames);
          }
        });
      }),
      `a frame of type ${type}`,
    );
  }

  /** A raw receiver that asked for a.txt and read it up to END; returns the digest sent. */
  async function requestedAndSent(port: number) {
    const client = await rawClient(port);
    const upToEnd = framesUntil(client.socket, FrameType.END);
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, HELLO), frame(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] }));
    const fileEnd = (await upToEnd).find((f) => f.type === FrameType.FILE_END)!.message as MessageOf<typeof FrameType.FILE_END>;
    return { client, sha256: fileEnd.sha256 };
  }

  it('S3: refuses a FILE_ACK ok:true with another digest than the one sent (ERR_ACK_MISMATCH) and reports the file failed', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const { client } = await requestedAndSent(port);
    const other = createHash('sha256').update('something else').digest('hex');
    write(client.socket, frame(FrameType.FILE_ACK, { id: 0, ok: true, sha256: other }));
    expect(await log.waitFor('session-failed')).toMatchObject({ code: 'ERR_ACK_MISMATCH' });
    expect(log.all('file-failed')).toMatchObject([{ path: 'a.txt', code: 'ERR_ACK_MISMATCH' }]);
    expect(log.all('file-sent')).toEqual([]);
    expect(log.all('session-complete')).toEqual([]);
    expect((await client.frames()).at(-1)).toMatchObject({ type: FrameType.ERROR, message: { code: 'ERR_ACK_MISMATCH' } });
  });

  it.each([
    ['more saved than acknowledged', { saved: 2, failed: 0 }],
    ['a saved file counted as failed', { saved: 0, failed: 1 }],
  ])('S3: refuses DONE whose counts do not match the FILE_ACKs (%s) with ERR_ACK_MISMATCH', async (_, counts) => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const { client, sha256 } = await requestedAndSent(port);
    write(client.socket, frame(FrameType.FILE_ACK, { id: 0, ok: true, sha256 }), frame(FrameType.DONE, counts));
    expect(await log.waitFor('session-failed')).toMatchObject({ code: 'ERR_ACK_MISMATCH' });
    expect(log.all('file-sent')).toMatchObject([{ path: 'a.txt' }]);
    expect(log.all('session-complete')).toEqual([]);
    expect((await client.frames()).at(-1)).toMatchObject({ type: FrameType.ERROR, message: { code: 'ERR_ACK_MISMATCH' } });
  });

  it('S6: after a request from an offset (resuming), request and session-complete count the same bytes', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    const upToEnd = framesUntil(client.socket, FrameType.END);
    const hello = { ...HELLO, features: [RESUME_FEATURE] };
    const prefix = createHash('sha256').update('al').digest('hex');
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, hello), frame(FrameType.REQUEST, { files: [{ id: 0, offset: 2, prefix }] }));
    const fileEnd = (await upToEnd).find((f) => f.type === FrameType.FILE_END)!.message as MessageOf<typeof FrameType.FILE_END>;
    write(client.socket, frame(FrameType.FILE_ACK, { id: 0, ok: true, sha256: fileEnd.sha256 }), frame(FrameType.DONE, { saved: 1, failed: 0 }));
    const complete = await log.waitFor('session-complete');
    expect(log.all('request')).toMatchObject([{ files: 1, bytes: 3 }]);
    expect(complete).toMatchObject({ files: 1, failed: 0, bytes: 3 });
  });

  it('fails the session, never counting EOF as success, when the receiver leaves before DONE', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const client = await rawClient(port);
    write(client.socket, encodePreamble(), frame(FrameType.HELLO, HELLO), frame(FrameType.REQUEST, { files: [] }));
    client.socket.end();
    expect((await log.waitFor('session-failed')).code).toBe('ERR_CONNECTION_CLOSED');
    expect(log.all('session-complete')).toEqual([]);
  });

  it('reports ERR_DECLINED when the receiver declines', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' });
    const receiver = createReceiver({ security: { encryption: false }, host: '127.0.0.1', port, logger: silentLogger, decide: async () => null });
    const result = await within(receiver.run(), 'the receiver');
    expect(result.declined).toBe(true);
    expect((await log.waitFor('session-failed')).code).toBe('ERR_DECLINED');
    expect(log.all('request')).toEqual([]);
  });

  it('E1: refuses connections beyond maxPending that have not said hello', async () => {
    const { log, port } = await startSender({ 'a.txt': 'alpha' }, { maxPending: 1 });
    await rawClient(port, MAGIC);
    await log.waitFor('connected');
    const second = await rawClient(port);
    expect((await log.waitFor('refused')).reason).not.toBe('');
    expect((await second.allBytes()).byteLength).toBe(0);
  });

  it('close(true) ends transfers in progress and resolves stopped', async () => {
    const { sender, log, port } = await startSender({ 'a.txt': 'alpha' });
    await rawClient(port, MAGIC);
    await log.waitFor('connected');
    await within(sender.close(true), 'close(true)');
    await within(sender.stopped, 'stopped');
  });
});

describe('session-complete timing (U1)', () => {
  it('U1: times the transfer from REQUEST, not from the connection: the time spent choosing is left out', async () => {
    // A clock the test moves: 13 s pass while the receiver's user chooses, 2.7 s during the transfer.
    let clock = 0;
    const { log, port } = await startSender({ 'a.txt': 'alpha' }, { clock: () => clock });
    log.waitFor('request').then(() => {
      clock += 2_700;
    });
    await receiveAll(port, {
      whileChoosing: () => {
        clock += 13_000;
      },
    });
    expect(await log.waitFor('session-complete')).toMatchObject({ files: 1, bytes: 5, ms: 2_700 });
  });
});
