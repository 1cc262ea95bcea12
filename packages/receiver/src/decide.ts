import fs from 'node:fs/promises';
import path from 'node:path';
import { expandHome, formatBytes, prepareDefaultFolder } from '@ferry/cli';
import { folderProblem, hiddenTopLevel, type Inspection } from '@ferry/engine';
import { escapeForDisplay, type ValidatedOffer } from '@ferry/protocol';
import { AdvisedUsageError, DestinationError } from './errors.ts';
import type { Decision, Inspect } from './receiver.ts';
import type { Prompter } from './ui/prompts.ts';
import { partlyReceived } from './ui/render.ts';

/** Folders asked for, at most, before giving up on one that can be used. */
const MAX_FOLDER_ASKS = 10;

/** What the decision needs from the command line. */
export interface DecideSettings {
  readonly yes: boolean;
  /** `--out`, as typed. */
  readonly out: string | undefined;
  /** Whether a person can be asked. */
  readonly interactive: boolean;
  readonly home: string;
  readonly defaultFolder: string;
  readonly prompter: Prompter;
}

/** The outcome beside the decision: a cancelled prompt, or a refusal that exits 2. */
export interface DecideState {
  cancelled: boolean;
  refusal: AdvisedUsageError | undefined;
}

/**
 * The receiver's `decide`: which items, and a folder that can take them. The folder is checked
 * when it is chosen (U3): a missing one may be created, a read-only one or one without room is
 * asked for again. Without a person, the same problems decline the offer with exit 2.
 */
export function createDecide(settings: DecideSettings, state: DecideState) {
  const { home, defaultFolder } = settings;
  const prompter = withDefaults(settings.prompter);
  return async (
    offer: ValidatedOffer,
    _sender: unknown,
    prompts: AbortSignal,
    inspect: Inspect,
  ): Promise<Decision | 'cancelled' | null> => {
    const items = settings.yes
      ? offer.items.map((_, index) => index)
      : await prompter.chooseItems(offer, prompts);
    state.cancelled = items === null;
    if (items === null) return 'cancelled';
    if (items.length === 0) return null;
    const hidden = hiddenTopLevel(offer, items);
    if (!settings.interactive || settings.yes) {
      // Hidden top-level names go only where the user said (K2): --yes alone never picks for them.
      if (settings.out === undefined && hidden.length > 0) {
        state.refusal = new AdvisedUsageError(
          `the offer has hidden names at the top level (${listed(hidden)}); --yes saves those only into a folder you name, so nothing was saved`,
          'Pass --out DIR to choose the folder, or run without --yes to see the offer first.',
        );
        return null;
      }
      const outDir = settings.out === undefined ? defaultFolder : expandHome(settings.out, home);
      let inspection: Inspection;
      try {
        if (settings.out === undefined) await prepareDefaultFolder(outDir, home);
        inspection = await inspect(items, outDir);
      } catch (error) {
        if (!(error instanceof DestinationError)) throw error;
        state.refusal = new AdvisedUsageError(
          `${error.message}; nothing was saved`,
          'Choose another folder with --out DIR.',
        );
        return null;
      }
      if (!inspection.report.enoughSpace) {
        // Declined by the receiver core with ERR_NO_SPACE, so the sender knows why; exit 2.
        state.refusal = new AdvisedUsageError(
          noRoom(inspection),
          'Free some space, or choose another folder with --out DIR.',
        );
      }
      return { items, outDir, inspection };
    }
    for (let ask = 0; ask < MAX_FOLDER_ASKS; ask++) {
      const chosen =
        ask === 0 && settings.out !== undefined
          ? settings.out
          : await prompter.chooseFolder(defaultFolder, prompts);
      state.cancelled = chosen === null;
      if (chosen === null) return 'cancelled';
      const outDir = expandHome(chosen, home);
      const ready = await makeReady(outDir, settings, prompts);
      if (ready === null) {
        state.cancelled = true;
        return 'cancelled';
      }
      if (!ready) continue;
      const inspection = await inspect(items, outDir);
      if (!inspection.report.enoughSpace) {
        prompter.notice(`${noRoom(inspection)}: choose another folder.`);
        continue;
      }
      const warnings: string[] = [];
      if (hidden.length > 0 && (await isHomeFolder(inspection.report.outDir, home))) {
        warnings.push(`hidden names (${listed(hidden)}) would take effect in your home folder`);
      }
      if (inspection.report.unsavable.length > 0)
        warnings.push(`${inspection.report.unsavable.length} cannot be saved there`);
      if (warnings.length > 0) {
        const go = await prompter.confirm(
          `Save there anyway? (${warnings.join('; ')})`,
          false,
          prompts,
        );
        if (go === null) {
          state.cancelled = true;
          return 'cancelled';
        }
        if (!go) continue;
      }
      // Partial data of this sender is here: resuming is the default; no starts those files fresh.
      const resumable = inspection.report.resumable;
      if (resumable) {
        // A prompter that cannot ask keeps the default.
        const resume = !settings.prompter.confirm
          ? true
          : await prompter.confirm(
              `${partlyReceived(resumable.files, resumable.heldBytes, resumable.totalBytes)}; resume?`,
              true,
              prompts,
            );
        if (resume === null) {
          state.cancelled = true;
          return 'cancelled';
        }
        return { items, outDir, inspection, resume };
      }
      return { items, outDir, inspection };
    }
    throw new DestinationError('ERR_WRITE_FAILED', 'no usable folder was chosen');
  };
}

