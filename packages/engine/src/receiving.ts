import type { Hash } from 'node:crypto';
import { constants } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { ErrorCode, FerryError, type RequestItem, type ValidatedEntry } from '@ferry/protocol';
import { Destination } from './destination.ts';
import { DestinationError } from './errors.ts';
import type { FailedFile, PresentFile } from './incoming-file.ts';
import type { Inspection } from './inspection.ts';
import { PartialStore } from './partials.ts';
import { type Busy, hashPrefix } from './prefix-hash.ts';
import type { ResumePlan } from './resume-plan.ts';
import { writeResumeState } from './resume-state.ts';

/** What is held of a requested file: IncomingOptions.resumeFrom for it. */
export interface HeldPrefix {
  readonly offset: number;
  readonly hash: Hash;
  /** The file already there whole, when it is that (not a partial file). */
  readonly presentAt?: string | undefined;
}

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
  /** The REQUEST's items, one per file of `files`, in order: from 0, or from a held prefix. */
  readonly requests: readonly RequestItem[];
  /** What is held of the files asked for from a prefix, by entry id. */
  readonly held: ReadonlyMap<number, HeldPrefix>;
  /** Partial files resumed (present files not counted), and their bytes not sent again. */
  readonly resumed: { readonly files: number; readonly heldBytes: number };
  /** Empty files already there: nothing to ask for, they are concluded now. */
  readonly present: readonly PresentFile[];
}

/** Options of {@link prepareReceiving}. */
export interface PrepareOptions {
  /** Resume from a matching record's partial data (the default); false deletes it and starts fresh. */
  readonly resume?: boolean | undefined;
  /** Entry ids concluded already (saved, already there, or failed for good, as on a reconnection): not requested again. */
  readonly exclude?: ReadonlySet<number> | undefined;
}

/**
 * Makes the chosen folder ready for an accepted offer, the same way in every app: refuses a
 * folder without room (NO_SPACE), creates the folders, and sets apart the entries this file
 * system cannot hold so that only they fail. With an inspection made for resuming, files are
 * written in a partial folder with its state record, and each file held in part or already
 * there is asked for from its prefix, hashed from disk. `busy` wraps the slow parts (creating
 * many folders, hashing) so a caller can keep its link alive meanwhile (K5).
 */
export async function prepareReceiving(
  inspection: Inspection,
  busy: Busy = (work) => work,
  options: PrepareOptions = {},
): Promise<PreparedReceiving> {
  const { plan, report, accepted, resume } = inspection;
  if (!report.enoughSpace) {
    throw new DestinationError(
      ErrorCode.NO_SPACE,
      `not enough free space in ${report.outDir}: the files and folders need about ${report.neededBytes} bytes`,
    );
  }
  let resuming = false;
  let partials: PartialStore | undefined;
  if (resume) {
    const owner = { uid: resume.options.uid };
    // The found folder is locked first: another receiver that took it since keeps it, and this
    // one starts a folder of its own.
    const claimed = resume.found ? await PartialStore.claim(resume.found, owner) : undefined;
    resuming = claimed !== undefined && (options.resume ?? true);
    // A declined resume starts fresh: what was held goes first.
    if (claimed && !resuming) await claimed.remove();
    partials = resuming && claimed ? claimed : await PartialStore.create(plan.root, owner);
  }
  const destination = new Destination(plan.root, {
    partials,
    adopt: resume?.adopt,
    claims: resume?.claims,
  });
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
    const candidates = creatable.filter(
      (entry) =>
        entry.kind === 'file' && !unsavable.has(entry.path) && !options.exclude?.has(entry.id),
    );
    if (!resume || !partials) {
      const bytes = candidates.reduce((sum, entry) => sum + entry.size, 0);
      const requests = candidates.map((entry) => ({ id: entry.id, offset: 0 }));
      return {
        destination,
        outDir: plan.root,
        files: candidates,
        bytes,
        notSaved,
        requests,
        held: new Map(),
        resumed: { files: 0, heldBytes: 0 },
        present: [],
      };
    }
    const sender = resume.options;
    await writeResumeState(partials.dir, {
      version: 1,
      root: plan.root,
      sender: { key: sender.senderKey, name: sender.senderName, host: sender.senderHost },
      // A sender that gave no session is recorded under zeros: the record only informs.
      session: sender.session ?? '0'.repeat(32),
      created: new Date().toISOString(),
      tops: await destination.topClaims(),
    });
    const asked = await askFor(candidates, resume, resuming ? partials : undefined, busy);
    return { destination, outDir: plan.root, notSaved, ...asked };
  } catch (error) {
    // Nothing of a destination that could not be made ready is left behind.
    await destination.cleanup();
    throw error;
  }
}

