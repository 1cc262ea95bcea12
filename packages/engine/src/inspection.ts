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
import { planResume, type ResumeOptions, type ResumePlan } from './resume-plan.ts';

/** What the user sees before accepting (U9): what saving the chosen items into a folder would do. */
export interface DestinationReport {
  /** The folder, as resolved (local only: never sent to the sender). */
  readonly outDir: string;
  readonly files: number;
  readonly bytes: number;
  /** Folders that will be created. */
  readonly folders: number;
  /** Disk the files and folders take, estimated: files in whole 4 KiB blocks, folders 4 KiB each; resuming, less what is held already. */
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
  /**
   * Resuming (the sender honours prefixes): the files a record of this sender holds partly,
   * the bytes held, and those files' full size; undefined when there are none.
   */
  readonly resumable?:
    | { readonly files: number; readonly heldBytes: number; readonly totalBytes: number }
    | undefined;
  /** Files already there with the offered size, before the sender confirms their digest. */
  readonly present?: { readonly files: number; readonly bytes: number } | undefined;
}

/** A report with the plan behind it and the entries it covers. */
export interface Inspection {
  readonly report: DestinationReport;
  readonly plan: DestinationPlan;
  readonly accepted: readonly ValidatedEntry[];
  /** What resuming found, when inspected with `resume`. */
  readonly resume?: ResumePlan | undefined;
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
  /**
   * The sender honours prefixes (its OFFER has `resume`): its partial data and the files
   * already there are looked for, and the transfer's files are written in a partial folder.
   */
  readonly resume?: ResumeOptions | undefined;
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
  const resume = options.resume ? await planResume(root, accepted, options.resume) : undefined;
  // A present top-level file keeps its name unless the sender says it differs.
  const adopted = new Map(resume?.adopt);
  for (const entry of resume && resume.present.size > 0 ? accepted : []) {
    if (entry.components.length === 1 && resume?.present.has(entry.id))
      adopted.set(entry.path, entry.path);
  }
  const plan = await planDestination(root, accepted, { limits, adopted });
  const files = accepted.filter((entry) => entry.kind === 'file');
  // What is held already (partials, files already there) takes no more disk.
  const neededBytes = plan.neededBytes - (resume ? heldDisk(files, resume) : 0);
  const freeAfter = plan.freeBytes === undefined ? undefined : plan.freeBytes - neededBytes;
  const inodesFit = plan.freeInodes === undefined || files.length + plan.folders <= plan.freeInodes;
  const sizeOf = new Map(files.map((entry) => [entry.id, entry.size]));
  const sum = (ids: Iterable<number>) =>
    [...ids].reduce((total, id) => total + (sizeOf.get(id) ?? 0), 0);
  return {
    plan,
    accepted,
    resume,
    report: {
      outDir: root,
      files: files.length,
      bytes: files.reduce((sum, entry) => sum + entry.size, 0),
      folders: plan.folders,
      neededBytes,
      freeBytes: plan.freeBytes,
      freeAfter,
      enoughSpace: (freeAfter === undefined || freeAfter >= 0) && inodesFit,
      renamed: plan.renamed,
      systemNames: (options.renamed ?? [])
        .filter((name) => chosen.has(name.offered))
        .map(({ offered, local }) => ({ offered, savedAs: local })),
      hidden: hiddenTopLevel(offer, items),
      unsavable: plan.unsavable,
      ...(resume
        ? {
            resumable:
              resume.held.size > 0
                ? {
                    files: resume.held.size,
                    heldBytes: [...resume.held.values()].reduce((a, b) => a + b, 0),
                    totalBytes: sum(resume.held.keys()),
                  }
                : undefined,
            present: { files: resume.present.size, bytes: sum(resume.present.keys()) },
          }
        : {}),
    },
  };
}

/** Disk the held bytes already take, in whole 4 KiB blocks as the plan counts files. */
function heldDisk(files: readonly ValidatedEntry[], resume: ResumePlan): number {
  let bytes = 0;
  for (const entry of files) {
    const held = resume.present.has(entry.id) ? entry.size : (resume.held.get(entry.id) ?? 0);
    bytes += Math.floor(held / 4096) * 4096;
  }
  return bytes;
}
