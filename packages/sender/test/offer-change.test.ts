import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { scanOffer } from '@ferry/engine';
import {
  concatFrame,
  decodeMessage,
  encodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  type MessageOf,
} from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { rawClient, receiveAll, runCleanup, startSender, tempDir, within } from './helpers.ts';

/** The OFFER a raw client gets from the sender at `port` after its HELLO. */
async function offerFrom(port: number): Promise<MessageOf<typeof FrameType.OFFER>> {
  const client = await rawClient(port);
  const hello = { software: 'raw-test/1', name: 'raw', features: [] };
  client.socket.write(encodePreamble());
  client.socket.write(concatFrame(FrameType.HELLO, encodeMessage(FrameType.HELLO, hello)));
  const decoder = new FrameDecoder({ expectPreamble: true });
  const offer = await within(
    new Promise<MessageOf<typeof FrameType.OFFER>>((resolve) => {
      client.socket.on('data', (chunk: Buffer) => {
        for (const event of decoder.push(chunk)) {
          if (event.kind === 'frame' && event.type === FrameType.OFFER)
            resolve(decodeMessage(FrameType.OFFER, event.payload));
        }
      });
    }),
    'OFFER',
  );
  client.socket.destroy();
  return offer;
}

afterEach(runCleanup);

describe('Sender.setOffer', () => {
  it('offers the new files to a receiver that connects afterwards, and says what is offered', async () => {
    const { sender, port } = await startSender({ 'a.txt': 'alpha' });
    const dir = await tempDir();
    await writeFile(path.join(dir, 'b.txt'), 'bravo');
    const next = await scanOffer([path.join(dir, 'b.txt')]);
    sender.setOffer(next);
    expect(sender.offer).toBe(next);
    const { out, result } = await receiveAll(port);
    expect(result.failed).toEqual([]);
    expect(await readFile(path.join(out, 'b.txt'), 'utf8')).toBe('bravo');
    await expect(readFile(path.join(out, 'a.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves a receiver already connected with the offer it was shown', async () => {
    const { sender, log, port } = await startSender({ 'a.txt': 'alpha' });
    const dir = await tempDir();
    await writeFile(path.join(dir, 'b.txt'), 'bravo');
    const next = await scanOffer([path.join(dir, 'b.txt')]);
    // The change comes while the first receiver's user is choosing from the first offer.
    const first = await receiveAll(port, { whileChoosing: () => sender.setOffer(next) });
    expect(await readFile(path.join(first.out, 'a.txt'), 'utf8')).toBe('alpha');
    expect(log.all('session-complete')).toMatchObject([{ files: 1, bytes: 5 }]);
    const second = await receiveAll(port);
    expect(await readFile(path.join(second.out, 'b.txt'), 'utf8')).toBe('bravo');
  });

  it('offers nothing once every item is taken out: a receiver sees an empty offer and takes nothing', async () => {
    const { sender, log, port } = await startSender({ 'a.txt': 'alpha' });
    sender.setOffer(await scanOffer([]));
    const { result } = await receiveAll(port);
    expect(result.declined).toBe(true);
    expect((await log.waitFor('session-failed')).code).toBe('ERR_DECLINED');
    expect(log.all('request')).toEqual([]);
  });

  it('gives a changed offer a new session id (§4.2), so a reconnection never takes it for the old one', async () => {
    const { sender, port } = await startSender({ 'a.txt': 'alpha' });
    const before = await offerFrom(port);
    const dir = await tempDir();
    await writeFile(path.join(dir, 'b.txt'), 'bravo');
    sender.setOffer(await scanOffer([path.join(dir, 'b.txt')]));
    const after = await offerFrom(port);
    expect(before.entries).toEqual([{ kind: 'file', path: 'a.txt', size: 5 }]);
    expect(after.entries).toEqual([{ kind: 'file', path: 'b.txt', size: 5 }]);
    expect(after.session).toMatch(/^[0-9a-f]{32}$/);
    expect(after.session).not.toBe(before.session);
    // Unchanged, it keeps its id.
    expect((await offerFrom(port)).session).toBe(after.session);
  });
});
