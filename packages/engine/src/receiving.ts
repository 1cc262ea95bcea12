import { ErrorCode, type ValidatedEntry } from '@ferry/protocol';
import { Destination } from './destination.ts';
import { DestinationError } from './errors.ts';
import type { FailedFile } from './incoming-file.ts';
import type { Inspection } from './inspection.ts';

/** A destination made ready for the accepted entries of an offer: what to request, and what already failed. */
export interface PreparedReceiving {
  readonly destination: Destination;
  /** The folder the files go to, as resolved. */
  readonly outDir: string;
  /** The files to request, in offer order. */
  readonly files: readonly ValidatedEntry[];
  /** Their bytes. */
  readonly bytes: number;
  /** Entries this folder cannot hold, or whose folder could not be created: they fail alone (K9). */
  readonly notSaved: readonly FailedFile[];
}

/**
 * Makes the chosen folder ready for an accepted offer, the same way in every app: refuses a
 * folder without room (NO_SPACE), creates the folders, and sets apart the entries this file
 * system cannot hold so that only they fail. `busy` wraps the slow part (creating many folders)
 * so a caller can keep its link alive meanwhile (K5).
 */
export async function prepareReceiving(
  inspection: Inspection,
  busy: <T>(work: Promise<T>) => Promise<T> = (work) => work,
): Promise<PreparedReceiving> {
  const { plan, report, accepted } = inspection;
  if (!report.enoughSpace) {
    throw new DestinationError(
      ErrorCode.NO_SPACE,
      `not enough free space in ${report.outDir}: the files and folders need about ${report.neededBytes} bytes`,
    );
  }
  const destination = new Destination(plan.root);
  const notSaved: FailedFile[] = plan.unsavable.map((entry) => ({
    offered: entry.offered,
    code: ErrorCode.WRITE_FAILED,
    message: entry.message,
  }));
  const unsavable = new Set(plan.unsavable.map((entry) => entry.offered));
  const creatable = accepted.filter((entry) => !unsavable.has(entry.path));
  try {
    for (const { entry, message } of await busy(destination.createDirs(creatable))) {
      unsavable.add(entry.path);
      notSaved.push({ offered: entry.path, code: ErrorCode.WRITE_FAILED, message });
    }
  } catch (error) {
    // Nothing of a destination that could not be made ready is left behind.
    await destination.cleanup();
    throw error;
  }
  const files = creatable.filter((entry) => entry.kind === 'file' && !unsavable.has(entry.path));
  const bytes = files.reduce((sum, entry) => sum + entry.size, 0);
  return { destination, outDir: plan.root, files, bytes, notSaved };
}
