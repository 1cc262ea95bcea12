/** The sending path both apps share: planned files read and handed to the caller's frames. */
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ProtocolError, type RequestItem } from '@ferry/protocol';
import { runCleanup, tempDir } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type FileFrames,
  type OutgoingHooks,
  plannedBytes,
  planRequest,
  sendPlannedFiles,
} from '../src/outgoing.ts';
import { type OfferSource, scanOffer } from '../src/scan.ts';
import { SentFiles } from '../src/sent-files.ts';

afterEach(runCleanup);

type Frame =
  | { kind: 'start'; id: number; offset: number; size: number }
  | { kind: 'data'; bytes: Buffer; room: Buffer }
  | { kind: 'copy'; bytes: Buffer }
  | { kind: 'end'; id: number; sha256: string }
  | { kind: 'abort'; id: number; code: string; message: string }
  | { kind: 'sent'; id: number; sha256: string | undefined }
  | { kind: 'resumed'; id: number; bytes: number }
  | { kind: 'restarted'; id: number };

/** Frames recorded in order (payloads copied), with every buffer given back at once. */
function recorder(headerRoom: number, log: Frame[] = []): FileFrames {
  return {
    start: async (file) => void log.push({ kind: 'start', ...file }),
    data: async (frame, release) => {
      log.push({
        kind: 'data',
        room: Buffer.from(frame.subarray(0, headerRoom)),
        bytes: Buffer.from(frame.subarray(headerRoom)),
      });
      release();
    },
    dataCopy: async (bytes, release) => {
      log.push({ kind: 'copy', bytes: Buffer.from(bytes) });
      release?.();
    },
    end: async (file) => void log.push({ kind: 'end', ...file }),
    abort: async (file) => void log.push({ kind: 'abort', ...file }),
  };
}

