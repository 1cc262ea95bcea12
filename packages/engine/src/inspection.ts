import type { Renamed, ValidatedEntry, ValidatedOffer } from '@ferry/protocol';
import { openDestination } from './destination.ts';
import {
  type DestinationPlan,
  type PathLimits,
  planDestination,
  type RenamedItem,
  type UnsavableEntry,
} from './destination-plan.ts';
import { hiddenTopLevel } from './offer-report.ts';

/** What the user sees before accepting (U9): what saving the chosen items into a folder would do. */
export interface DestinationReport {
  /** The folder, as resolved (local only: never sent to the sender). */
  readonly outDir: string;
  readonly files: number;
  readonly bytes: number;
  /** Folders that will be created. */
  readonly folders: number;
  /** Disk the files and folders take, estimated: files in whole 4 KiB blocks, folders 4 KiB each. */
  readonly neededBytes: number;
  /** Free space for this user now, when the system says. */
  readonly freeBytes: number | undefined;
  /** Free space left once everything is saved (negative: it does not fit). */
  readonly freeAfter: number | undefined;
  /** False when the files, the folders or their count do not fit: the folder cannot be used. */
  readonly enoughSpace: boolean;
  /** Top-level names that exist in the folder, and the `name (n)` each will get instead. */
  readonly renamed: readonly RenamedItem[];
  /** Names this system cannot store as offered, and the name each is saved under instead (U8). */
  readonly systemNames: readonly RenamedItem[];
  /** Top-level names starting with a dot (K2). */
  readonly hidden: readonly string[];
  /** Entries this folder's file system cannot hold (path or name too long, file too large): only they fail. */
  readonly unsavable: readonly UnsavableEntry[];
}

/** A report with the plan behind it and the entries it covers. */
export interface Inspection {
  readonly report: DestinationReport;
  readonly plan: DestinationPlan;
  readonly accepted: readonly ValidatedEntry[];
}

/** Entries of the chosen top-level items, in offer order. */
export function acceptedEntries(offer: ValidatedOffer, items: readonly number[]): ValidatedEntry[] {
  const ids = new Set(items.flatMap((index) => offer.items[index]?.entryIds ?? []));
  return offer.entries.filter((entry) => ids.has(entry.id));
}

/** Options of {@link inspectDestination}. */
export interface InspectOptions {
  /** The path each entry is stored under on this system, by entry id (localNamesFor); the offered one by default. */
  readonly localPaths?: readonly string[];
  /** The entries stored under another name on this system. */
  readonly renamed?: readonly Renamed[];
  readonly limits?: PathLimits | undefined;
}

/**
 * Checks a folder for the chosen items, creating nothing: it must exist, be a folder and be
 * writable (DestinationError otherwise); then everything the report lists is found.
 */
export async function inspectDestination(
  offer: ValidatedOffer,
  items: readonly number[],
  outDir: string,
  options: InspectOptions = {},
): Promise<Inspection> {
  const root = await openDestination(outDir);
  const { localPaths, limits } = options;
  // Entries are written under their local names; everything below speaks of those.
  const accepted = acceptedEntries(offer, items).map((entry) => {
    const path = localPaths?.[entry.id] ?? entry.path;
    return path === entry.path ? entry : { ...entry, path, components: path.split('/') };
  });
  const chosen = new Set(acceptedEntries(offer, items).map((entry) => entry.path));
  const plan = await planDestination(root, accepted, { limits });
  const files = accepted.filter((entry) => entry.kind === 'file');
  const freeAfter = plan.freeBytes === undefined ? undefined : plan.freeBytes - plan.neededBytes;
  const inodesFit = plan.freeInodes === undefined || files.length + plan.folders <= plan.freeInodes;
  return {
    plan,
    accepted,
    report: {
      outDir: root,
      files: files.length,
      bytes: files.reduce((sum, entry) => sum + entry.size, 0),
      folders: plan.folders,
      neededBytes: plan.neededBytes,
      freeBytes: plan.freeBytes,
      freeAfter,
      enoughSpace: (freeAfter === undefined || freeAfter >= 0) && inodesFit,
      renamed: plan.renamed,
      systemNames: (options.renamed ?? []).filter((name) => chosen.has(name.offered)).map(({ offered, local }) => ({ offered, savedAs: local })),
      hidden: hiddenTopLevel(offer, items),
      unsavable: plan.unsavable,
    },
  };
}
