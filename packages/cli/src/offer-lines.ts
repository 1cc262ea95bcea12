import { hiddenTopLevel } from '@ferry/engine';
import { escapeForDisplay as esc, type Renamed, type ValidatedOffer } from '@ferry/protocol';
import { comparePathsNaturally, summarizeLines } from './list.ts';
import { formatBytes } from './progress.ts';
import { plural } from './render.ts';

/** Said under a cut list: how to see all of it. */
export const SEE_ALL = ' (--verbose lists them all)';

/** What an offer shown to a person is made of. */
export interface OfferView {
  /** Who offers it, already escaped: `bob on laptop`, `#2 from bob`. */
  readonly from: string;
  readonly offer: ValidatedOffer;
  /** Names this system cannot store, and the name each is saved under. */
  readonly renamed: readonly Renamed[];
  /** Folders it creates. */
  readonly folders: number;
  /** List every entry instead of a summary. */
  readonly verbose?: boolean;
}

/**
 * An incoming offer as lines for a person: who offers what, the entries (summarised, in natural
 * order, so a long offer leaves the key and the prompt on screen), the total, renamed and hidden
 * names. Every name from the peer is escaped.
 */
export function offerLines({
  from,
  offer,
  renamed,
  folders,
  verbose = false,
}: OfferView): string[] {
  const files = plural(offer.fileCount, 'file');
  const lines = [`${from} offers ${files} (${formatBytes(offer.totalBytes)}):`];
  const entries = [...offer.entries].sort((a, b) => comparePathsNaturally(a.path, b.path));
  const listed = entries.map((entry) =>
    entry.kind === 'dir'
      ? `  ${esc(entry.path)}/`
      : `  ${esc(entry.path)}  ${formatBytes(entry.size)}`,
  );
  lines.push(...summarizeLines(listed, verbose, SEE_ALL));
  const folderCount = folders > 0 ? `, ${plural(folders, 'folder')}` : '';
  lines.push(
    `Total: ${files}, ${formatBytes(offer.totalBytes)}${folderCount}, in ${plural(offer.items.length, 'item')}.`,
  );
  if (renamed.length > 0) lines.push('Names this system cannot store, saved as:');
  for (const { offered, local } of renamed) lines.push(`  ${esc(offered)}  ->  ${esc(local)}`);
  const hidden = hiddenTopLevel(offer);
  if (hidden.length > 0) {
    lines.push(`Hidden names at the top level: ${hidden.map(esc).join(', ')}`);
    lines.push('  Saved into a home folder they would take effect: choose a folder of their own.');
  }
  return lines;
}
