/**
 * K12 against the real `ferry-send`: a source file rewritten in place at the same size, with
 * its mtime put back, used to be sent with its new content, or, when rewritten mid-send, as a
 * mix of old and new bytes that never existed, with a matching digest. A scripted receiver
 * fixes the timing without sleeping: it rewrites the file after the OFFER, or while it holds
 * the transfer still by not reading.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { FrameType, type MessageOf } from '@ferry/protocol';
import { makeTempDir, startSender, writeRandomFile } from '@ferry/testkit/harness';
import {
  connectScriptedReceiver,
  type HostilePeer,
  type ReceivedFrame,
} from '@ferry/testkit/hostile';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** A whole second, so that `utimes` puts the mtime back exactly. */
const MTIME = 1_700_000_000;
const HELLO = { software: 'k12/1', name: 'k12', features: [] as string[] };

/** Overwrites 16 bytes at each position in place and puts the mtime back; size and mtime stay. */
async function rewriteInPlace(file: string, positions: readonly number[]): Promise<void> {
  const before = await fs.stat(file, { bigint: true });
  const handle = await fs.open(file, 'r+');
  try {
    for (const position of positions) await handle.write(randomBytes(16), 0, 16, position);
  } finally {
    await handle.close();
  }
  await fs.utimes(file, MTIME, MTIME);
  const after = await fs.stat(file, { bigint: true });
  expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
}

/** A real ferry-send in clear offering one random file of `size` bytes, mtime {@link MTIME}. */
async function sendOne(size: number) {
  const src = await makeTempDir('k12-src');
  const file = path.join(src, 'big.bin');
  await writeRandomFile(file, size);
  await fs.utimes(file, MTIME, MTIME);
  const sender = await startSender([file], ['--no-encryption']);
  const peer = await connectScriptedReceiver(sender.port, { encryption: false });
  await peer.send(FrameType.HELLO, HELLO);
  await peer.expect(FrameType.OFFER);
  return { sender, peer, file };
}

/** The frames after REQUEST up to the file's end: FILE_START, DATA..., then FILE_END or FILE_ABORT. */
async function fileEnding(peer: HostilePeer): Promise<ReceivedFrame> {
  for (;;) {
    const frame = await peer.next();
    if (frame === null)
      throw new Error(`the sender closed before the file ended: ${peer.describe()}`);
    if (frame.type === FrameType.FILE_END || frame.type === FrameType.FILE_ABORT) return frame;
  }
}

describe('K12: a source changed at the same size with its mtime put back', () => {
  it('K12: ferry-send aborts a file rewritten between OFFER and REQUEST with FILE_ABORT ERR_SOURCE_CHANGED', async () => {
    const { sender, peer, file } = await sendOne(2 * 1024 * 1024);
    await rewriteInPlace(file, [1024]);
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    const ending = await fileEnding(peer);
    expect(ending.type, peer.describe()).toBe(FrameType.FILE_ABORT);
    expect(ending.message as MessageOf<typeof FrameType.FILE_ABORT>).toMatchObject({
      id: 0,
      code: 'ERR_SOURCE_CHANGED',
    });
    await peer.expect(FrameType.END);
    await peer.send(FrameType.FILE_ACK, { id: 0, ok: false, code: 'ERR_SOURCE_CHANGED' });
    await peer.send(FrameType.DONE, { saved: 0, failed: 1 });
    await sender.waitForEvent('session-complete');
    expect(sender.events.filter((e) => e.event === 'file-sent')).toEqual([]);
  });

  it('K12: ferry-send aborts, before FILE_END, a file whose start and end are rewritten mid-send', async () => {
    // Far more than every buffer between the two (Node's, both kernels': about 40 MiB at most
    // here), so the sender cannot have read the end when the receiver stops reading.
    const size = 96 * 1024 * 1024;
    const { peer, file } = await sendOne(size);
    const stalled = new Promise<void>((resolve) => {
      peer.socket.once('data', () => {
        peer.socket.pause();
        resolve();
      });
    });
    await peer.send(FrameType.REQUEST, { files: [{ id: 0, offset: 0 }] });
    await stalled;
    // The start has gone out already; the end is still on disk.
    await rewriteInPlace(file, [0, size - 16]);
    expect(peer.bytesIn).toBeLessThan(size / 2);
    peer.socket.resume();
    const ending = await fileEnding(peer);
    expect(ending.type, `after ${peer.bytesIn} bytes`).toBe(FrameType.FILE_ABORT);
    expect(ending.message as MessageOf<typeof FrameType.FILE_ABORT>).toMatchObject({
      id: 0,
      code: 'ERR_SOURCE_CHANGED',
    });
  });
});
