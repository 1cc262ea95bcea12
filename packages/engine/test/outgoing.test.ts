/** The sending path both apps share: planned files read and handed to the caller's frames. */
import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ProtocolError } from '@ferry/protocol';
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
  | { kind: 'sent'; id: number; sha256: string | undefined };

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

  it('resumes a file at its offset: only the bytes from there go out, and the digest covers the whole file', async () => {
    const data = randomBytes(200 * 1024);
    const { offer } = await offerOf({ 'r.bin': data });
    const log: Frame[] = [];
    const bytes = { total: 0 };
    const plan = planRequest(offer, [{ id: 0, offset: 70_000 }]);
    expect(plannedBytes(plan)).toBe(data.byteLength - 70_000);
    await sendPlannedFiles(recorder(5, log), plan, hooksInto(log, bytes), {
      headerRoom: 5,
      chunkBytes: 64 * 1024,
    });
    expect(log[0]).toEqual({ kind: 'start', id: 0, offset: 70_000, size: data.byteLength });
    expect(carried(log).get(0)!.equals(data.subarray(70_000))).toBe(true);
    expect(bytes.total).toBe(data.byteLength - 70_000);
    expect(log.at(-1)).toEqual({ kind: 'end', id: 0, sha256: sha256(data) });
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

describe('planRequest', () => {
  it('refuses an id that is not a file of the offer, one asked twice, and an offset past the end', async () => {
    const { offer } = await offerOf({ 'a.txt': Buffer.from('abc') });
    const code = (files: { id: number; offset: number }[]) => {
      try {
        planRequest(offer, files);
        return 'accepted';
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
        return (error as ProtocolError).code;
      }
    };
    expect(code([{ id: 7, offset: 0 }])).toBe(ErrorCode.UNKNOWN_FILE);
    expect(
      code([
        { id: 0, offset: 0 },
        { id: 0, offset: 0 },
      ]),
    ).toBe(ErrorCode.BAD_MESSAGE);
    expect(code([{ id: 0, offset: 4 }])).toBe(ErrorCode.BAD_MESSAGE);
    expect(code([{ id: 0, offset: 3 }])).toBe('accepted');
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
