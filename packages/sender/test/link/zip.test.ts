import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  appendFile,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  stat,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { scanOffer } from '@ferry/engine';
import { ErrorCode } from '@ferry/protocol';
import { hashTree } from '@ferry/testkit/files';
import { runCleanup, tempDir, within } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import { folderZip } from '../../src/link/zip.ts';

afterEach(runCleanup);

const run = promisify(execFile);
/** unzip reads and writes names as UTF-8 only in a UTF-8 locale. */
const UNZIP_ENV = { ...process.env, LC_ALL: 'C.UTF-8' };
const KiB = 1024;

/** Writes `content` at `root/relative`, creating folders on the way. */
async function put(root: string, relative: string, content: string | Buffer): Promise<void> {
  const file = path.join(root, ...relative.split('/'));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

/** Random bytes: no run of them repeats elsewhere in a file. */
function bytes(size: number): Buffer {
  return randomBytes(size);
}

const ZEROS = Buffer.alloc(1024 * KiB);

/** Whether every byte of `chunk` is zero (compared natively, a block at a time). */
function allZeros(chunk: Buffer): boolean {
  for (let at = 0; at < chunk.byteLength; at += ZEROS.byteLength) {
    const part = chunk.subarray(at, at + ZEROS.byteLength);
    if (!part.equals(ZEROS.subarray(0, part.byteLength))) return false;
  }
  return true;
}

/**
 * Streams `stream` into `file`, seeking over chunks that are all zeros so that an archive of
 * a sparse file stays sparse on disk; returns the number of bytes streamed.
 */
async function saveSparse(stream: NodeJS.ReadableStream, file: string): Promise<number> {
  const handle = await open(file, 'wx');
  let position = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!allZeros(chunk)) await handle.write(chunk, 0, chunk.byteLength, position);
      position += chunk.byteLength;
    }
    await handle.truncate(position);
  } finally {
    await handle.close();
  }
  return position;
}

/** Reads the whole stream, or the error that ended it, with the bytes that came before it. */
async function drain(
  stream: NodeJS.ReadableStream,
): Promise<{ bytes: number; error?: Error & { code?: string } }> {
  let bytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.byteLength;
    return { bytes };
  } catch (error) {
    return { bytes, error: error as Error & { code?: string } };
  }
}

/** `length` bytes of `file` from `position`. */
async function readAt(file: string, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const handle = await open(file, 'r');
  try {
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    expect(bytesRead).toBe(length);
  } finally {
    await handle.close();
  }
  return buffer;
}

/** The CRC-32 of a whole file, computed natively. */
async function crcOf(file: string): Promise<number> {
  let crc = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * KiB }))
    crc = zlib.crc32(chunk as Buffer, crc);
  return crc;
}

/** One record of a zip's central directory, with ZIP64 fields applied. */
interface DirectoryRecord {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly size: number;
  readonly compressedSize: number;
  readonly offset: number;
}

/**
 * Reads the central directory of a ZIP64 archive of `size` bytes, by the book (APPNOTE 4.3.14
 * to 4.3.16, 4.5.3): the end record, the ZIP64 locator and end record, then each record with
 * its ZIP64 extra field.
 */
