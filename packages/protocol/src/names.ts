import { LIMITS, type Limits } from './constants.ts';
import { UnsafeOfferError } from './errors.ts';
import { FORBIDDEN_NAME_CHARS, utf8Length } from './text.ts';
import { collisionKey } from './collision-key.ts';
import { NameTree } from './name-tree.ts';

export { collisionKey };

/**
 * Checks one relative path from a peer against the naming rules of PROTOCOL.md §6.1, and
 * returns its components. A path is `/`-separated, relative and canonical (no empty, `.` or
 * `..` component), with no control character and no `\`, and no component whose collision key
 * holds a separator or is `.` or `..` (`a／b`, `‥`). Names one system cannot store
 * (`a:b`, `CON.txt`, `trailing `) travel: the receiver maps them (`localNamesFor`, §6.4).
 */
export function checkRelativePath(path: string, limits: Limits = LIMITS): string[] {
  const fail = (reason: string): never => {
    throw new UnsafeOfferError(path, reason);
  };
  if (path.length === 0) fail('empty name');
  if (path.length * 3 > limits.maxPathBytes && utf8Length(path) > limits.maxPathBytes) {
    fail(`path longer than ${limits.maxPathBytes} bytes`);
  }
  if (FORBIDDEN_NAME_CHARS.test(path)) fail('control, format or invalid character in name');
  if (path.includes('\\')) fail('a backslash (a folder separator on Windows) in name');
  if (path.startsWith('/')) fail('absolute path');
  const components = path.split('/');
  if (components.length > limits.maxDepth) fail(`deeper than ${limits.maxDepth} levels`);
  for (const component of components) checkComponent(component, limits, fail);
  return components;
}

function checkComponent(component: string, limits: Limits, fail: (reason: string) => never): void {
  if (component === '') fail('empty path component');
  if (component === '.' || component === '..') fail('"." or ".." path component');
  if (component.length * 3 > limits.maxComponentBytes && utf8Length(component) > limits.maxComponentBytes) {
    fail(`name longer than ${limits.maxComponentBytes} bytes`);
  }
  // ASCII is its own key's spelling; beyond it NFKC makes `／` a `/` and `‥` a `..` (§6.1 rule 8).
  if (NON_ASCII.test(component)) {
    const key = collisionKey(component);
    if (key === '.' || key === '..' || key.includes('/') || key.includes('\\')) {
      fail('a name that Unicode normalisation turns into a separator, "." or ".."');
    }
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

/** An offer entry after validation. */
export interface ValidatedEntry {
  readonly id: number;
  readonly kind: 'file' | 'dir';
  readonly path: string;
  readonly components: readonly string[];
  readonly size: number;
}

/** A top-level item of an offer: a file, or a folder with everything below it. */
export interface OfferItem {
  readonly name: string;
  readonly kind: 'file' | 'dir';
  readonly entryIds: readonly number[];
  readonly fileCount: number;
  readonly bytes: number;
}

/** An offer whose every name is safe to create below any destination folder. */
export interface ValidatedOffer {
  readonly entries: readonly ValidatedEntry[];
  readonly items: readonly OfferItem[];
  readonly fileCount: number;
  /** Folders the offer creates: its `dir` entries and the folders its paths imply. */
  readonly folderCount: number;
  readonly totalBytes: number;
}

type RawEntry = { kind: 'file'; path: string; size: number } | { kind: 'dir'; path: string };

/**
 * Validates a whole offer before anything is written: every path, duplicates and collisions
 * under case folding and normalisation, files that are also folders, entry and folder counts
 * and total size. Throws UnsafeOfferError for the first problem; accepts all or nothing.
 * Work and memory are linear in the offer's size (PROTOCOL.md §6.2): each component is keyed
 * once, in a tree of components, and a key may not grow past MAX_KEY_EXPANSION times its name.
 */
export function validateOffer(entries: readonly RawEntry[], limits: Limits = LIMITS): ValidatedOffer {
  if (entries.length > limits.maxEntries) {
    throw new UnsafeOfferError('', `more than ${limits.maxEntries} entries`);
  }
  const tree = new NameTree(limits);
  const validated: ValidatedEntry[] = [];
  const tops: number[] = [];
  let totalBytes = 0;
  let fileCount = 0;
  for (const [id, entry] of entries.entries()) {
    const components = checkRelativePath(entry.path, limits);
    tops.push(tree.add(entry.path, entry.kind, components));
    const size = entry.kind === 'file' ? entry.size : 0;
    if (!Number.isSafeInteger(size) || size < 0 || size > limits.maxFileSize) {
      throw new UnsafeOfferError(entry.path, 'file size out of range');
    }
    if (size > limits.maxTotalSize - totalBytes) {
      throw new UnsafeOfferError(entry.path, 'the offer adds up to more than the size limit');
    }
    totalBytes += size;
    if (entry.kind === 'file') fileCount++;
    validated.push({ id, kind: entry.kind, path: entry.path, components, size });
  }
  const items = groupItems(validated, tops);
  return { entries: validated, items, fileCount, folderCount: tree.folderCount, totalBytes };
}

/** Groups entries by their top-level node (`tops[id]`), in order of first appearance. */
function groupItems(entries: readonly ValidatedEntry[], tops: readonly number[]): OfferItem[] {
  const items = new Map<number, { name: string; kind: 'file' | 'dir'; entryIds: number[]; fileCount: number; bytes: number }>();
  for (const entry of entries) {
    const top = tops[entry.id]!;
    let item = items.get(top);
    if (!item) {
      const kind = entry.components.length === 1 ? entry.kind : 'dir';
      item = { name: entry.components[0]!, kind, entryIds: [], fileCount: 0, bytes: 0 };
      items.set(top, item);
    }
    item.entryIds.push(entry.id);
    if (entry.kind === 'file') {
      item.fileCount++;
      item.bytes += entry.size;
    }
  }
  return [...items.values()];
}
