/** The file writer: order, bounded write sizes, backpressure, digests, and failures. */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileSink, MAX_WRITE_BYTES } from '../src/file-sink.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-sink-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'file.part');
}

/** The byte count of every write and writev call the sink makes. */
function recordWrites(): number[] {
  const sizes: number[] = [];
  const write = fs.write;
  const writev = fs.writev;
  vi.spyOn(fs, 'write').mockImplementation(((fd: number, buffer: Uint8Array, offset: number, length: number, ...rest: unknown[]) => {
    sizes.push(length);
    return (write as (...args: unknown[]) => void)(fd, buffer, offset, length, ...rest);
  }) as typeof fs.write);
  vi.spyOn(fs, 'writev').mockImplementation(((fd: number, buffers: Uint8Array[], ...rest: unknown[]) => {
    sizes.push(buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0));
    return (writev as (...args: unknown[]) => void)(fd, buffers, ...rest);
  }) as typeof fs.writev);
  return sizes;
}

/** Feeds `pieces` the way the receiver does: waiting whenever the sink asks to. */
async function feed(sink: FileSink, pieces: readonly Uint8Array[], released?: number[]): Promise<void> {
  for (const [index, piece] of pieces.entries()) {
    const wait = sink.write(piece, released ? () => released.push(index) : undefined);
    if (wait) await wait;
  }
}

