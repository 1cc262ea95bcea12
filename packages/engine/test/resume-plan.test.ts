/**
 * What a receiver finds in its folder before it asks for anything: files already there (present
 * candidates), looked up with as few calls as the folders allow.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { validateOffer } from '@ferry/protocol';
import { runCleanup, tempDir } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { planResume } from '../src/resume-plan.ts';

afterEach(() => {
  vi.restoreAllMocks();
  return runCleanup();
});

const SENDER = {
  senderKey: '',
  senderName: 'alice',
  senderHost: 'laptop',
  session: '0123456789abcdef0123456789abcdef',
};

/** An offer of the folder `photos` with `count` files of 4 bytes, `photos/f<n>.jpg`. */
function photos(count: number) {
  return validateOffer(
    Array.from({ length: count }, (_, n) => ({
      kind: 'file' as const,
      path: `photos/f${n}.jpg`,
      size: 4,
    })),
  );
}

describe('planResume', () => {
  it('looks a folder that is not there up once, not once for each file under it', async () => {
    const root = await tempDir();
    const offer = photos(1000);
    const lstat = vi.spyOn(fs, 'lstat');
    const plan = await planResume(root, offer.entries, SENDER);
    expect(plan.present.size).toBe(0);
    expect(plan.adopt.size).toBe(0);
    const folder = path.join(root, 'photos');
    expect(lstat.mock.calls.filter(([file]) => file === folder)).toHaveLength(1);
    // Nothing under the missing folder was looked up at all.
    expect(lstat.mock.calls.filter(([file]) => String(file).startsWith(`${folder}/`))).toEqual([]);
  });

  it('still finds every file already there, and none through a symlinked folder', async () => {
    const root = await tempDir();
    await fs.mkdir(path.join(root, 'photos'));
    for (const n of [0, 1, 2]) await fs.writeFile(path.join(root, 'photos', `f${n}.jpg`), 'jpeg');
    const plan = await planResume(root, photos(3).entries, SENDER);
    expect([...plan.present.values()].sort()).toEqual(
      [0, 1, 2].map((n) => path.join(root, 'photos', `f${n}.jpg`)),
    );
    expect(plan.adopt.get('photos')).toBe('photos');

    const elsewhere = await tempDir();
    await fs.mkdir(path.join(elsewhere, 'photos'));
    for (const n of [0, 1]) await fs.writeFile(path.join(elsewhere, 'photos', `f${n}.jpg`), 'jpeg');
    const linked = await tempDir();
    await fs.symlink(path.join(elsewhere, 'photos'), path.join(linked, 'photos'));
    const through = await planResume(linked, photos(2).entries, SENDER);
    expect(through.present.size).toBe(0);
    expect(through.adopt.size).toBe(0);
  });
});
