/**
 * The receiving window's slices made from the core's values: the offer as a tree, the
 * inspection report with what is already there, the result. Strings stay as the peer sent them:
 * the page shows each through PeerText, which escapes it.
 */
import type { FailedFile, Inspection, PresentFile, SavedFile } from '@ferry/engine';
import type { ValidatedOffer } from '@ferry/protocol';
import type { OfferSlice, ReportSlice, ResultSlice } from '@ferry/window/state/receive';
import type { ReceiveResult, ReceiverEvents } from '../receiver.ts';

/** The slice `offer`: top-level items with their file count and size, and every entry. */
export function offerView(event: ReceiverEvents['offer']): NonNullable<OfferSlice> {
  const { offer, renamed, folders } = event;
  const itemOf = new Map<number, number>();
  for (const [index, item] of offer.items.entries())
    for (const id of item.entryIds) itemOf.set(id, index);
  const items = offer.items.map((item, index) => ({
    index,
    name: item.name,
    kind: item.kind,
    files: item.fileCount,
    bytes: item.bytes,
    hidden: item.name.startsWith('.'),
  }));
  return {
    items,
    entries: offer.entries.map((entry) => ({
      id: entry.id,
      path: entry.path,
      kind: entry.kind,
      size: entry.size,
      item: itemOf.get(entry.id) ?? 0,
    })),
    files: offer.fileCount,
    bytes: offer.totalBytes,
    folders,
    renamed: renamed.map((entry) => ({ offered: entry.offered, local: entry.local })),
  };
}

/** The slice `report`: what saving `items` into the folder would do, entry by entry too. */
export function reportView(
  items: readonly number[],
  inspection: Inspection,
  hiddenInHome: boolean,
): NonNullable<ReportSlice> {
  const { report } = inspection;
  const marks: { id: number; mark: 'present' | 'partial'; held: number }[] = [];
  for (const [id] of inspection.resume?.present ?? []) marks.push({ id, mark: 'present', held: 0 });
  for (const [id, held] of inspection.resume?.held ?? []) marks.push({ id, mark: 'partial', held });
  return {
    items: [...items],
    outDir: report.outDir,
    files: report.files,
    bytes: report.bytes,
    folders: report.folders,
    neededBytes: report.neededBytes,
    freeBytes: report.freeBytes ?? null,
    enoughSpace: report.enoughSpace,
    renamed: report.renamed.map((entry) => ({ offered: entry.offered, local: entry.savedAs })),
    unsavable: report.unsavable.map((entry) => ({ path: entry.offered, reason: entry.message })),
    resumable: report.resumable ?? null,
    present: report.present ?? null,
    marks,
    hiddenInHome,
  };
}

function savedView(file: SavedFile | PresentFile) {
  return { path: file.path, offered: file.offered, size: file.size, sha256: file.sha256 };
}

/** The slice `result`. */
export function resultView(result: ReceiveResult): NonNullable<ResultSlice> {
  return {
    outDir: result.outDir ?? null,
    saved: result.saved.map(savedView),
    present: result.present.map(savedView),
    failed: result.failed.map((file: FailedFile) => ({
      offered: file.offered,
      code: file.code,
      message: file.message,
    })),
    declined: result.declined,
  };
}

/** Whether two offers list the same entries: a later run may then take the same choice. */
export function sameEntries(a: ValidatedOffer, b: ValidatedOffer): boolean {
  if (a.entries.length !== b.entries.length) return false;
  return a.entries.every((entry, index) => {
    const other = b.entries[index];
    return (
      other !== undefined &&
      other.path === entry.path &&
      other.kind === entry.kind &&
      other.size === entry.size
    );
  });
}
