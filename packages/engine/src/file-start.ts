import type { RequestItem, ValidatedEntry } from '@ferry/protocol';
import type { Destination } from './destination.ts';
import { IncomingFile, type IncomingOptions } from './incoming-file.ts';
import type { HeldPrefix } from './receiving.ts';

/**
 * True when a file's start (FILE_START, TX_START) has the offset asked for, or 0 after asking
 * from a prefix: the sender starts over (§13.3). Any other offset is not what was asked.
 */
export function startMatches(request: RequestItem, offset: number): boolean {
  return offset === request.offset || (offset === 0 && 'prefix' in request);
}

/** Why a file asked for from a prefix comes again from byte 0. */
export type RestartReason = 'changed' | 'differs';

/**
 * Opens the file a start announces, from what is held of it (`held`, as prepared): a start at
 * 0 after a prefix drops what was held and begins again (a file already there is left as it is
 * and the new one is written beside it). `restarted` says why, when it starts over: a partial
 * file's source changed since; a file already there differs from the sender's.
 */
export async function openStartedFile(
  destination: Destination,
  entry: ValidatedEntry,
  held: HeldPrefix | undefined,
  offset: number,
  options: Omit<IncomingOptions, 'resumeFrom'>,
): Promise<{ file: IncomingFile; restarted?: RestartReason | undefined }> {
  const file = await IncomingFile.open(destination, entry, { ...options, resumeFrom: held });
  if (!held || offset !== 0) return { file };
  await file.restart();
  return { file, restarted: held.presentAt === undefined ? 'changed' : 'differs' };
}
