import { EXIT, type Io, plural, printJson, type ReceiverJsonEvent, StatusLine } from '@ferry/cli';
import { cleanPartials, folderProblem } from '@ferry/engine';
import { escapeForDisplay as esc } from '@ferry/protocol';
import { AdvisedUsageError } from './errors.ts';

/**
 * `ferry-receive --clean <folder>`: removes the partial folders (`.ferry-partial-*`) that
 * interrupted transfers left at the top of `folder`, when they are ours and hold only what Ferry
 * writes; the others are left, each with the reason. Prints one line per folder (or, with
 * `--json`, one `clean` event each) and exits 0.
 */
export async function runCleanCommand(folder: string, io: Io, json: boolean): Promise<number> {
  const problem = await folderProblem(folder);
  if (problem === 'missing') {
    throw new AdvisedUsageError(
      `--clean: the folder ${esc(folder)} does not exist`,
      'Name the folder you received into.',
    );
  }
  if (problem === 'not-a-folder') {
    throw new AdvisedUsageError(
      `--clean: ${esc(folder)} is not a folder`,
      'Name the folder you received into.',
    );
  }
  const { removed, kept } = await cleanPartials(folder);
  if (json) {
    const print = (fields: ReceiverJsonEvent<'clean'>) =>
      printJson(io.stdout, 'clean', fields);
    for (const dir of removed) print({ dir, result: 'removed' });
    for (const { path, reason } of kept) print({ dir: path, result: 'left', reason });
    return EXIT.ok;
  }
  const out = StatusLine.for(io.stdout);
  for (const dir of removed)
    out.print(`Removed ${esc(dir)}: partial data of an interrupted transfer.`);
  for (const { path, reason, inUseBy } of kept) {
    out.print(
      inUseBy !== undefined && inUseBy > 0
        ? `Left ${esc(path)}: ${esc(reason)}. Run --clean again once that transfer has ended.`
        : `Left ${esc(path)}: ${esc(reason)}. Ferry did not make it as it is, so it is not removed; look at it yourself.`,
    );
  }
  if (removed.length === 0 && kept.length === 0) {
    out.print(`No partial data in ${esc(folder)}: nothing to remove.`);
  } else if (removed.length > 0) {
    out.print(
      `Removed ${plural(removed.length, 'partial folder')}; files already saved there are untouched.`,
    );
  }
  return EXIT.ok;
}