describe('FileSink', { timeout: 10_000 }, () => {
  it('writes every byte in order, no more than MAX_WRITE_BYTES per call, and hashes them', async () => {
    const file = await tempFile();
    const data = randomBytes(5 * 1024 * 1024 + 12_345);
    const pieces = [data.subarray(0, 3_000_000), data.subarray(3_000_000, 3_000_100), data.subarray(3_000_100)];
    const sizes = recordWrites();
    const sink = new FileSink(await open(file, 'wx'), data.byteLength);
    await feed(sink, pieces);
    const digest = sink.digest();
    await sink.finish(false);

    expect((await readFile(file)).equals(data)).toBe(true);
    expect(digest).toBe(createHash('sha256').update(data).digest('hex'));
    expect(sink.received).toBe(data.byteLength);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_WRITE_BYTES);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(data.byteLength);
  });

  it('gathers small pieces into calls of up to MAX_WRITE_BYTES instead of one call each', async () => {
    const file = await tempFile();
    const pieces = Array.from({ length: 256 }, () => randomBytes(16 * 1024));
    const sizes = recordWrites();
    const sink = new FileSink(await open(file, 'wx'), 4 * 1024 * 1024);
    await feed(sink, pieces);
    await sink.finish(false);

    expect((await readFile(file)).equals(Buffer.concat(pieces))).toBe(true);
    // The first piece goes out alone (nothing else is queued yet); the rest are gathered.
    expect(sizes.length).toBeLessThan(pieces.length / 4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_WRITE_BYTES);
  });

  it('gives each piece back only once it is in the file, in order', async () => {
    const file = await tempFile();
    const pieces = Array.from({ length: 12 }, () => randomBytes(512 * 1024));
    const released: number[] = [];
    const sink = new FileSink(await open(file, 'wx'), 6 * 1024 * 1024);
    let inFile = 0;
    for (const [index, piece] of pieces.entries()) {
      const wait = sink.write(piece, () => {
        // Released only once the file holds it.
        expect(fs.statSync(file).size).toBeGreaterThanOrEqual((index + 1) * piece.byteLength);
        inFile++;
        released.push(index);
      });
      if (index === 0) expect(released).toEqual([]);
      if (wait) await wait;
    }
    await sink.finish(false);
    expect(inFile).toBe(12);
    expect(released).toEqual([...Array(12).keys()]);
    expect((await readFile(file)).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('asks the caller to wait once 2 MiB are queued for the disk', async () => {
    const file = await tempFile();
    const sink = new FileSink(await open(file, 'wx'), 4 * 1024 * 1024);
    const waits: (Promise<void> | undefined)[] = [];
    for (let i = 0; i < 4; i++) waits.push(sink.write(randomBytes(1024 * 1024)));
    expect(waits[0]).toBeUndefined();
    expect(waits[1]).toBeInstanceOf(Promise);
    expect(waits[3]).toBeInstanceOf(Promise);
    await Promise.all(waits);
    await sink.finish(false);
    expect((await readFile(file)).byteLength).toBe(4 * 1024 * 1024);
  });

  it('turns a failed write into an error for the waiting caller and for finish, and gives every piece back', async () => {
    const file = await tempFile();
    const failure = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const handle = await open(file, 'wx');
    // Only this file's writes fail; anything else in the process writes as usual.
    for (const name of ['write', 'writev'] as const) {
      const real = fs[name] as (...args: unknown[]) => void;
      vi.spyOn(fs, name).mockImplementation(((fd: number, ...args: unknown[]) => {
        if (fd !== handle.fd) return real(fd, ...args);
        const callback = args.at(-1) as (error: Error | null, written: number) => void;
        setImmediate(() => callback(failure, 0));
      }) as never);
    }
    const sink = new FileSink(handle, 8 * 1024 * 1024);
    const released: number[] = [];
    const pieces = Array.from({ length: 3 }, () => randomBytes(1024 * 1024));
    await expect(feed(sink, pieces, released)).rejects.toBe(failure);
    let late = 0;
    expect(() => sink.write(randomBytes(10), () => late++)).toThrow(failure);
    // Refused bytes are given back at once: their memory is not held.
    expect(late).toBe(1);
    await expect(sink.finish(false)).rejects.toBe(failure);
    await sink.abort();
    // The caller stopped at the failed wait: the two pieces it gave are back, and nothing else.
    expect(released.sort()).toEqual([0, 1]);
  });

  it('abort waits for a write under way before giving its piece back, then closes the file', async () => {
    const file = await tempFile();
    const handle = await open(file, 'wx');
    const sink = new FileSink(handle, 4 * 1024 * 1024);
    const released: number[] = [];
    expect(sink.write(randomBytes(1024 * 1024), () => released.push(0))).toBeUndefined();
    const waiting = sink.write(randomBytes(1024 * 1024), () => released.push(1));
    const refused = expect(waiting).rejects.toThrow(/abandoned/);
    await sink.abort();
    await refused;
    expect(released.sort()).toEqual([0, 1]);
    await expect(handle.stat()).rejects.toThrow();
    await sink.abort();
  });

  it('closes the file when the final sync fails, and reports the failure', async () => {
    const file = await tempFile();
    const handle = await open(file, 'wx');
    const failure = Object.assign(new Error('input/output error'), { code: 'EIO' });
    vi.spyOn(handle, 'datasync').mockRejectedValue(failure);
    const sink = new FileSink(handle, 3);
    sink.write(Uint8Array.of(1, 2, 3));
    await expect(sink.finish(true)).rejects.toBe(failure);
    expect(handle.fd).toBe(-1);
    await sink.abort();
    expect(() => sink.write(Uint8Array.of(4))).toThrow();
  });

  it('fails instead of retrying forever when the file system takes no bytes', async () => {
    const file = await tempFile();
    const handle = await open(file, 'wx');
    const real = fs.write as (...args: unknown[]) => void;
    vi.spyOn(fs, 'write').mockImplementation(((fd: number, ...args: unknown[]) => {
      if (fd !== handle.fd) return real(fd, ...args);
      const callback = args.at(-1) as (error: Error | null, written: number) => void;
      setImmediate(() => callback(null, 0));
    }) as never);
    const sink = new FileSink(handle, 3);
    sink.write(Uint8Array.of(1, 2, 3));
    await expect(sink.finish(false)).rejects.toMatchObject({ code: 'EIO' });
    expect(handle.fd).toBe(-1);
  });

  it('refuses bytes once finishing has begun, giving them back', async () => {
    const file = await tempFile();
    const sink = new FileSink(await open(file, 'wx'), 6);
    sink.write(Uint8Array.of(1, 2, 3));
    const finishing = sink.finish(false);
    let released = 0;
    expect(() => sink.write(Uint8Array.of(4, 5, 6), () => released++)).toThrow(/being closed/);
    expect(released).toBe(1);
    await finishing;
    expect([...(await readFile(file))]).toEqual([1, 2, 3]);
  });
});
