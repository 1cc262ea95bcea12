import { LIMITS, type Limits } from './constants.ts';
import { UnsafeOfferError } from './errors.ts';
import { FORBIDDEN_NAME_CHARS } from './text.ts';

const utf8 = new TextEncoder();

/** Characters Windows forbids in names; refused on every platform so files stay portable. */
const WINDOWS_FORBIDDEN = /[<>:"|?*\\]/;

/** Device names Windows reserves, with or without an extension (CON, con.txt, COM¹, ...). */
const RESERVED_BASENAMES = new Set([
  'CON', 'PRN', 'AUX', 'NUL', 'CONIN$', 'CONOUT$', 'CLOCK$',
  ...['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '¹', '²', '³'].flatMap((d) => [`COM${d}`, `LPT${d}`]),
]);

/**
 * Checks one relative path from a peer against the portable naming rules of PROTOCOL.md §6,
 * and returns its components. A path is `/`-separated, relative, canonical (no empty, `.` or
 * `..` component) and valid as a file name on Linux, macOS and Windows alike.
 */
export function checkRelativePath(path: string, limits: Limits = LIMITS): string[] {
  const fail = (reason: string): never => {
    throw new UnsafeOfferError(path, reason);
  };
  if (path.length === 0) fail('empty name');
  if (utf8.encode(path).byteLength > limits.maxPathBytes) {
    fail(`path longer than ${limits.maxPathBytes} bytes`);
  }
  if (FORBIDDEN_NAME_CHARS.test(path)) fail('control, format or invalid character in name');
  if (WINDOWS_FORBIDDEN.test(path)) fail('character not allowed in file names: one of <>:"|?*\\');
  if (path.startsWith('/')) fail('absolute path');
  const components = path.split('/');
  if (components.length > limits.maxDepth) fail(`deeper than ${limits.maxDepth} levels`);
  for (const component of components) checkComponent(component, limits, fail);
  return components;
}

function checkComponent(component: string, limits: Limits, fail: (reason: string) => never): void {
  if (component === '') fail('empty path component');
  if (component === '.' || component === '..') fail('"." or ".." path component');
  if (utf8.encode(component).byteLength > limits.maxComponentBytes) {
    fail(`name longer than ${limits.maxComponentBytes} bytes`);
  }
  if (/[. ]$/.test(component)) fail('name ends with a dot or a space');
  const base = component.split('.')[0]!.trimEnd().toUpperCase();
  if (RESERVED_BASENAMES.has(base)) fail('name reserved by Windows');
}

/**
 * The key two names collide under on some file system: Unicode compatibility normalisation
 * and full case folding (so `é`/`e\u0301`, `README`/`readme`, `ẞ`/`ß`/`SS` and `ﬀ`/`FF`
 * meet). Lower-casing before upper-casing makes it idempotent: `ẞ` lowers to `ß`, which
 * upper-cases to `SS`, so a key never changes when taken again (PROTOCOL.md §6.2).
 */
export function collisionKey(path: string): string {
  return path.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
}

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
  readonly totalBytes: number;
}

type RawEntry = { kind: 'file'; path: string; size: number } | { kind: 'dir'; path: string };

/**
 * Validates a whole offer before anything is written: every path, duplicates and collisions
 * under case folding and normalisation, files that are also folders, entry count and total
 * size. Throws UnsafeOfferError for the first problem; accepts all or nothing.
 */
export function validateOffer(entries: readonly RawEntry[], limits: Limits = LIMITS): ValidatedOffer {
  if (entries.length > limits.maxEntries) {
    throw new UnsafeOfferError('', `more than ${limits.maxEntries} entries`);
  }
  const kinds = new Map<string, 'file' | 'dir'>();
  const validated: ValidatedEntry[] = [];
  let totalBytes = 0;
  let fileCount = 0;
  for (const [id, entry] of entries.entries()) {
    const components = checkRelativePath(entry.path, limits);
    const key = collisionKey(entry.path);
    if (kinds.has(key)) {
      throw new UnsafeOfferError(entry.path, 'two entries would be saved under the same name');
    }
    kinds.set(key, entry.kind);
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
  // A file may not also be the parent of another entry, in any order; and a folder, listed or
  // implied by a path, has one spelling (`d/A/x` and `d/a/y` would meet on many disks).
  const spellings = new Map<string, string>();
  for (const entry of validated) {
    let prefix = '';
    for (const component of entry.components.slice(0, -1)) {
      prefix = prefix === '' ? component : `${prefix}/${component}`;
      const key = collisionKey(prefix);
      if (kinds.get(key) === 'file') {
        throw new UnsafeOfferError(entry.path, 'a file of the offer is also used as a folder');
      }
      const spelled = spellings.get(key);
      if (spelled === undefined) spellings.set(key, prefix);
      else if (spelled !== prefix) {
        throw new UnsafeOfferError(entry.path, 'two folders would be saved under the same name');
      }
    }
  }
  for (const entry of validated) {
    const spelled = entry.kind === 'dir' ? spellings.get(collisionKey(entry.path)) : undefined;
    if (spelled !== undefined && spelled !== entry.path) {
      throw new UnsafeOfferError(entry.path, 'two folders would be saved under the same name');
    }
  }
  return { entries: validated, items: groupItems(validated), fileCount, totalBytes };
}

function groupItems(entries: readonly ValidatedEntry[]): OfferItem[] {
  const items = new Map<string, { name: string; kind: 'file' | 'dir'; entryIds: number[]; fileCount: number; bytes: number }>();
  for (const entry of entries) {
    const name = entry.components[0]!;
    const key = collisionKey(name);
    let item = items.get(key);
    if (!item) {
      const kind = entry.components.length === 1 ? entry.kind : 'dir';
      item = { name, kind, entryIds: [], fileCount: 0, bytes: 0 };
      items.set(key, item);
    }
    item.entryIds.push(entry.id);
    if (entry.kind === 'file') {
      item.fileCount++;
      item.bytes += entry.size;
    }
  }
  return [...items.values()];
}
