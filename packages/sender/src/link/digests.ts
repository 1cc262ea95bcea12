import { createHash } from 'node:crypto';
import { BufferPool, ChunkReader, type OfferSource, openSource } from '@ferry/engine';

/** Read while hashing: a few buffers of this size, one read ahead of the hash. */
const HASH_CHUNK = 1024 * 1024;

/** How far hashing the offer has come. */
export interface HashProgress {
  readonly bytes: number;
  readonly totalBytes: number;
  readonly files: number;
}

/**
 * The SHA-256 of every offered file (lowercase hex, by entry id), read through the same checks
 * as a transfer: a file that changed since the offer, or while it was read, rejects with
 * SOURCE_CHANGED. `onProgress` hears after every chunk.
 */
export async function hashOffer(
  offer: OfferSource,
  onProgress?: (progress: HashProgress) => void,
): Promise<Map<number, string>> {
  const digests = new Map<number, string>();
  const pool = new BufferPool(2, HASH_CHUNK);
  let bytes = 0;
  let files = 0;
  for (const [id, source] of offer.sources) {
    const { handle, stamp } = await openSource(source);
    // Checked unchanged before the last chunk is handed out (or, for an empty file, at once).
    const reader = new ChunkReader(handle, pool, 0, 0, source.size, stamp);
    try {
      const hash = createHash('sha256');
      for (;;) {
        const chunk = await reader.next();
        if (!chunk) break;
        hash.update(chunk.bytes);
        bytes += chunk.bytes.byteLength;
        pool.release(chunk.buffer);
        onProgress?.({ bytes, totalBytes: offer.totalBytes, files });
      }
      digests.set(id, hash.digest('hex'));
      files++;
      onProgress?.({ bytes, totalBytes: offer.totalBytes, files });
    } finally {
      await reader.close();
      await handle.close();
    }
  }
  return digests;
}
