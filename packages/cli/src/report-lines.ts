import { formatBytes } from './progress.ts';
import { plural } from './render.ts';
import type { ReceiverJsonEvent } from './json-events.ts';
import { escapeForDisplay as esc } from '@ferry/protocol';
import type { DestinationReport } from '@ferry/engine';

/** Names listed in full in one line of the report; the rest are counted. */
const SHOWN = 5;

/** The report before accepting (U9), as lines for a person. Peer names are escaped. */
export function reportLines(report: DestinationReport): string[] {
  const lines = [`Before saving to ${report.outDir}:`];
  const free =
    report.freeAfter === undefined
      ? 'free space: unknown'
      : report.freeAfter >= 0
        ? `free space after: ${formatBytes(report.freeAfter)} (needs about ${formatBytes(report.neededBytes)})`
        : `NOT ENOUGH SPACE: needs about ${formatBytes(report.neededBytes)}, ${formatBytes(report.freeBytes ?? 0)} is free`;
  // Two lines, so each fits 80 columns; a count of no folders is left out.
  const folders = report.folders > 0 ? `, ${plural(report.folders, 'folder')}` : '';
  lines.push(`  ${plural(report.files, 'file')}${folders} to create`, `  ${free}`);
  if (report.renamed.length > 0) {
    lines.push(`  new names, because the name exists: ${pairs(report.renamed)}`);
  }
  if (report.systemNames.length > 0) {
    lines.push(`  renamed for this system: ${pairs(report.systemNames)}`);
  }
  if (report.hidden.length > 0) {
    lines.push(`  hidden names at the top level: ${names(report.hidden)}`);
  }
  const tooLarge = report.unsavable.filter((entry) => entry.reason === 'too-large');
  if (tooLarge.length > 0) {
    lines.push(
      `  too large for this file system, will fail: ${names(tooLarge.map((entry) => entry.offered))}`,
    );
  }
  const other = report.unsavable.filter((entry) => entry.reason !== 'too-large');
  for (const entry of other.slice(0, SHOWN)) {
    lines.push(
      `  cannot be saved here, will fail: ${esc(shorten(entry.offered))}: ${entry.message}`,
    );
  }
  if (other.length > SHOWN)
    lines.push(`  ...and ${other.length - SHOWN} more that cannot be saved here`);
  return lines;
}

/** The report as the fields of the `--json` `report` event. */
export function reportFields(report: DestinationReport): ReceiverJsonEvent<'report'> {
  return {
    out: report.outDir,
    files: report.files,
    bytes: report.bytes,
    folders: report.folders,
    neededBytes: report.neededBytes,
    freeBytes: report.freeBytes ?? null,
    freeAfter: report.freeAfter ?? null,
    enoughSpace: report.enoughSpace,
    renamed: [...report.renamed],
    systemNames: [...report.systemNames],
    hidden: [...report.hidden],
    unsavable: report.unsavable.map(({ offered, kind, reason, message }) => ({
      offered,
      kind,
      reason,
      message,
    })),
  };
}

function pairs(list: readonly { offered: string; savedAs: string }[]): string {
  const shown = list.slice(0, SHOWN).map((item) => `${esc(item.offered)} -> ${esc(item.savedAs)}`);
  return `${shown.join(', ')}${list.length > SHOWN ? `, and ${list.length - SHOWN} more` : ''}`;
}

function names(list: readonly string[]): string {
  return `${list
    .slice(0, SHOWN)
    .map((name) => esc(shorten(name)))
    .join(', ')}${list.length > SHOWN ? `, and ${list.length - SHOWN} more` : ''}`;
}

/** A long offered path, cut in the middle so a line stays readable. */
function shorten(name: string): string {
  return name.length <= 60 ? name : `${name.slice(0, 28)}...${name.slice(-28)}`;
}
