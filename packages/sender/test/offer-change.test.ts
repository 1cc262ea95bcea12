import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { scanOffer } from '@ferry/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveAll, runCleanup, startSender, tempDir } from './helpers.ts';

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
});
