import { collisionKey } from './collision-key.ts';
import { LIMITS, type Limits } from './constants.ts';
import { UnsafeOfferError } from './errors.ts';
import { utf8Length } from './text.ts';

/** Characters Windows cannot store in a name (`\` never travels: PROTOCOL.md §6.1). */
const WINDOWS_FORBIDDEN = /[<>:"|?*]/g;

/** Device names Windows reserves, with or without an extension (CON, con.txt, COM¹, ...). */
const RESERVED_BASENAMES = new Set([
  'CON',
  'PRN',
  'AUX',
  'NUL',
  'CONIN$',
  'CONOUT$',
  'CLOCK$',
  ...['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '¹', '²', '³'].flatMap((d) => [`COM${d}`, `LPT${d}`]),
]);

/**
 * The name a receiver on `platform` (a `process.platform` value) stores one offered component
 * under (PROTOCOL.md §6.4). Only Windows changes names: `<>:"|?*` become `_`, a trailing dot or
 * space becomes `_`, and a device name gets `_` after its base (`CON.txt` → `CON_.txt`).
 */
export function localComponent(component: string, platform: string): string {
  if (platform !== 'win32') return component;
  let name = component.replace(WINDOWS_FORBIDDEN, '_');
  const trailing = /[. ]+$/.exec(name);
  if (trailing) name = name.slice(0, trailing.index) + '_'.repeat(trailing[0].length);
  const dot = name.indexOf('.');
  const base = dot === -1 ? name : name.slice(0, dot);
  if (RESERVED_BASENAMES.has(base.trimEnd().toUpperCase())) name = `${base}_${name.slice(base.length)}`;
  return name;
}

/** The path one offered path is stored under on `platform`, and whether that differs. */
export function localNameFor(path: string, platform: string): { path: string; changed: boolean } {
  const local = path
    .split('/')
    .map((component) => localComponent(component, platform))
    .join('/');
  return { path: local, changed: local !== path };
}

/** An offered name that a receiver stores under another name on its system. */
export interface Renamed {
  readonly offered: string;
  readonly local: string;
}

/** The names a receiver stores an offer under. */
export interface LocalNames {
  /** The local path of each entry, by entry id. */
  readonly paths: readonly string[];
  /** The entries whose local path differs from the offered one, in offer order. */
  readonly renamed: readonly Renamed[];
}

/**
 * The paths a receiver on `platform` stores validated entries under, for it to show before
 * accepting and to write with (never renaming silently). Names this system cannot store are
 * changed as {@link localComponent} says; a changed name that would meet a sibling (under the
 * collision key) gets ` (2)`, ` (3)`, ... before its extension. Linear in the offer's size:
 * each component is a node of a tree, named once, and the numbers tried for one changed name
 * continue where the last sibling with the same changed name stopped, never from 2 again.
 * Throws UnsafeOfferError when a changed name would be longer than `maxComponentBytes`.
 */
export function localNamesFor(
  entries: readonly { readonly components: readonly string[]; readonly path: string }[],
  platform: string,
  limits: Limits = LIMITS,
): LocalNames {
  if (platform !== 'win32' || entries.every((entry) => localNameFor(entry.path, platform).changed === false)) {
    return { paths: entries.map((entry) => entry.path), renamed: [] };
  }
  // The offered tree: node ids by parent and key; each node's spelling and parent.
  const ids = new Map<string, number>();
  const spelling: string[] = [''];
  const parentOf: number[] = [-1];
  const chains = entries.map((entry) => {
    let parent = 0;
    return entry.components.map((component) => {
      const slot = `${parent}/${collisionKey(component)}`;
      let node = ids.get(slot);
      if (node === undefined) {
        node = spelling.length;
        ids.set(slot, node);
        spelling.push(component);
        parentOf.push(parent);
      }
      parent = node;
      return node;
    });
  });
  // Names that stay as offered claim their place first, so a changed name never takes it.
  const taken = new Set<string>();
  const local: string[] = [''];
  for (let node = 1; node < spelling.length; node++) {
    const name = spelling[node]!;
    if (localComponent(name, platform) === name) taken.add(`${parentOf[node]}/${collisionKey(name)}`);
  }
  // The next number to try per parent and changed name's key: each number is tried once.
  const next = new Map<string, number>();
  for (let node = 1; node < spelling.length; node++) {
    const name = spelling[node]!;
    const mapped = localComponent(name, platform);
    if (mapped === name) {
      local.push(name);
      continue;
    }
    const counter = `${parentOf[node]}/${collisionKey(mapped)}`;
    let n = next.get(counter) ?? 1;
    let candidate = n === 1 ? mapped : numberedName(mapped, n);
    while (taken.has(`${parentOf[node]}/${collisionKey(candidate)}`)) candidate = numberedName(mapped, ++n);
    next.set(counter, n + 1);
    if (utf8Length(candidate) > limits.maxComponentBytes) {
      const offered = entries[chains.findIndex((chain) => chain.includes(node))]!.path;
      throw new UnsafeOfferError(offered, `stored on this system under a name longer than ${limits.maxComponentBytes} bytes`);
    }
    taken.add(`${parentOf[node]}/${collisionKey(candidate)}`);
    local.push(candidate);
  }
  const paths: string[] = [];
  const renamed: Renamed[] = [];
  for (const [id, chain] of chains.entries()) {
    const path = chain.map((node) => local[node]!).join('/');
    paths.push(path);
    const offered = entries[id]!.path;
    if (path !== offered) renamed.push({ offered, local: path });
  }
  return { paths, renamed };
}

/** `name (n).ext`: the number goes before the last extension, as file managers do. */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}
