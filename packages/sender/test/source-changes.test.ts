/**
 * K12: a source file that changes after it was offered, in ways that keep its size and its
 * modification time, is aborted with FILE_ABORT ERR_SOURCE_CHANGED (§5.2), never sent as
 * something that never existed. Real files; `utimes` puts the mtime back as a user could.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync, utimesSync, writeSync } from 'node:fs';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveAll, runCleanup, startSenderOffering, tempDir } from './helpers.ts';

afterEach(runCleanup);

/** A whole second, so that `utimes` can put the mtime back exactly. */
const MTIME = 1_700_000_000;

/** A sender in clear offering one file `name` with `content`, its mtime set to {@link MTIME}. */
async function startSender(name: string, content: string | Buffer) {
  const dir = await tempDir();
  const file = path.join(dir, name);
  await writeFile(file, content);
  await utimes(file, MTIME, MTIME);
  const { sender, log, port } = await startSenderOffering([file], { name: 'k12' });
  return { sender, log, port, file };
}

/**
 * Overwrites `bytes` at each position, in place (same size), then puts the mtime back. Returns
 * once the file system has recorded a new change time: on one with coarse timestamps a write
 * within the same tick as the last would not show, so it writes again until it does (a bounded
 * loop on a condition, not a wait).
 */
function rewriteInPlace(file: string, edits: readonly { position: number; bytes: Buffer }[]): void {
  const before = statSync(file, { bigint: true });
  for (let attempt = 0; attempt < 100_000; attempt++) {
    const fd = openSync(file, 'r+');
    try {
      for (const { position, bytes } of edits) writeSync(fd, bytes, 0, bytes.byteLength, position);
    } finally {
      closeSync(fd);
    }
    utimesSync(file, MTIME, MTIME);
    const after = statSync(file, { bigint: true });
    if (after.ctimeNs !== before.ctimeNs) {
      // What the old check looked at is unchanged: only the change time tells.
      expect([after.size, after.mtimeNs, after.ino]).toEqual([
        before.size,
        before.mtimeNs,
        before.ino,
      ]);
      return;
    }
  }
  throw new Error('the file system never recorded a new change time');
}

describe('a source that changes without changing size or mtime (K12)', () => {
  it('K12: a small file rewritten at the same size between OFFER and REQUEST, mtime put back, is aborted with ERR_SOURCE_CHANGED', async () => {
    const { log, port, file } = await startSender('a.txt', 'alpha');
    rewriteInPlace(file, [{ position: 0, bytes: Buffer.from('ALPHA') }]);
    const { out, result } = await receiveAll(port);
    expect(result.saved).toEqual([]);
    expect(result.failed).toEqual([
      expect.objectContaining({ offered: 'a.txt', code: 'ERR_SOURCE_CHANGED' }),
    ]);
    expect(await readdir(out)).toEqual([]);
    expect(await log.waitFor('file-failed')).toMatchObject({
      path: 'a.txt',
      code: 'ERR_SOURCE_CHANGED',
    });
  });

  it('K12: a large file rewritten at the same size between OFFER and REQUEST, mtime put back, is aborted with ERR_SOURCE_CHANGED', async () => {
    const { log, port, file } = await startSender('big.bin', randomBytes(2 * 1024 * 1024));
    rewriteInPlace(file, [{ position: 1024, bytes: randomBytes(16) }]);
    const { out, result } = await receiveAll(port);
    expect(result.saved).toEqual([]);
    expect(result.failed).toEqual([
      expect.objectContaining({ offered: 'big.bin', code: 'ERR_SOURCE_CHANGED' }),
    ]);
    expect(await readdir(out)).toEqual([]);
    expect(await log.waitFor('file-failed')).toMatchObject({
      path: 'big.bin',
      code: 'ERR_SOURCE_CHANGED',
    });
  });

  it('K12: a file whose start and end are rewritten mid-send, mtime put back, is aborted before FILE_END, never saved', async () => {
    const size = 4 * 1024 * 1024 + 1;
    const { sender, log, port, file } = await startSender('big.bin', randomBytes(size));
    // The first DATA frame has gone out: the start is sent, the end not yet read (the sender
    // reads one 1 MiB chunk ahead). Rewritten synchronously, so the timing is fixed.
    let rewritten = false;
    sender.on('progress', () => {
      if (rewritten) return;
      rewritten = true;
      rewriteInPlace(file, [
        { position: 0, bytes: randomBytes(16) },
        { position: size - 16, bytes: randomBytes(16) },
      ]);
    });
    const { out, result } = await receiveAll(port);
    expect(rewritten).toBe(true);
    expect(result.saved).toEqual([]);
    expect(result.failed).toEqual([
      expect.objectContaining({ offered: 'big.bin', code: 'ERR_SOURCE_CHANGED' }),
    ]);
    expect(await readdir(out)).toEqual([]);
    expect(log.all('file-sent')).toEqual([]);
    expect(await log.waitFor('file-failed')).toMatchObject({
      path: 'big.bin',
      code: 'ERR_SOURCE_CHANGED',
    });
  });
});
