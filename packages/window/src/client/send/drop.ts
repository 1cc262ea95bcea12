import { type StagedFile, UPLOAD_PATH } from '../../state/upload.ts';
import { ActionFailed } from '../lib/actions.ts';

/** A dropped file and its path below what was dropped (`photos/2024/x.jpg`, or `a.txt`). */
export interface DroppedFile {
  readonly file: File;
  readonly path: string;
}

/** What a drop holds: a file or a folder entry, or only a file where the browser has no entries. */
interface DroppedItem {
  readonly entry: FileSystemEntry | null;
  readonly file: File | null;
}

/**
 * Takes what a drop holds. Must run inside the drop event: its items are gone once the event
 * handler returns (the entries taken here stay readable).
 */
export function takeDrop(data: DataTransfer): DroppedItem[] {
  const taken: DroppedItem[] = [];
  for (const item of Array.from(data.items)) {
    if (item.kind !== 'file') continue;
    taken.push({ entry: item.webkitGetAsEntry?.() ?? null, file: item.getAsFile() });
  }
  if (taken.length === 0) {
    for (const file of Array.from(data.files)) taken.push({ entry: null, file });
  }
  return taken;
}

/** Every file of a drop, folders walked, with its path below the drop. */
export async function droppedFiles(items: readonly DroppedItem[]): Promise<DroppedFile[]> {
  const files: DroppedFile[] = [];
  for (const { entry, file } of items) {
    if (entry?.isDirectory) await walk(entry as FileSystemDirectoryEntry, entry.name, files);
    else if (file) files.push({ file, path: file.name });
    else if (entry?.isFile)
      files.push({ file: await fileOf(entry as FileSystemFileEntry), path: entry.name });
  }
  return files;
}

async function walk(
  dir: FileSystemDirectoryEntry,
  prefix: string,
  out: DroppedFile[],
): Promise<void> {
  const reader = dir.createReader();
  // readEntries answers in batches (100 in Chromium) until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) return;
    for (const entry of batch) {
      const path = `${prefix}/${entry.name}`;
      if (entry.isDirectory) await walk(entry as FileSystemDirectoryEntry, path, out);
      else if (entry.isFile) out.push({ file: await fileOf(entry as FileSystemFileEntry), path });
    }
  }
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Sends one dropped file's bytes to the app; `onSent` hears how many have left so far. */
export function uploadFile(
  drop: string,
  dropped: DroppedFile,
  onSent: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<StagedFile> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const query = `drop=${encodeURIComponent(drop)}&path=${encodeURIComponent(dropped.path)}`;
    xhr.open('POST', `${UPLOAD_PATH}?${query}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (event) => onSent(event.loaded);
    xhr.onload = () => {
      let answer: { ok?: true; value?: StagedFile; error?: { code: string; message: string } } = {};
      try {
        answer = JSON.parse(xhr.responseText) as typeof answer;
      } catch {
        // Said by its status below.
      }
      if (xhr.status === 200 && answer.ok && answer.value) {
        resolve(answer.value);
        return;
      }
      const error = answer.error ?? {
        code: 'ERR_HTTP',
        message: `Ferry answered ${xhr.status}. Reload the page.`,
      };
      reject(new ActionFailed(error.code, error.message, xhr.status));
    };
    xhr.onerror = () =>
      reject(
        new ActionFailed(
          'ERR_NETWORK',
          `"${dropped.path}" could not be sent to Ferry: the file could not be read (was it moved?), or Ferry has stopped.`,
          0,
        ),
      );
    xhr.onabort = () => reject(new ActionFailed('ERR_CANCELLED', 'Cancelled.', 0));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(dropped.file);
  });
}