function hooksInto(log: Frame[], bytes: { total: number }): OutgoingHooks {
  return {
    onBytes: (n) => (bytes.total += n),
    onSent: (id, sha256) => log.push({ kind: 'sent', id, sha256 }),
    onResumed: (id, n) => log.push({ kind: 'resumed', id, bytes: n }),
    onRestarted: (id) => log.push({ kind: 'restarted', id }),
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Files of the given sizes in a fresh folder, scanned as a sender offers them. */
async function offerOf(
  contents: Record<string, Buffer>,
): Promise<{ offer: OfferSource; root: string }> {
  const root = await tempDir();
  for (const [name, bytes] of Object.entries(contents))
    await writeFile(path.join(root, name), bytes);
  return {
    offer: await scanOffer(Object.keys(contents).map((name) => path.join(root, name))),
    root,
  };
}

/** The bytes each file's data frames carried, by id. */
function carried(log: readonly Frame[]): Map<number, Buffer> {
  const byId = new Map<number, Buffer[]>();
  let current = -1;
  for (const frame of log) {
    if (frame.kind === 'start') {
      current = frame.id;
      byId.set(current, []);
    } else if (frame.kind === 'data' || frame.kind === 'copy') byId.get(current)!.push(frame.bytes);
  }
  return new Map([...byId].map(([id, parts]) => [id, Buffer.concat(parts)]));
}

describe('sendPlannedFiles', { timeout: 10_000 }, () => {
  it('sends each file as start, data, end with its digest, in chunks built behind the header room', async () => {
    const big = randomBytes(300 * 1024 + 5);
    const small = randomBytes(1000);
    const { offer } = await offerOf({
      'big.bin': big,
      'small.txt': small,
      'empty.txt': Buffer.alloc(0),
    });
    const plan = planRequest(
      offer,
      [0, 1, 2].map((id) => ({ id, offset: 0 })),
    );
    const log: Frame[] = [];
    const bytes = { total: 0 };
    await sendPlannedFiles(recorder(9, log), plan, hooksInto(log, bytes), {
      headerRoom: 9,
      chunkBytes: 64 * 1024,
    });

    const contents = [big, small, Buffer.alloc(0)];
    const ids = offer.entries.map((entry) => entry.path);
    const byPath = new Map([
      ['big.bin', big],
      ['small.txt', small],
      ['empty.txt', Buffer.alloc(0)],
    ]);
    expect(ids.sort()).toEqual(['big.bin', 'empty.txt', 'small.txt']);
    const sent = carried(log);
    for (const [id, entry] of offer.entries.entries())
      expect(sent.get(id)!.equals(byPath.get(entry.path)!)).toBe(true);
    expect(bytes.total).toBe(contents.reduce((sum, part) => sum + part.byteLength, 0));
    // Every file ends with its digest, told to the hooks before the end frame goes out.
    for (const [id, entry] of offer.entries.entries()) {
      const digest = sha256(byPath.get(entry.path)!);
      const told = log.findIndex((frame) => frame.kind === 'sent' && frame.id === id);
      const ended = log.findIndex((frame) => frame.kind === 'end' && frame.id === id);
      expect(log[told]).toEqual({ kind: 'sent', id, sha256: digest });
      expect(log[ended]).toEqual({ kind: 'end', id, sha256: digest });
      expect(told).toBeLessThan(ended);
    }
    // Chunks of at most chunkBytes, each with the header's room in front of it.
    const chunks = log.filter((frame) => frame.kind === 'data');
    expect(chunks.length).toBeGreaterThanOrEqual(5);
    for (const chunk of chunks) {
      expect(chunk.room.byteLength).toBe(9);
      expect(chunk.bytes.byteLength).toBeLessThanOrEqual(64 * 1024);
      expect(chunk.bytes.byteLength).toBeGreaterThan(0);
    }
    // The empty file has no data frame at all.
    const emptyId = offer.entries.findIndex((entry) => entry.path === 'empty.txt');
    const emptyStart = log.findIndex((frame) => frame.kind === 'start' && frame.id === emptyId);
    expect(log[emptyStart + 1]).toMatchObject({ kind: 'sent', id: emptyId });
  });

  it('sends a small file read ahead whole as one frame, never larger than a chunk', async () => {
    const small = randomBytes(10 * 1024);
    const medium = randomBytes(100 * 1024);
    const { offer } = await offerOf({ 'a.bin': small, 'b.bin': medium });
    const log: Frame[] = [];
    const plan = planRequest(offer, [
      { id: 0, offset: 0 },
      { id: 1, offset: 0 },
    ]);
    await sendPlannedFiles(recorder(5, log), plan, hooksInto(log, { total: 0 }), {
      headerRoom: 5,
      chunkBytes: 64 * 1024,
    });
    const frames = log.filter((frame) => frame.kind === 'data' || frame.kind === 'copy');
    // a.bin: one copied frame; b.bin (over a chunk) in two chunks built in place.
    expect(frames.map((frame) => [frame.kind, frame.bytes.byteLength])).toEqual([
      ['copy', small.byteLength],
      ['data', 64 * 1024],
      ['data', medium.byteLength - 64 * 1024],
    ]);
  });

  it('C7: a source deleted before its turn is started and aborted without a digest; the next file goes on', async () => {
    const { offer, root } = await offerOf({
      'gone.txt': Buffer.from('bye'),
      'kept.txt': Buffer.from('hello'),
    });
    const goneId = offer.entries.findIndex((entry) => entry.path === 'gone.txt');
    const keptId = 1 - goneId;
    await rm(path.join(root, 'gone.txt'));
    const log: Frame[] = [];
    const plan = planRequest(offer, [
      { id: goneId, offset: 0 },
      { id: keptId, offset: 0 },
    ]);
    await sendPlannedFiles(recorder(5, log), plan, hooksInto(log, { total: 0 }), {
      headerRoom: 5,
      chunkBytes: 64 * 1024,
    });
    expect(log.slice(0, 3)).toEqual([
      { kind: 'sent', id: goneId, sha256: undefined },
      { kind: 'start', id: goneId, offset: 0, size: 3 },
      {
        kind: 'abort',
        id: goneId,
        code: ErrorCode.SOURCE_UNREADABLE,
        message: 'the file no longer exists',
      },
    ]);
    expect(log.at(-1)).toEqual({ kind: 'end', id: keptId, sha256: sha256(Buffer.from('hello')) });
  });

  it("stops with the frames' error when they fail, and sends nothing more", async () => {
    const { offer } = await offerOf({ 'big.bin': randomBytes(512 * 1024) });
    const failure = new Error('the link is gone');
    const log: Frame[] = [];
    let chunks = 0;
    const frames: FileFrames = {
      ...recorder(5, log),
      data: async (_frame, release) => {
        chunks++;
        release();
        if (chunks === 2) throw failure;
      },
    };
    const plan = planRequest(offer, [{ id: 0, offset: 0 }]);
    const options = { headerRoom: 5, chunkBytes: 64 * 1024, readBuffers: 2 };
    await expect(
      sendPlannedFiles(frames, plan, hooksInto(log, { total: 0 }), options),
    ).rejects.toBe(failure);
    expect(chunks).toBe(2);
    expect(log).toEqual([{ kind: 'start', id: 0, offset: 0, size: 512 * 1024 }]);
  });
});

/** 64 KiB chunks: files over that go through the chunked path, smaller ones are read ahead. */
const CHUNK = 64 * 1024;
const OPTIONS = { headerRoom: 5, chunkBytes: CHUNK };

/**
 * Sends one file to a receiver that holds `held` (its first bytes, as it believes): a prefix
 * item when it holds any, from 0 otherwise. Returns what went out and the file as the receiver
 * then has it (`held` up to the offset FILE_START names, then the bytes carried).
 */
async function resumeOne(
  offer: OfferSource,
  held: Buffer,
  options: Parameters<typeof sendPlannedFiles>[3] = OPTIONS,
) {
  const item =
    held.byteLength > 0
      ? { id: 0, offset: held.byteLength, prefix: sha256(held) }
      : { id: 0, offset: 0 };
  const plan = planRequest(offer, [item], { resume: true });
  const log: Frame[] = [];
  const bytes = { total: 0 };
  await sendPlannedFiles(recorder(options.headerRoom, log), plan, hooksInto(log, bytes), options);
  const start = log.find((frame) => frame.kind === 'start')!;
  const result = Buffer.concat([held.subarray(0, start.offset), carried(log).get(0)!]);
  return { log, bytes: bytes.total, start, result };
}

describe('sendPlannedFiles resuming (§13)', { timeout: 20_000 }, () => {
  it('sends only the bytes past a matching prefix, with the digest of the whole file', async () => {
    const data = randomBytes(200 * 1024);
    const { offer } = await offerOf({ 'r.bin': data });
    const { log, bytes, result } = await resumeOne(offer, data.subarray(0, 70_000));
    expect(log[0]).toEqual({ kind: 'resumed', id: 0, bytes: 70_000 });
    expect(log[1]).toEqual({ kind: 'start', id: 0, offset: 70_000, size: data.byteLength });
    expect(carried(log).get(0)!.equals(data.subarray(70_000))).toBe(true);
    expect(bytes).toBe(data.byteLength - 70_000);
    expect(result.equals(data)).toBe(true);
    expect(log.at(-1)).toEqual({ kind: 'end', id: 0, sha256: sha256(data) });
  });

  it.each([
    ['0', () => 0],
    ['1', () => 1],
    ['one chunk − 1', () => CHUNK - 1],
    ['one chunk', () => CHUNK],
    ['one chunk + 1', () => CHUNK + 1],
    ['size − 1', (size: number) => size - 1],
  ])('D3: a receiver holding %s bytes gets exactly the rest, byte for byte', async (_, at) => {
    const data = randomBytes(3 * CHUNK + 777);
    const { offer } = await offerOf({ 'd3.bin': data });
    const offset = at(data.byteLength);
    const { log, bytes, start, result } = await resumeOne(offer, data.subarray(0, offset));
    expect(start).toEqual({ kind: 'start', id: 0, offset, size: data.byteLength });
    expect(bytes).toBe(data.byteLength - offset);
    expect(result.equals(data)).toBe(true);
    expect(log.filter((frame) => frame.kind === 'restarted')).toEqual([]);
    expect(log.at(-1)).toEqual({ kind: 'end', id: 0, sha256: sha256(data) });
  });

  it.each([
    ['large', 3 * CHUNK + 1],
    ['small, read ahead', 1000],
  ])(
    'D2: a %s file the receiver holds whole gets FILE_START at its size, no DATA, and FILE_END',
    async (_, size) => {
      const data = randomBytes(size);
      const { offer } = await offerOf({ 'd2.bin': data });
      const { log, bytes } = await resumeOne(offer, data);
      expect(log).toEqual([
        { kind: 'resumed', id: 0, bytes: size },
        { kind: 'start', id: 0, offset: size, size },
        { kind: 'sent', id: 0, sha256: sha256(data) },
        { kind: 'end', id: 0, sha256: sha256(data) },
      ]);
      expect(bytes).toBe(0);
    },
  );

  it.each([
    ['large', 3 * CHUNK + 9, 2 * CHUNK + 3],
    ['small, read ahead', 5000, 1234],
  ])(
    'D4: a %s source with the same size and other bytes starts over from 0 and goes out whole as it is now',
    async (_, size, offset) => {
      const before = randomBytes(size);
      const now = Buffer.from(before);
      now[offset - 1] = now[offset - 1]! ^ 0xff; // The receiver's last byte held no longer matches.
      const { offer } = await offerOf({ 'd4.bin': now });
      const { log, bytes, start, result } = await resumeOne(offer, before.subarray(0, offset));
      expect(log[0]).toEqual({ kind: 'restarted', id: 0 });
      expect(start).toEqual({ kind: 'start', id: 0, offset: 0, size });
      expect(result.equals(now)).toBe(true);
      expect(bytes).toBe(size);
      expect(log.at(-1)).toEqual({ kind: 'end', id: 0, sha256: sha256(now) });
    },
  );

  it('D4: a source that grew past what the receiver holds still matches its prefix: only the new bytes go out', async () => {
    const old = randomBytes(2 * CHUNK + 5);
    const grown = Buffer.concat([old, randomBytes(CHUNK + 11)]);
    const { offer } = await offerOf({ 'grown.log': grown });
    const { bytes, start, result } = await resumeOne(offer, old);
    expect(start).toMatchObject({ offset: old.byteLength });
    expect(bytes).toBe(CHUNK + 11);
    expect(result.equals(grown)).toBe(true);
  });

  it('hashes a long prefix inside the busy wrapper, with nothing sent meanwhile', async () => {
    const data = randomBytes(20 * CHUNK + 3);
    const { offer } = await offerOf({ 'long.bin': data });
    let calls = 0;
    let sentWhileBusy = -1;
    const log: Frame[] = [];
    const plan = planRequest(
      offer,
      [{ id: 0, offset: 19 * CHUNK, prefix: sha256(data.subarray(0, 19 * CHUNK)) }],
      { resume: true },
    );
    await sendPlannedFiles(recorder(5, log), plan, hooksInto(log, { total: 0 }), {
      ...OPTIONS,
      busy: async (work) => {
        calls++;
        const before = log.length;
        const value = await work;
        sentWhileBusy = log.length - before;
        return value;
      },
    });
    expect(calls).toBe(1);
    expect(sentWhileBusy).toBe(0);
    expect(Buffer.concat([data.subarray(0, 19 * CHUNK), carried(log).get(0)!]).equals(data)).toBe(
      true,
    );
  });

  it("stops with the busy wrapper's error (the link failed while hashing a prefix), and sends nothing", async () => {
    const data = randomBytes(8 * CHUNK);
    const { offer } = await offerOf({ 'cut.bin': data });
    const failure = new Error('the link is gone');
    const log: Frame[] = [];
    const plan = planRequest(
      offer,
      [{ id: 0, offset: 7 * CHUNK, prefix: sha256(data.subarray(0, 7 * CHUNK)) }],
      { resume: true },
    );
    await expect(
      sendPlannedFiles(recorder(5, log), plan, hooksInto(log, { total: 0 }), {
        ...OPTIONS,
        busy: () => Promise.reject(failure),
      }),
    ).rejects.toBe(failure);
    expect(log).toEqual([]);
  });

  it('K12: a source rewritten in place while its prefix is hashed is aborted, never stitched', async () => {
    const data = randomBytes(6 * CHUNK);
    const { offer, root } = await offerOf({ 'k12.bin': data });
    const log: Frame[] = [];
    const plan = planRequest(
      offer,
      [{ id: 0, offset: 5 * CHUNK, prefix: sha256(data.subarray(0, 5 * CHUNK)) }],
      { resume: true },
    );
    await sendPlannedFiles(recorder(5, log), plan, hooksInto(log, { total: 0 }), {
      ...OPTIONS,
      busy: async (work) => {
        // The same bytes written back: same size, and the change time moves.
        const file = await open(path.join(root, 'k12.bin'), 'r+');
        await file.write(data.subarray(0, 1), 0, 1, 0);
        await file.close();
        return work;
      },
    });
    expect(log.at(-1)).toMatchObject({ kind: 'abort', id: 0, code: ErrorCode.SOURCE_CHANGED });
    expect(log.filter((frame) => frame.kind === 'end')).toEqual([]);
  });

  it('C7: a source grown since the offer is aborted before any prefix is compared', async () => {
    const data = randomBytes(2 * CHUNK);
    const { offer, root } = await offerOf({ 'c7.bin': data });
    await appendFile(path.join(root, 'c7.bin'), 'more');
    const { log } = await resumeOne(offer, data.subarray(0, CHUNK));
    expect(log.filter((frame) => frame.kind === 'resumed' || frame.kind === 'restarted')).toEqual(
      [],
    );
    expect(log.at(-1)).toMatchObject({ kind: 'abort', id: 0, code: ErrorCode.SOURCE_CHANGED });
  });

  it('reads small prefix files ahead with the rest, each matched or started over on its own', async () => {
    const files = Array.from({ length: 5 }, () => randomBytes(3000));
    const { offer } = await offerOf(
      Object.fromEntries(files.map((bytes, i) => [`s${i}.bin`, bytes])),
    );
    const byId = offer.entries.map((entry) => files[Number(entry.path.slice(1, -4))]!);
    const held = byId.map((bytes, id) =>
      id === 2 ? randomBytes(100) : bytes.subarray(0, 100 * id),
    );
    const plan = planRequest(
      offer,
      held.map((bytes, id) =>
        bytes.byteLength > 0
          ? { id, offset: bytes.byteLength, prefix: sha256(bytes) }
          : { id, offset: 0 },
      ),
      { resume: true },
    );
    const log: Frame[] = [];
    await sendPlannedFiles(recorder(5, log), plan, hooksInto(log, { total: 0 }), OPTIONS);
    expect(log.filter((frame) => frame.kind === 'data')).toEqual([]);
    expect(log.filter((frame) => frame.kind === 'restarted')).toEqual([
      { kind: 'restarted', id: 2 },
    ]);
    const starts = log.filter((frame) => frame.kind === 'start');
    expect(starts.map((frame) => frame.offset)).toEqual([0, 100, 0, 300, 400]);
    const sent = carried(log);
    for (const [id, bytes] of byId.entries()) {
      const offset = starts[id]!.offset;
      expect(Buffer.concat([held[id]!.subarray(0, offset), sent.get(id)!]).equals(bytes)).toBe(
        true,
      );
    }
  });
});

describe('planRequest', () => {
  /** The code planRequest refuses `files` with, or 'accepted'. */
  function verdict(offer: OfferSource, files: RequestItem[], resume = true): string {
    try {
      planRequest(offer, files, { resume });
      return 'accepted';
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolError);
      return (error as ProtocolError).code;
    }
  }
  const prefix = sha256(Buffer.from('ab'));

  it('refuses an id asked twice', async () => {
    const { offer } = await offerOf({ 'a.txt': Buffer.from('abc') });
    const twice = [
      { id: 0, offset: 0 },
      { id: 0, offset: 0 },
    ];
    expect(verdict(offer, twice)).toBe(ErrorCode.BAD_MESSAGE);
    expect(verdict(offer, [{ id: 0, offset: 0 }])).toBe('accepted');
  });

  it('D7: refuses an id that is not a file of the offer with ERR_UNKNOWN_FILE, with or without a prefix', async () => {
    const { offer } = await offerOf({ 'a.txt': Buffer.from('abc') });
    expect(verdict(offer, [{ id: 7, offset: 0 }])).toBe(ErrorCode.UNKNOWN_FILE);
    expect(verdict(offer, [{ id: 1, offset: 2, prefix }])).toBe(ErrorCode.UNKNOWN_FILE);
  });

  it('D1: refuses an offset past the end of the file with ERR_BAD_MESSAGE; up to the size is allowed', async () => {
    const { offer } = await offerOf({ 'a.txt': Buffer.from('abc') });
    expect(verdict(offer, [{ id: 0, offset: 4, prefix }])).toBe(ErrorCode.BAD_MESSAGE);
    expect(verdict(offer, [{ id: 0, offset: 4 }])).toBe(ErrorCode.BAD_MESSAGE);
    expect(verdict(offer, [{ id: 0, offset: 3, prefix }])).toBe('accepted');
  });

  it('D1: refuses a prefix when resuming was not offered, an offset without a prefix, and a prefix of no bytes', async () => {
    const { offer } = await offerOf({ 'a.txt': Buffer.from('abc') });
    expect(verdict(offer, [{ id: 0, offset: 2, prefix }], false)).toBe(ErrorCode.BAD_MESSAGE);
    expect(verdict(offer, [{ id: 0, offset: 2 }])).toBe(ErrorCode.BAD_MESSAGE);
    expect(verdict(offer, [{ id: 0, offset: 2 }], false)).toBe(ErrorCode.BAD_MESSAGE);
    expect(verdict(offer, [{ id: 0, offset: 0, prefix }])).toBe(ErrorCode.BAD_MESSAGE);
    expect(verdict(offer, [{ id: 0, offset: 2, prefix }])).toBe('accepted');
    const planned = planRequest(offer, [{ id: 0, offset: 2, prefix }], { resume: true });
    expect(planned).toMatchObject([{ id: 0, offset: 2, prefix }]);
    expect(plannedBytes(planned)).toBe(1);
  });
});

describe('SentFiles', () => {
  it('S3: takes acknowledgements in the order sent, and refuses a saved file with another digest', async () => {
    const { offer } = await offerOf({
      'a.txt': Buffer.from('a'),
      'b.txt': Buffer.from('bb'),
      'c.txt': Buffer.from('ccc'),
    });
    const events: string[] = [];
    const acks = new SentFiles(
      offer,
      [0, 1, 2].map((id) => ({ id, offset: 0 })),
      {
        onFileAcked: (file, size) => events.push(`saved ${file} ${size}`),
        onFileFailed: (file, code) => events.push(`failed ${file} ${code}`),
      },
    );
    const digest = sha256(Buffer.from('a'));
    // Nothing is sent yet: no acknowledgement is expected.
    expect(() => acks.acknowledge({ id: 0, ok: true, sha256: digest })).toThrow(
      expect.objectContaining({ code: ErrorCode.UNEXPECTED_FRAME }),
    );
    acks.sent(0, digest);
    acks.sent(1);
    acks.acknowledge({ id: 0, ok: true, sha256: digest });
    expect(() => acks.acknowledge({ id: 2, ok: false, code: ErrorCode.WRITE_FAILED })).toThrow(
      expect.objectContaining({ code: ErrorCode.UNEXPECTED_FRAME }),
    );
    // A file aborted by the sender cannot have been saved, whatever the receiver says.
    expect(() => acks.acknowledge({ id: 1, ok: true, sha256: digest })).toThrow(
      expect.objectContaining({ code: ErrorCode.ACK_MISMATCH }),
    );
    expect(acks.complete).toBe(false);
    acks.sent(2, 'f'.repeat(64));
    acks.acknowledge({ id: 2, ok: false, code: ErrorCode.WRITE_FAILED });
    expect(acks.complete).toBe(true);
    expect([acks.saved, acks.failed, acks.bytes]).toEqual([1, 2, 1]);
    expect(events).toEqual([
      `saved ${offer.entries[0]!.path} 1`,
      `failed ${offer.entries[1]!.path} ${ErrorCode.ACK_MISMATCH}`,
      `failed ${offer.entries[2]!.path} ${ErrorCode.WRITE_FAILED}`,
    ]);
  });
});
