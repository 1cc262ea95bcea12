/** The receiving path both apps share: one file from its first byte to its final name. */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ErrorCode,
  FerryError,
  IntegrityError,
  type ValidatedEntry,
  validateOffer,
} from '@ferry/protocol';
import { listTree, runCleanup, tempDir } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Destination } from '../src/destination.ts';
import {
  type FailedFile,
  IncomingFile,
  type SavedFile,
  type SavingFile,
} from '../src/incoming-file.ts';

afterEach(async () => {
  vi.restoreAllMocks();
  await runCleanup();
});

function fileEntry(filePath: string, size: number): ValidatedEntry {
  return validateOffer([{ kind: 'file', path: filePath, size }]).entries.at(-1)!;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes `pieces` the way a receiver does: waiting whenever the file asks to. */
async function feed(file: IncomingFile, pieces: readonly Uint8Array[]): Promise<void> {
  for (const piece of pieces) {
    const wait = file.write(piece);
    if (wait) await wait;
  }
}

/** A destination in a fresh folder, with `entry`'s folders created. */
async function destinationFor(
  entry: ValidatedEntry,
  options: { tempName?: () => string } = {},
): Promise<{ out: string; destination: Destination }> {
  const out = await tempDir();
  const destination = new Destination(out, options);
  expect(await destination.createDirs([entry])).toEqual([]);
  return { out, destination };
}

async function saved(outcome: SavingFile | FailedFile): Promise<SavedFile | FailedFile> {
  expect(outcome).toHaveProperty('saving');
  return (outcome as SavingFile).saving;
}

describe('IncomingFile', { timeout: 10_000 }, () => {
  it('H6, H7: saves a file whose size and digest match under its name, through a hidden temporary file', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const entry = fileEntry('docs/report.bin', data.byteLength);
    const { out, destination } = await destinationFor(entry);
    const file = await IncomingFile.open(destination, entry);
    expect(file.writable).toBe(true);
    await feed(file, [data.subarray(0, 1_000_000), data.subarray(1_000_000)]);
    expect((await listTree(out)).filter((name) => name.endsWith('.part'))).toHaveLength(1);
    expect(await listTree(out)).not.toContain('docs/report.bin');

    const result = await saved(await file.end(sha256(data)));
    expect(result).toEqual({
      path: path.join(out, 'docs', 'report.bin'),
      offered: 'docs/report.bin',
      size: data.byteLength,
      sha256: sha256(data),
    });
    expect((await readFile(path.join(out, 'docs', 'report.bin'))).equals(data)).toBe(true);
    expect(await listTree(out)).toEqual(['docs/', 'docs/report.bin']);
  });

  it('C2: refuses bytes past the announced size with SIZE_MISMATCH, writing none of them, and keeps nothing once discarded', async () => {
    const entry = fileEntry('a.bin', 10);
    const { out, destination } = await destinationFor(entry);
    const file = await IncomingFile.open(destination, entry);
    await feed(file, [Buffer.alloc(6, 1)]);
    let released = 0;
    expect(() => file.write(Buffer.alloc(5, 2), () => released++)).toThrow(IntegrityError);
    expect(() => file.write(Buffer.alloc(5, 2))).toThrow(
      expect.objectContaining({ code: ErrorCode.SIZE_MISMATCH }),
    );
    // Refused bytes are given back at once.
    expect(released).toBe(1);
    expect(file.received).toBe(6);
    await file.discard();
    expect(await listTree(out)).toEqual([]);
  });

  it('C1: a file that ends short is not saved (SIZE_MISMATCH) and leaves nothing', async () => {
    const entry = fileEntry('short.bin', 100);
    const { out, destination } = await destinationFor(entry);
    const file = await IncomingFile.open(destination, entry);
    const bytes = randomBytes(60);
    await feed(file, [bytes]);
    expect(await file.end(sha256(bytes))).toEqual({
      offered: 'short.bin',
      code: ErrorCode.SIZE_MISMATCH,
      message: 'only 60 of 100 bytes arrived',
    });
    expect(await listTree(out)).toEqual([]);
  });

  it('C5: a file whose digest does not match is not saved (DIGEST_MISMATCH) and leaves nothing', async () => {
    const entry = fileEntry('damaged.bin', 64);
    const { out, destination } = await destinationFor(entry);
    const file = await IncomingFile.open(destination, entry);
    await feed(file, [randomBytes(64)]);
    const outcome = await file.end(sha256(randomBytes(64)));
    expect(outcome).toMatchObject({ offered: 'damaged.bin', code: ErrorCode.DIGEST_MISMATCH });
    expect(await listTree(out)).toEqual([]);
  });

  it("an aborted file fails with the sender's code and message and leaves nothing", async () => {
    const entry = fileEntry('gone.bin', 64);
    const { out, destination } = await destinationFor(entry);
    const file = await IncomingFile.open(destination, entry);
    await feed(file, [randomBytes(20)]);
    expect(
      await file.abort(ErrorCode.SOURCE_CHANGED, 'the file changed while it was sent'),
    ).toEqual({
      offered: 'gone.bin',
      code: ErrorCode.SOURCE_CHANGED,
      message: 'the file changed while it was sent',
    });
    expect(await listTree(out)).toEqual([]);
  });

  it('K9: a path this file system cannot take only counts its bytes and fails alone with WRITE_FAILED', async () => {
    const entry = fileEntry('x.bin', 8);
    // A temporary name past every file system's name limit: opening it fails with ENAMETOOLONG.
    const { out, destination } = await destinationFor(entry, { tempName: () => 'n'.repeat(300) });
    const counted: number[] = [];
    const file = await IncomingFile.open(destination, entry, {
      onWritten: (bytes) => counted.push(bytes),
    });
    expect(file.writable).toBe(false);
    let released = 0;
    expect(file.write(Buffer.alloc(5), () => released++)).toBeUndefined();
    expect(released).toBe(1);
    expect(counted).toEqual([5]);
    expect(() => file.write(Buffer.alloc(4))).toThrow(
      expect.objectContaining({ code: ErrorCode.SIZE_MISMATCH }),
    );
    file.write(Buffer.alloc(3));
    expect(await file.end(sha256(Buffer.alloc(8)))).toMatchObject({
      offered: 'x.bin',
      code: ErrorCode.WRITE_FAILED,
    });
    expect(await listTree(out)).toEqual([]);
  });

  it('tells how many bytes are waiting for the disk, and hears of each byte that reaches it', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    const entry = fileEntry('big.bin', data.byteLength);
    const { destination } = await destinationFor(entry);
    let written = 0;
    const file = await IncomingFile.open(destination, entry, {
      onWritten: (bytes) => (written += bytes),
    });
    // Past the sink's high-water mark the write asks to wait: bytes are queued in memory until then.
    const first = file.write(data.subarray(0, 3 * 1024 * 1024));
    expect(file.pending + written).toBe(3 * 1024 * 1024);
    expect(first).toBeInstanceOf(Promise);
    await first;
    await feed(file, [data.subarray(3 * 1024 * 1024)]);
    await saved(await file.end(sha256(data)));
    expect(written).toBe(data.byteLength);
    expect(file.pending).toBe(0);
  });

  it('E7: a full disk while writing becomes ERR_NO_SPACE, and discarding leaves nothing', async () => {
    const entry = fileEntry('full.bin', 4 * 1024 * 1024);
    const { out, destination } = await destinationFor(entry);
    const file = await IncomingFile.open(destination, entry);
    const failure = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    for (const name of ['write', 'writev'] as const) {
      vi.spyOn(fs, name).mockImplementation(((...args: unknown[]) => {
        const callback = args.at(-1) as (error: Error | null, written: number) => void;
        setImmediate(() => callback(failure, 0));
      }) as never);
    }
    const error = await feed(file, [randomBytes(3 * 1024 * 1024), randomBytes(1024 * 1024)]).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FerryError);
    expect(error).toMatchObject({ code: ErrorCode.NO_SPACE });
    vi.restoreAllMocks();
    await file.discard();
    expect(await listTree(out)).toEqual([]);
  });

  it('E7: a full disk while a small file is written synchronously becomes ERR_NO_SPACE, and nothing is left', async () => {
    const entry = fileEntry('small.bin', 4096);
    const { out, destination } = await destinationFor(entry);
    expect(destination.gate.open).toBe(true);
    const file = await IncomingFile.open(destination, entry);
    const failure = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const writeSync = vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw failure;
    });
    const data = randomBytes(4096);
    let released = false;
    // The failure is the file's: the write does not throw, its bytes are let go at once.
    expect(
      file.write(data, () => {
        released = true;
      }),
    ).toBeUndefined();
    expect(writeSync).toHaveBeenCalledTimes(1);
    expect(released).toBe(true);
    expect(await saved(await file.end(sha256(data)))).toMatchObject({ code: ErrorCode.NO_SPACE });
    vi.restoreAllMocks();
    expect(await listTree(out)).toEqual([]);
  });

  it('H5: a verified file whose name is taken is saved as "name (1)", never over the other', async () => {
    const data = Buffer.from('new');
    const entry = fileEntry('same.txt', data.byteLength);
    const { out, destination } = await destinationFor(entry);
    await fs.promises.writeFile(path.join(out, 'same.txt'), 'old');
    const file = await IncomingFile.open(destination, entry);
    await feed(file, [data]);
    expect(await saved(await file.end(sha256(data)))).toMatchObject({
      path: path.join(out, 'same (1).txt'),
    });
    expect(await readFile(path.join(out, 'same.txt'), 'utf8')).toBe('old');
    expect(await readFile(path.join(out, 'same (1).txt'), 'utf8')).toBe('new');
  });
});
