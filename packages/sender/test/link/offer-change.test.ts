import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { scanOffer } from '@ferry/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { hashOffer } from '../../src/link/digests.ts';
import { runCleanup, tempDir } from '../helpers.ts';
import { request, startLinkSender } from './helpers.ts';

afterEach(runCleanup);

describe('Link.setOffer', () => {
  it('serves the new offer from then on: its page, its SHA256SUMS and its files; the old files are gone', async () => {
    const { port, base, link } = await startLinkSender({ 'a.txt': 'alpha' });
    const dir = await tempDir();
    await writeFile(path.join(dir, 'b.txt'), 'bravo');
    const next = await scanOffer([path.join(dir, 'b.txt')]);
    link.setOffer(next, await hashOffer(next));
    const page = (await request(port, base)).body.toString();
    expect(page).toContain('b.txt');
    expect(page).not.toContain('a.txt');
    const sums = (await request(port, `${base}SHA256SUMS`)).body.toString();
    expect(sums).toMatch(/^[0-9a-f]{64} {2}b\.txt\n$/);
    expect((await request(port, `${base}f/0/b.txt`)).body.toString()).toBe('bravo');
    expect((await request(port, `${base}f/0/a.txt`)).status).toBe(404);
  });
});