/**
 * The REQUEST again after a reconnect (§13), for `files` not concluded yet: each from what its
 * partial holds now, or for a file already there from its digest, proven as a rerun proves
 * them. Nobody is asked: the user accepted already.
 */
export async function prepareAgain(
  prepared: Pick<PreparedReceiving, 'destination' | 'held'>,
  files: readonly ValidatedEntry[],
  busy: Busy = (work) => work,
): Promise<
  Pick<PreparedReceiving, 'files' | 'bytes' | 'requests' | 'held' | 'resumed' | 'present'>
> {
  const store = prepared.destination.partials;
  const present = new Map<number, string>();
  const held = new Map<number, number>();
  for (const entry of files) {
    const presentAt = prepared.held.get(entry.id)?.presentAt;
    if (presentAt !== undefined) {
      present.set(entry.id, presentAt);
      continue;
    }
    const length = await store?.held(entry.path);
    if (length !== undefined && length > 0 && length <= entry.size) held.set(entry.id, length);
  }
  return askFor(files, { present, held }, store, busy);
}

/** The REQUEST for `files`: each from its held prefix (partial or present) when there is one, else from 0. */
async function askFor(
  files: readonly ValidatedEntry[],
  resume: Pick<ResumePlan, 'present' | 'held'>,
  store: PartialStore | undefined,
  busy: Busy,
) {
  const requested: ValidatedEntry[] = [];
  const requests: RequestItem[] = [];
  const held = new Map<number, HeldPrefix>();
  const present: PresentFile[] = [];
  let resumed = { files: 0, heldBytes: 0 };
  for (const entry of files) {
    const presentAt = resume.present.get(entry.id);
    if (presentAt !== undefined && entry.size === 0) {
      // Nothing to prove of an empty file: it is there.
      present.push({
        present: true,
        path: presentAt,
        offered: entry.path,
        size: 0,
        sha256: EMPTY_SHA256,
      });
      continue;
    }
    requested.push(entry);
    const length = presentAt !== undefined ? entry.size : resume.held.get(entry.id);
    const handle = length === undefined ? undefined : await openHeldBytes(entry, presentAt, store);
    const prefix =
      handle && length !== undefined
        ? await hashHeld(handle, length, presentAt !== undefined, busy)
        : undefined;
    if (!prefix || length === undefined) {
      if (store && presentAt === undefined) await store.dropUnusable(entry.path, entry.size);
      requests.push({ id: entry.id, offset: 0 });
      continue;
    }
    requests.push({ id: entry.id, offset: length, prefix: prefix.digest });
    held.set(entry.id, { offset: length, hash: prefix.hash, presentAt });
    if (presentAt === undefined)
      resumed = { files: resumed.files + 1, heldBytes: resumed.heldBytes + length };
  }
  const bytes = requested.reduce((sum, entry) => sum + entry.size, 0);
  return { files: requested, bytes, requests, held, resumed, present };
}

/** SHA-256 of no bytes. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Opens what is held of `entry`: the file already there (its last component not followed), or
 * its partial as the store trusts it; undefined when there is nothing to open.
 */
async function openHeldBytes(
  entry: ValidatedEntry,
  presentAt: string | undefined,
  store: PartialStore | undefined,
): Promise<FileHandle | undefined> {
  if (presentAt !== undefined) {
    return fs
      .open(presentAt, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0))
      .catch(() => undefined);
  }
  return (await store?.openHeld(entry.path))?.handle;
}

/**
 * Hashes the first `length` bytes of an open file and closes it. The file must still be a
 * regular one holding that many bytes (exactly that many for a file already there); otherwise,
 * or when it cannot be read, undefined: the file is then asked for from 0.
 */
async function hashHeld(handle: FileHandle, length: number, exact: boolean, busy: Busy) {
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size < length || (exact && stats.size !== length))
      return undefined;
    return await hashPrefix(handle, length, busy);
  } catch (error) {
    // A file that cannot be read is asked for whole; a connection that failed meanwhile is not hidden.
    const unreadable =
      (error as NodeJS.ErrnoException)?.syscall !== undefined ||
      (error instanceof FerryError && error.code === ErrorCode.WRITE_FAILED);
    if (unreadable) return undefined;
    throw error;
  } finally {
    await handle.close();
  }
}
