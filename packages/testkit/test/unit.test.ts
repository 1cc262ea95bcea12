/**
 * The helpers other packages' tests are built on: if one of them lied (a frame built wrong, a
 * cleanup skipped), every test using it would prove nothing. Loopback only.
 */
import { once } from 'node:events';
import { concatFrame, encodeMessage, encodePreamble, FrameType } from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonPayload, messageFrame } from '../src/hostile/wire.ts';
import {
  endSession,
  header,
  idleClient,
  onCleanup,
  padded,
  readFrames,
  runCleanup,
  sendFile,
  sha256,
  startFakeSender,
  startFakeServer,
  within,
} from '../src/unit/index.ts';

afterEach(runCleanup);

const HELLO = { software: 'testkit/1', name: 'kit', features: [] };

describe('frame helpers', () => {
  it('pads a JSON payload to exactly the size asked, still the same JSON', () => {
    const bytes = padded('{"files":[]}', 4096);
    expect(bytes.byteLength).toBe(4096);
    expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toEqual({ files: [] });
  });

  it('writes a header length as u32 big-endian, the top bit included', () => {
    expect([...header(FrameType.OFFER, 0x8000_0001)]).toEqual([FrameType.OFFER, 0x80, 0, 0, 1]);
  });

  it('builds a message frame byte for byte as the reference encoder does', () => {
    expect(messageFrame(FrameType.HELLO, HELLO)).toEqual(
      Buffer.from(concatFrame(FrameType.HELLO, encodeMessage(FrameType.HELLO, HELLO))),
    );
  });

  it('writes a flipped field verbatim, unvalidated', () => {
    const payload = jsonPayload({ id: 0, offset: 0 }, { offset: '1e-400' });
    expect(payload.toString('utf8')).toBe('{"id":0,"offset":1e-400}');
  });

  it('reads the control frames after a preamble; DATA bodies are streamed, not frames', () => {
    const bytes = Buffer.concat([
      encodePreamble(),
      messageFrame(FrameType.HELLO, HELLO),
      concatFrame(FrameType.DATA, Buffer.from('abc')),
      messageFrame(FrameType.END, {}),
    ]);
    expect(readFrames(bytes)).toEqual([
      { type: FrameType.HELLO, message: HELLO },
      { type: FrameType.END, message: {} },
    ]);
  });
});

describe('the scripted sender', () => {
  it('offers, sends a whole file with its digest, and ends with END, returning the DONE', async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([{ kind: 'file', path: 'a.txt', size: 5 }]);
      sendFile(peer, 0, 'alpha');
      expect(await endSession(peer)).toEqual({ saved: 1, failed: 0 });
    });
    const { socket, closed } = await idleClient(sender.port);
    socket.write(Buffer.concat([encodePreamble(), messageFrame(FrameType.HELLO, HELLO)]));
    // Waits for END, the last frame of the script, before answering it.
    const received: Buffer[] = [];
    const endSeen = () =>
      readFrames(Buffer.concat(received)).some((frame) => frame.type === FrameType.END);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    while (!endSeen()) await within(once(socket, 'data'), 'the END');
    socket.end(messageFrame(FrameType.DONE, { saved: 1, failed: 0 }));
    await sender.done();
    const frames = readFrames(await within(closed, 'the fake sender to close'));
    expect(frames.map((frame) => frame.type)).toEqual([
      FrameType.OFFER,
      FrameType.FILE_START,
      FrameType.FILE_END,
      FrameType.END,
    ]);
    expect(frames[1]?.message).toEqual({ id: 0, offset: 0, size: 5 });
    expect(frames[2]?.message).toEqual({ id: 0, sha256: sha256('alpha') });
  });
});

describe('cleanup', () => {
  it('runs every disposer, newest first, and reports each that failed', async () => {
    const order: string[] = [];
    onCleanup('first', () => order.push('first'));
    onCleanup('broken', () => {
      throw new Error('broken');
    });
    onCleanup('last', () => order.push('last'));
    const error = await runCleanup().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(order).toEqual(['last', 'first']);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors).toHaveLength(1);
  });

  it('closes a loopback server and its sockets after the test', async () => {
    const server = await startFakeServer((socket) => socket.end());
    const { closed } = await idleClient(server.port);
    expect((await within(closed, 'the server to hang up')).byteLength).toBe(0);
    await runCleanup();
    await expect(idleClient(server.port)).rejects.toThrow();
  });
});
