import { randomBytes } from 'node:crypto';
import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCleanup, tempDir } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferPool, FreshBuffers } from '../src/buffer-pool.ts';
import { openSource, scanOffer } from '../src/scan.ts';
import { ChunkReader } from '../src/source-reader.ts';
import { SyncGate } from '../src/sync-gate.ts';

afterEach(runCleanup);

/** Offers one file of `content` and opens it as a transfer would. */
async function opened(content: Buffer) {
  const dir = await tempDir();
  const file = path.join(dir, 'data.bin');
  await writeFile(file, content);
  const offer = await scanOffer([file]);
  return { file, ...(await openSource(offer.sources.get(0)!)) };
}

describe('ChunkReader with the stamp the file was opened with', () => {
  it('L5: reads a range in chunks and hands out its last chunk when the file is unchanged', async () => {
    const content = randomBytes(10_000);
    const { handle, stamp } = await opened(content);
    try {
      const pool = new BufferPool(2, 4096);
      const reader = new ChunkReader(handle, pool, 0, 100, 9_000, stamp);
      const got: Buffer[] = [];
      for (;;) {
        const chunk = await reader.next();
        if (!chunk) break;
        got.push(Buffer.from(chunk.bytes));
        pool.release(chunk.buffer);
      }
      expect(Buffer.concat(got)).toEqual(content.subarray(100, 9_000));
      expect(got.map((chunk) => chunk.byteLength)).toEqual([4096, 4096, 708]);
      await reader.close();
    } finally {
      await handle.close();
    }
  });

  it('L5: a file that changes while it is read rejects with SOURCE_CHANGED instead of its last chunk', async () => {
    const content = randomBytes(10_000);
    const { file, handle, stamp } = await opened(content);
    try {
      const reader = new ChunkReader(handle, new FreshBuffers(4096), 0, 0, content.length, stamp);
      expect((await reader.next())?.bytes.byteLength).toBe(4096);
      // Grown, not rewritten in place: a size is compared exactly, however coarse the clock.
      await appendFile(file, 'more');
      expect((await reader.next())?.bytes.byteLength).toBe(4096);
      await expect(reader.next()).rejects.toMatchObject({ code: 'ERR_SOURCE_CHANGED' });
      await reader.close();
    } finally {
      await handle.close();
    }
  });

  it('L5: an empty range is checked too: a changed file rejects where the end would be', async () => {
    const { file, handle, stamp } = await opened(Buffer.from('hello'));
    try {
      await appendFile(file, 'more');
      const reader = new ChunkReader(handle, new FreshBuffers(4096), 0, 5, 5, stamp);
      await expect(reader.next()).rejects.toMatchObject({ code: 'ERR_SOURCE_CHANGED' });
    } finally {
      await handle.close();
    }
  });

  it('reads without checks when given no stamp, as the Ferry sender does before its own', async () => {
    const { file, handle } = await opened(Buffer.from('hello'));
    try {
      await appendFile(file, 'more');
      const reader = new ChunkReader(handle, new FreshBuffers(4096), 0, 0, 5);
      expect((await reader.next())?.bytes.toString()).toBe('hello');
      expect(await reader.next()).toBeUndefined();
    } finally {
      await handle.close();
    }
  });

  for (const sync of [true, false]) {
    it(`through a SyncGate ${sync ? 'open' : 'closed'}, reads ${sync ? 'synchronously' : 'in the pool'}, after the header room, and a shrunk file rejects`, async () => {
      const content = randomBytes(10_000);
      const { file, handle, stamp } = await opened(content);
      try {
        const gate = new SyncGate({ sync });
        const ways: string[] = [];
        const run = gate.run.bind(gate);
        gate.run = <T>(syncCall: () => T, asyncCall: () => Promise<T>) =>
          run(
            () => (ways.push('sync'), syncCall()),
            () => (ways.push('pool'), asyncCall()),
          );
        const pool = new BufferPool(2, 4096 + 16);
        const reader = new ChunkReader(handle, pool, 16, 0, content.length, stamp, gate);
        const first = await reader.next();
        expect(first?.bytes).toEqual(content.subarray(0, 4096));
        expect(first?.bytes.byteOffset).toBe(first!.buffer.byteOffset + 16);
        pool.release(first!.buffer);
        await writeFile(file, content.subarray(0, 5_000));
        const rest = async () => {
          for (;;) {
            const chunk = await reader.next();
            if (!chunk) return;
            pool.release(chunk.buffer);
          }
        };
        await expect(rest()).rejects.toMatchObject({ code: 'ERR_SOURCE_CHANGED' });
        await reader.close();
        expect(new Set(ways)).toEqual(new Set([sync ? 'sync' : 'pool']));
      } finally {
        await handle.close();
      }
    });
  }
});
