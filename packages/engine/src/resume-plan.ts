import fs from 'node:fs/promises';
import path from 'node:path';
import type { ValidatedEntry } from '@ferry/protocol';
import { PartialStore } from './partials.ts';
import {
  type FoundState,
  matchResumeState,
  type OwnerOptions,
  readResumeStates,
  type ResumeSender,
  type TopClaim,
} from './resume-state.ts';

/** Who the offer comes from, to find its partial data (InspectOptions.resume). */
export interface ResumeOptions extends ResumeSender {
  /** The OFFER's session, written in the state record. */
  readonly session?: string | undefined;
  /** Stands for this process's user (tests). */
  readonly uid?: number | undefined;
}

/** What resuming found in a folder, before anything is asked for. */
export interface ResumePlan {
  readonly options: ResumeOptions;
  /** The newest record of this sender, if any. */
  readonly found: FoundState | undefined;
  /** Top-level folders entered as they are: offered name → local name. */
  readonly adopt: ReadonlyMap<string, string>;
  /**
   * The record's claims among them (folders an earlier run of this transfer created), by offered
   * name: written again in the new record, and checked again when entered.
   */
  readonly claims: ReadonlyMap<string, TopClaim>;
  /** Files already there with the offered size (present candidates): entry id → their path. */
  readonly present: ReadonlyMap<number, string>;
  /** Files whose partial holds 1 to size bytes: entry id → bytes held. */
  readonly held: ReadonlyMap<number, number>;
}

/**
 * Finds, for the accepted entries (under their local paths) in the real folder `root`, the
 * sender's partial data and the files already there. A top-level folder that exists is entered
 * only if the record claims it (same identity) or it holds every file offered under it, as a
 * present candidate; otherwise it gets `name (n)` as always.
 */
export async function planResume(
  root: string,
  accepted: readonly ValidatedEntry[],
  options: ResumeOptions,
): Promise<ResumePlan> {
  const owner: OwnerOptions = { uid: options.uid };
  const { states } = await readResumeStates(root, owner);
  const found = matchResumeState(states, options);
  const records = new Map(found?.tops.map((claim) => [claim.offered, claim]));
  const groups = new Map<string, ValidatedEntry[]>();
  for (const entry of accepted) {
    const top = entry.components[0]!;
    const group = groups.get(top);
    if (group) group.push(entry);
    else groups.set(top, [entry]);
  }
  const adopt = new Map<string, string>();
  const claims = new Map<string, TopClaim>();
  const present = new Map<number, string>();
  const folders: RealFolders = new Map();
  for (const [top, entries] of groups) {
    const only = entries[0]!;
    if (entries.length === 1 && only.kind === 'file' && only.components.length === 1) {
      const at = await presentAt(root, [top], only.size, folders);
      if (at) present.set(only.id, at);
      continue;
    }
    const record = records.get(top);
    const claimed = record?.local;
    const files = entries.filter((entry) => entry.kind === 'file');
    const found = new Map<number, string>();
    for (const entry of files) {
      const at = await presentAt(
        root,
        [claimed ?? top, ...entry.components.slice(1)],
        entry.size,
        folders,
      );
      if (at) found.set(entry.id, at);
    }
    let enter = claimed !== undefined;
    if (!enter && files.length > 0 && found.size === files.length) {
      // Every folder offered must be there too: entering writes nothing new then.
      enter = true;
      for (const entry of entries)
        if (entry.kind === 'dir' && !(await isRealDirPath(root, entry.components, folders)))
          enter = false;
    }
    if (!enter) continue;
    adopt.set(top, claimed ?? top);
    if (record) claims.set(top, record);
    for (const [id, at] of found) present.set(id, at);
  }
  const held = new Map<number, number>();
  if (found) {
    const store = PartialStore.adopt(found, owner);
    for (const entry of accepted) {
      if (entry.kind !== 'file' || present.has(entry.id)) continue;
      const length = await store.held(entry.path);
      if (length !== undefined && length > 0 && length <= entry.size) held.set(entry.id, length);
    }
  }
  return { options, found, adopt, claims, present, held };
}

/**
 * The path of a regular file of `size` bytes at `components` below `root`, with real folders on
 * the way; undefined otherwise. A path with a hidden component (one starting with `.`) is never
 * a candidate: asking the sender about it would tell it that such a file (a key, a PIN) exists
 * here and its digest (§2.4); it is received as a new file instead.
 */
async function presentAt(
  root: string,
  components: readonly string[],
  size: number,
  folders: RealFolders,
): Promise<string | undefined> {
  if (components.some((component) => component.startsWith('.'))) return undefined;
  if (!(await isRealDirPath(root, components.slice(0, -1), folders))) return undefined;
  const file = path.join(root, ...components);
  const stats = await fs.lstat(file).catch(() => undefined);
  return stats?.isFile() && stats.size === size ? file : undefined;
}

/**
 * What one plan found of the folders it looked at: path → whether it is a real folder. Files
 * share folders, so each is looked at once per plan (10,000 files in a folder not there yet
 * made 10,000 failed lookups of it). The plan only proposes: what it finds is checked again
 * when files are written (and a present file's digest, with the sender).
 */
type RealFolders = Map<string, Promise<boolean>>;

/** True when every component below `root` is a real folder (no symlink on the way). */
async function isRealDirPath(
  root: string,
  components: readonly string[],
  folders: RealFolders,
): Promise<boolean> {
  let current = root;
  for (const component of components) {
    current = path.join(current, component);
    let real = folders.get(current);
    if (!real) {
      real = fs.lstat(current).then(
        (stats) => stats.isDirectory(),
        () => false,
      );
      folders.set(current, real);
    }
    if (!(await real)) return false;
  }
  return true;
}
