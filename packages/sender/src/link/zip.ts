import type { Readable } from 'node:stream';
import type { OfferSource } from '@ferry/engine';
import type { OfferEntry } from '@ferry/protocol';
import { ZipFile } from 'yazl';
import { sourceStream } from './source-stream.ts';

/** A top-level folder of the offer as a zip archive, made as it is read. */
export interface FolderZip {
  /** The archive's exact length in bytes, known before it is made (a real Content-Length). */
  readonly size: number;
  /** `<folder>.zip`. */
  readonly name: string;
  /** A new stream of the whole archive; every call makes the archive again. */
  open(): NodeJS.ReadableStream;
}

/** Files are stored as rw-r--r--, folders as rwxr-xr-x: a download carries no source modes. */
const FILE_MODE = 0o100644;
const DIR_MODE = 0o40755;

/** One zip entry: an offered file by id, or an offered folder with nothing under it. */
type ZipEntry =
  | {
      readonly kind: 'file';
      readonly id: number;
      readonly path: string;
      readonly size: number;
      readonly mtime: Date;
    }
  | { readonly kind: 'dir'; readonly path: string };

/**
 * The offer's top-level folder `top` (an entry id) as a zip archive: its offered files and its
 * empty folders, under their validated offer paths only (the folder's name first), stored
 * without compression (ZIP64 where sizes or offsets need it). Files are opened one at a time as
 * the archive is read, with the engine's checks, and read in chunks; no temporary file. A file
 * that is not as offered ends the stream with SOURCE_CHANGED (L5, L6).
 */
export function folderZip(source: OfferSource, top: number): FolderZip {
  const folder = source.entries[top];
  if (folder?.kind !== 'dir' || folder.path.includes('/')) {
    throw new RangeError(`entry ${top} is not a top-level folder of the offer`);
  }
  const entries = zipEntries(source, folder);
  // Folders have no stamp: they take the time the link was made, the same in every download.
  const made = new Date();
  // yazl counts a ZIP64 end record in its calculated size for a central directory of 64 KiB
  // or more, but writes one only from 4 GiB: forcing it whenever the calculation counted it
  // makes the archive exactly the size announced.
  const plain = calculatedSize(entries, made, false);
  const zip64End = plain === calculatedSize(entries, made, true);
  return {
    size: plain,
    name: `${folder.path}.zip`,
    open: () => makeZip(source, entries, made, zip64End),
  };
}

/** The folder's files and its empty folders (the folder itself if empty), in offer order. */
function zipEntries(source: OfferSource, folder: OfferEntry): ZipEntry[] {
  const prefix = `${folder.path}/`;
  const inside = source.entries
    .map((entry, id) => ({ entry, id }))
    .filter(({ entry }) => entry === folder || entry.path.startsWith(prefix));
  const parents = new Set<string>();
  for (const { entry } of inside) {
    for (
      let slash = entry.path.lastIndexOf('/');
      slash > 0;
      slash = entry.path.lastIndexOf('/', slash - 1)
    ) {
      parents.add(entry.path.slice(0, slash));
    }
  }
  const entries: ZipEntry[] = [];
  for (const { entry, id } of inside) {
    if (entry.kind === 'dir') {
      if (!parents.has(entry.path)) entries.push({ kind: 'dir', path: entry.path });
      continue;
    }
    const file = source.sources.get(id);
    if (!file) throw new RangeError(`offered file ${id} has no source`);
    const mtime = new Date(Number(file.stamp.mtimeNs / 1_000_000n));
    entries.push({ kind: 'file', id, path: entry.path, size: file.size, mtime });
  }
  return entries;
}

/** Adds the entries to `zip`; each file's bytes come from `open` when yazl reaches it. */
function addEntries(
  zip: ZipFile,
  entries: readonly ZipEntry[],
  made: Date,
  open: (entry: ZipEntry & { kind: 'file' }) => Readable | undefined,
): void {
  for (const entry of entries) {
    if (entry.kind === 'dir') {
      zip.addEmptyDirectory(entry.path, { mtime: made, mode: DIR_MODE });
      continue;
    }
    const options = { size: entry.size, mtime: entry.mtime, mode: FILE_MODE, compress: false };
    zip.addReadStreamLazy(entry.path, options, (callback) => {
      const stream = open(entry);
      if (stream) callback(null, stream);
    });
  }
}

/** The archive's length as yazl calculates it, from the entries' known sizes, without reading. */
function calculatedSize(entries: readonly ZipEntry[], made: Date, zip64End: boolean): number {
  const zip = new ZipFile();
  // Never opened: yazl asks for the first file's bytes at once, and gets no answer.
  addEntries(zip, entries, made, () => undefined);
  let size: number | undefined;
  // Called before end() returns when every size is known (the types lack the argument).
  const calculated = ((total: number) => {
    size = total;
  }) as () => void;
  zip.end({ forceZip64Format: zip64End, comment: '' }, calculated);
  if (size === undefined || size < 0) throw new Error('the zip size could not be calculated');
  return size;
}

/** Makes the archive as it is read; a failure or the reader going away closes the open file. */
function makeZip(
  source: OfferSource,
  entries: readonly ZipEntry[],
  made: Date,
  zip64End: boolean,
): NodeJS.ReadableStream {
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  let reading: Readable | undefined;
  const fail = (error: Error) => {
    reading?.destroy();
    if (!output.destroyed) output.destroy(error);
  };
  zip.on('error', fail);
  output.once('close', () => reading?.destroy());
  addEntries(zip, entries, made, (entry) => {
    if (output.destroyed) return undefined;
    const file = source.sources.get(entry.id);
    if (!file) throw new RangeError(`offered file ${entry.id} has no source`);
    reading = sourceStream(file);
    reading.on('error', fail);
    return reading;
  });
  zip.end({ forceZip64Format: zip64End, comment: '' });
  return output;
}