/**
 * Makes a chosen folder ready: the default one is created, a missing one is created if the user
 * agrees, an unusable one is explained. True when ready, false to ask again, null if cancelled.
 */
async function makeReady(
  outDir: string,
  settings: DecideSettings,
  prompts: AbortSignal,
): Promise<boolean | null> {
  const prompter = withDefaults(settings.prompter);
  try {
    if (outDir === path.resolve(settings.defaultFolder))
      await prepareDefaultFolder(outDir, settings.home);
  } catch (error) {
    prompter.notice(`${(error as Error).message}: choose another folder.`);
    return false;
  }
  const problem = await folderProblem(outDir);
  if (problem === undefined) return true;
  if (problem !== 'missing') {
    prompter.notice(
      `${outDir} ${problem === 'not-a-folder' ? 'is not a folder' : 'is not writable'}: choose another folder.`,
    );
    return false;
  }
  const create = await prompter.confirm(`${outDir} does not exist. Create it?`, true, prompts);
  if (create !== true) return create;
  try {
    await fs.mkdir(outDir, { recursive: true, mode: 0o755 });
    return true;
  } catch (error) {
    prompter.notice(
      `cannot create ${outDir} (${(error as NodeJS.ErrnoException).code}): choose another folder.`,
    );
    return false;
  }
}

/** A prompter that cannot confirm answers no; one that cannot show a notice shows nothing. */
function withDefaults(prompter: Prompter): Required<Omit<Prompter, 'pickSender'>> {
  return {
    ...prompter,
    confirm: prompter.confirm?.bind(prompter) ?? (async () => false),
    notice: prompter.notice?.bind(prompter) ?? (() => {}),
  };
}

function noRoom(inspection: Inspection): string {
  const { report } = inspection;
  const free = report.freeBytes === undefined ? '' : `, ${formatBytes(report.freeBytes)} is free`;
  return `not enough free space in ${report.outDir}: the files and ${report.folders} folders need about ${formatBytes(report.neededBytes)}${free}`;
}

function listed(names: readonly string[]): string {
  return `${names.slice(0, 3).map(escapeForDisplay).join(', ')}${names.length > 3 ? ', ...' : ''}`;
}

async function isHomeFolder(dir: string, home: string): Promise<boolean> {
  const realHome = await fs.realpath(home).catch(() => path.resolve(home));
  return dir === realHome;
}
