import { writeSync } from 'node:fs';
/**
 * The receiver's limits with their real values, exactly at each limit and one past it
 * (HOSTILE-INPUTS.md A1, A2, H5): frame caps on what a sender sends (LIMITS), and how many
 * alternative names the destination tries before giving up.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  concatFrame,
  encodeMessage,
  ErrorCode,
  FrameType,
  LIMITS,
  type ValidatedEntry,
} from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { alternativeName, Destination, openDestination } from '@ferry/engine';
import { EXIT } from '../src/main.ts';
import {
  endSession,
  header,
  listTree,
  padded,
  runCleanup,
  runReceive,
  sendFile,
  startFakeSender,
  tempDir,
} from './helpers.ts';

afterEach(runCleanup);

const SESSION = '00112233445566778899aabbccddeeff';

/** Runs `ferry-receive --yes` into a fresh `out` folder against a scripted sender. */
async function receive(address: string) {
  const base = await tempDir();
  const out = path.join(base, 'out');
  await mkdir(out);
  const run = await runReceive(['--yes', '--out', out, address]);
  return { run, base, out };
}

describe('LIMITS on what a sender sends', () => {
  it(`A2 maxOfferPayloadBytes: an OFFER of exactly ${LIMITS.maxOfferPayloadBytes} bytes is read, and its file received`, async () => {
    const entries = [{ kind: 'file', path: 'a.txt', size: 1 }];
    const offer = JSON.stringify({
      session: SESSION,
      sender: { name: 'big', host: 'offer' },
      entries,
    });
    const sender = await startFakeSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      peer.socket.write(concatFrame(FrameType.OFFER, padded(offer, LIMITS.maxOfferPayloadBytes)));
      expect(await peer.expect(FrameType.REQUEST)).toEqual({ files: [{ id: 0, offset: 0 }] });
      sendFile(peer, 0, 'x');
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 0, ok: true });
      expect(await endSession(peer)).toEqual({ saved: 1, failed: 0 });
    });
    const { run, out } = await receive(sender.address);
    await sender.done();
    expect(run.code).toBe(EXIT.ok);
    expect(await readFile(path.join(out, 'a.txt'), 'utf8')).toBe('x');
  });

  it(`A1 maxOfferPayloadBytes: an OFFER announcing ${LIMITS.maxOfferPayloadBytes} + 1 bytes is refused from its header with ERR_LIMIT_EXCEEDED`, async () => {
    const sender = await startFakeSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      // The header alone: the receiver must not wait for (or buffer) the payload.
      peer.socket.write(header(FrameType.OFFER, LIMITS.maxOfferPayloadBytes + 1));
      expect(await peer.next()).toEqual({
        type: FrameType.ERROR,
        message: expect.objectContaining({ code: ErrorCode.LIMIT_EXCEEDED }),
      });
    });
    const { run, base } = await receive(sender.address);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect(await listTree(base)).toEqual(['out/']);
  });

  it(`A2 maxDataPayloadBytes: a DATA frame of exactly ${LIMITS.maxDataPayloadBytes} bytes is written whole`, async () => {
    const content = Buffer.alloc(LIMITS.maxDataPayloadBytes, 0x61);
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([{ kind: 'file', path: 'big.bin', size: content.byteLength }]);
      await peer.expect(FrameType.REQUEST);
      sendFile(peer, 0, content);
      expect(await peer.expect(FrameType.FILE_ACK)).toMatchObject({ id: 0, ok: true });
      expect(await endSession(peer)).toEqual({ saved: 1, failed: 0 });
    });
    const { run, out } = await receive(sender.address);
    await sender.done();
    expect(run.code).toBe(EXIT.ok);
    expect((await readFile(path.join(out, 'big.bin'))).equals(content)).toBe(true);
  });

  it(`A1 maxDataPayloadBytes: a DATA frame announcing ${LIMITS.maxDataPayloadBytes} + 1 bytes is refused from its header; nothing is kept`, async () => {
    const size = LIMITS.maxDataPayloadBytes + 1;
    const sender = await startFakeSender(async (peer) => {
      await peer.offer([{ kind: 'file', path: 'big.bin', size }]);
      await peer.expect(FrameType.REQUEST);
      peer.socket.write(
        concatFrame(
          FrameType.FILE_START,
          encodeMessage(FrameType.FILE_START, { id: 0, offset: 0, size }),
        ),
      );
      peer.socket.write(header(FrameType.DATA, size));
      expect(await peer.next()).toEqual({
        type: FrameType.ERROR,
        message: expect.objectContaining({ code: ErrorCode.LIMIT_EXCEEDED }),
      });
    });
    const { run, base } = await receive(sender.address);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect(await listTree(base)).toEqual(['out/']);
  });
});

/** The destination's limit on alternative names: `name`, then `name (1)` to `name (999)`. */
const MAX_NAMES = 1000;

describe('Destination alternative names (H5)', () => {
  const entry = (p: string): ValidatedEntry => ({
    id: 0,
    kind: 'file',
    path: p,
    components: p.split('/'),
    size: 1,
  });

  /** Saves one file named `name` below a folder where the first `taken` of its names exist. */
  async function saveWithTaken(name: string, taken: number, dir?: string): Promise<string> {
    dir ??= await tempDir();
    for (let n = 0; n < taken; n++)
      await writeFile(path.join(dir, alternativeName(name, n)), 'theirs');
    const destination = new Destination(await openDestination(dir));
    const { handle, tempPath } = await destination.openTemp(entry(name));
    writeSync(handle.fd, 'ours');
    await handle.close();
    try {
      return path.basename(await destination.finalize(entry(name), tempPath));
    } finally {
      await destination.cleanup();
    }
  }

  it(`H5 alternative names: with ${MAX_NAMES - 1} names taken the last one, "x (${MAX_NAMES - 1}).txt", is used`, async () => {
    expect(await saveWithTaken('x.txt', MAX_NAMES - 1)).toBe(`x (${MAX_NAMES - 1}).txt`);
  });

  it(`H5 alternative names: with all ${MAX_NAMES} names taken the file fails with ERR_WRITE_FAILED and nothing is overwritten`, async () => {
    const dir = await tempDir();
    const error = await saveWithTaken('x.txt', MAX_NAMES, dir).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.WRITE_FAILED });
    const names = await listTree(dir);
    expect(names).toHaveLength(MAX_NAMES);
    for (const name of names) expect(await readFile(path.join(dir, name), 'utf8')).toBe('theirs');
  });

  it(`H5 alternative names: a top-level folder takes "d (${MAX_NAMES - 1})" when the others exist, and fails with ERR_WRITE_FAILED past it`, async () => {
    for (const [taken, expected] of [
      [MAX_NAMES - 1, `d (${MAX_NAMES - 1})`],
      [MAX_NAMES, undefined],
    ] as const) {
      const dir = await tempDir();
      for (let n = 0; n < taken; n++) await mkdir(path.join(dir, alternativeName('d', n)));
      const destination = new Destination(await openDestination(dir));
      const outcome = await destination
        .createDirs([{ id: 0, kind: 'dir', path: 'd', components: ['d'], size: 0 }])
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      if (expected === undefined) {
        expect(outcome).toMatchObject({ code: ErrorCode.WRITE_FAILED });
      } else {
        expect(outcome).toBeUndefined();
        const { handle, tempPath } = await destination.openTemp(entry('d/f'));
        await handle.close();
        expect(path.relative(dir, path.dirname(tempPath))).toBe(expected);
        await destination.cleanup();
      }
    }
  });
});