async function centralDirectory(archive: string, size: number): Promise<DirectoryRecord[]> {
  const end = await readAt(archive, size - 22, 22);
  expect(end.readUInt32LE(0)).toBe(0x06054b50);
  const locator = await readAt(archive, size - 42, 20);
  expect(locator.readUInt32LE(0)).toBe(0x07064b50);
  const zip64End = await readAt(archive, Number(locator.readBigUInt64LE(8)), 56);
  expect(zip64End.readUInt32LE(0)).toBe(0x06064b50);
  const count = Number(zip64End.readBigUInt64LE(32));
  const directory = await readAt(
    archive,
    Number(zip64End.readBigUInt64LE(48)),
    Number(zip64End.readBigUInt64LE(40)),
  );
  const records: DirectoryRecord[] = [];
  for (let at = 0, index = 0; index < count; index++) {
    expect(directory.readUInt32LE(at)).toBe(0x02014b50);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    let compressedSize = directory.readUInt32LE(at + 20);
    let size = directory.readUInt32LE(at + 24);
    let offset = directory.readUInt32LE(at + 42);
    const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let field = 0; field + 4 <= extra.byteLength; field += 4 + extra.readUInt16LE(field + 2)) {
      if (extra.readUInt16LE(field) !== 0x0001) continue;
      let value = field + 4;
      const next = () => {
        const read = Number(extra.readBigUInt64LE(value));
        value += 8;
        return read;
      };
      if (size === 0xffffffff) size = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (offset === 0xffffffff) offset = next();
    }
    records.push({
      name: directory.toString('utf8', at + 46, at + 46 + nameLength),
      method: directory.readUInt16LE(at + 10),
      crc: directory.readUInt32LE(at + 16),
      size,
      compressedSize,
      offset,
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return records;
}

/** How many of this process's descriptors have `file` open (Linux's /proc). */
async function openCount(file: string): Promise<number> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(
    fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return targets.filter((target) => target === file).length;
}

/** A folder with nested paths, non-ASCII names, empty folders and files of several sizes. */
async function sampleFolder(root: string): Promise<string> {
  const folder = path.join(root, 'Ferienfotos 2026');
  await put(folder, 'readme.txt', 'hello\n');
  await put(folder, 'leer.txt', '');
  await put(folder, 'Ärger/über/größe.bin', bytes(300 * KiB + 7));
  await put(folder, '日本語/ファイル.txt', 'こんにちは\n');
  await put(folder, 'emoji 🚢/ship.bin', bytes(1 * KiB));
  await put(folder, 'a/b/c/d/deep.txt', 'deep\n');
  await mkdir(path.join(folder, 'empty'));
  await mkdir(path.join(folder, 'a/b/also empty'), { recursive: true });
  await mkdir(path.join(folder, 'Ärger/leerer Ordner'), { recursive: true });
  return folder;
}

describe('folderZip', () => {
  it('L6: zips a folder that unzip -t accepts and unzips to the same files, empty folders and names', async () => {
    const root = await tempDir();
    const folder = await sampleFolder(path.join(root, 'source'));
    await put(root, 'source/beside.txt', 'not in the zip');
    const offer = await scanOffer([folder, path.join(root, 'source', 'beside.txt')]);
    const zip = folderZip(offer, 0);
    expect(zip.name).toBe('Ferienfotos 2026.zip');

    const archive = path.join(root, zip.name);
    const streamed = await within(saveSparse(zip.open(), archive), 'the archive');
    expect(streamed).toBe(zip.size);
    expect((await stat(archive)).size).toBe(zip.size);

    await run('unzip', ['-t', '-q', archive], { env: UNZIP_ENV, timeout: 30_000 });
    const out = path.join(root, 'out');
    await run('unzip', ['-q', archive, '-d', out], { env: UNZIP_ENV, timeout: 30_000 });
    // The offered folder alone, under its own name; nothing beside it.
    const expected = Object.fromEntries([
      ['Ferienfotos 2026', { kind: 'dir' }],
      ...Object.entries(await hashTree(folder)).map(([relative, entry]) => [
        `Ferienfotos 2026/${relative}`,
        entry,
      ]),
    ]);
    expect(await hashTree(out)).toEqual(expected);
  });

  it('L6: lists only the offered paths, each folder entry only when it is empty', async () => {
    const root = await tempDir();
    const folder = await sampleFolder(root);
    const offer = await scanOffer([folder]);
    const zip = folderZip(offer, 0);
    const archive = path.join(root, 'listed.zip');
    await saveSparse(zip.open(), archive);
    const { stdout } = await run('zipinfo', ['-1', archive], { env: UNZIP_ENV, timeout: 30_000 });
    expect(stdout.trim().split('\n').sort()).toEqual(
      [
        'Ferienfotos 2026/a/b/also empty/',
        'Ferienfotos 2026/a/b/c/d/deep.txt',
        'Ferienfotos 2026/emoji 🚢/ship.bin',
        'Ferienfotos 2026/empty/',
        'Ferienfotos 2026/leer.txt',
        'Ferienfotos 2026/readme.txt',
        'Ferienfotos 2026/Ärger/leerer Ordner/',
        'Ferienfotos 2026/Ärger/über/größe.bin',
        'Ferienfotos 2026/日本語/ファイル.txt',
      ].sort(),
    );
  });

  it('zips an empty folder as one folder entry', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'nothing'));
    const offer = await scanOffer([path.join(root, 'nothing')]);
    const zip = folderZip(offer, 0);
    const archive = path.join(root, 'nothing.zip');
    expect(await saveSparse(zip.open(), archive)).toBe(zip.size);
    await run('unzip', ['-t', '-q', archive], { env: UNZIP_ENV, timeout: 30_000 });
    const { stdout } = await run('zipinfo', ['-1', archive], { env: UNZIP_ENV, timeout: 30_000 });
    expect(stdout.trim()).toBe('nothing/');
  });

  it('announces the exact size when the central directory passes 64 KiB', async () => {
    const root = await tempDir();
    const folder = path.join(root, 'many');
    await mkdir(folder);
    const long = 'a-name-long-enough-to-fill-the-central-directory-quickly';
    for (let i = 0; i < 1200; i++) await writeFile(path.join(folder, `${long}-${i}.txt`), `${i}`);
    const offer = await scanOffer([folder]);
    const zip = folderZip(offer, 0);
    const archive = path.join(root, 'many.zip');
    expect(await within(saveSparse(zip.open(), archive), 'the archive')).toBe(zip.size);
    await run('unzip', ['-t', '-q', archive], { env: UNZIP_ENV, timeout: 30_000 });
  });

  it('L6: writes ZIP64 past 4 GiB: 64-bit sizes, offsets and data descriptor, read by Info-ZIP', async () => {
    const root = await tempDir();
    const folder = path.join(root, 'big');
    await mkdir(folder);
    const sparse = await open(path.join(folder, 'sparse.bin'), 'wx');
    const huge = 4 * 1024 * 1024 * 1024 + 5;
    try {
      await sparse.truncate(huge - 5);
      await sparse.write('tail!', huge - 5);
    } finally {
      await sparse.close();
    }
    await writeFile(path.join(folder, 'z-after.txt'), 'after the big one\n');
    const offer = await scanOffer([folder]);
    const zip = folderZip(offer, 0);
    expect(zip.size).toBeGreaterThan(huge);
    const archive = path.join(root, 'big.zip');
    expect(await within(saveSparse(zip.open(), archive), 'the archive', () => '', 60_000)).toBe(
      zip.size,
    );

    // Info-ZIP reads the ZIP64 directory, and finds the entry past 4 GiB through it. (unzip -t
    // would read 4 GiB again, too slow here; the archive's structure is checked below instead.)
    const { stdout } = await run('unzip', ['-p', archive, 'big/z-after.txt'], {
      env: UNZIP_ENV,
      timeout: 60_000,
    });
    expect(stdout).toBe('after the big one\n');
    const { stdout: listing } = await run('zipinfo', ['-l', archive, 'big/sparse.bin'], {
      env: UNZIP_ENV,
      timeout: 30_000,
    });
    expect(listing).toContain(String(huge));

    const records = await centralDirectory(archive, zip.size);
    expect(records.map((record) => record.name).sort()).toEqual([
      'big/sparse.bin',
      'big/z-after.txt',
    ]);
    const big = records.find((record) => record.name === 'big/sparse.bin')!;
    expect(big).toMatchObject({ method: 0, size: huge, compressedSize: huge, offset: 0 });
    expect(big.crc).toBe(await crcOf(path.join(folder, 'sparse.bin')));
    // After the stored bytes, a ZIP64 data descriptor with the same CRC and 64-bit sizes.
    const descriptor = await readAt(
      archive,
      big.offset + 30 + Buffer.byteLength(big.name) + huge,
      24,
    );
    expect(descriptor.readUInt32LE(0)).toBe(0x08074b50);
    expect(descriptor.readUInt32LE(4)).toBe(big.crc);
    expect(Number(descriptor.readBigUInt64LE(8))).toBe(huge);
    expect(Number(descriptor.readBigUInt64LE(16))).toBe(huge);
    const after = records.find((record) => record.name === 'big/z-after.txt')!;
    expect(after.offset).toBe(big.offset + 30 + Buffer.byteLength(big.name) + huge + 24);
  }, 120_000);

  it('L5: a file changed before the archive reaches it ends the stream with SOURCE_CHANGED', async () => {
    const root = await tempDir();
    const folder = path.join(root, 'f');
    await put(folder, 'a-first.bin', bytes(1024 * KiB));
    await put(folder, 'b-second.txt', 'second');
    const offer = await scanOffer([folder]);
    const zip = folderZip(offer, 0);
    const stream = zip.open();
    // The second file is opened only when the archive gets to it: change it now.
    await appendFile(path.join(folder, 'b-second.txt'), ' and more');
    const result = await within(drain(stream), 'the archive to fail');
    expect(result.error?.code).toBe(ErrorCode.SOURCE_CHANGED);
    expect(result.bytes).toBeLessThan(zip.size);
  });

  it('L5: a file rewritten in place while it is zipped ends the stream before its last bytes', async () => {
    const root = await tempDir();
    const folder = path.join(root, 'f');
    const content = bytes(4096 * KiB);
    await put(folder, 'only.bin', content);
    const offer = await scanOffer([folder]);
    const zip = folderZip(offer, 0);
    const stream = zip.open() as NodeJS.ReadableStream & AsyncIterable<Buffer>;
    const received: Buffer[] = [];
    let error: (Error & { code?: string }) | undefined;
    let rewritten = false;
    try {
      for await (const chunk of stream) {
        received.push(chunk);
        if (!rewritten && Buffer.concat(received).byteLength > 512 * KiB) {
          rewritten = true;
          // Same size, other bytes: only the change time tells.
          const handle = await open(path.join(folder, 'only.bin'), 'r+');
          try {
            await handle.write(Buffer.alloc(64 * KiB, 0xee), 0, 64 * KiB, 1024 * KiB);
          } finally {
            await handle.close();
          }
        }
      }
    } catch (caught) {
      error = caught as Error & { code?: string };
    }
    expect(rewritten).toBe(true);
    expect(error?.code).toBe(ErrorCode.SOURCE_CHANGED);
    // The rewritten bytes never follow the old ones as if they were one file: the file's last
    // chunk is held back until the file is checked.
    const body = Buffer.concat(received);
    expect(body.includes(content.subarray(content.byteLength - 4 * KiB))).toBe(false);
  });

  it('L8: closes the open file when the reader goes away mid-archive', async () => {
    const root = await tempDir();
    const folder = path.join(root, 'f');
    await put(folder, 'big.bin', bytes(4096 * KiB));
    const file = await realpath(path.join(folder, 'big.bin'));
    const zip = folderZip(await scanOffer([folder]), 0);
    const stream = zip.open() as NodeJS.ReadableStream & AsyncIterable<Buffer>;
    let open = 0;
    for await (const _ of stream) {
      // The entry's header may come before its file is opened: read on until it is.
      open = await openCount(file);
      if (open === 0) continue;
      break; // Leaving the loop destroys the stream, as a client hanging up does.
    }
    expect(open).toBe(1);
    await within(
      (async () => {
        while ((await openCount(file)) > 0) await new Promise((resolve) => setImmediate(resolve));
      })(),
      'the file to be closed',
    );
  });

  it('refuses an entry that is not a top-level folder', async () => {
    const root = await tempDir();
    await put(root, 'd/inner/x.txt', 'x');
    await put(root, 'file.txt', 'file');
    const offer = await scanOffer([path.join(root, 'd'), path.join(root, 'file.txt')]);
    const inner = offer.entries.findIndex((entry) => entry.path === 'd/inner');
    const file = offer.entries.findIndex((entry) => entry.path === 'file.txt');
    expect(() => folderZip(offer, inner)).toThrow(RangeError);
    expect(() => folderZip(offer, file)).toThrow(RangeError);
    expect(() => folderZip(offer, offer.entries.length)).toThrow(RangeError);
  });

  it('makes the same archive on every open', async () => {
    const root = await tempDir();
    const folder = await sampleFolder(root);
    const zip = folderZip(await scanOffer([folder]), 0);
    const one = path.join(root, 'one.zip');
    const two = path.join(root, 'two.zip');
    await saveSparse(zip.open(), one);
    await saveSparse(zip.open(), two);
    expect((await readFile(one)).equals(await readFile(two))).toBe(true);
  });
});
