import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { RESUME } from '@ferry/protocol';
import { z } from 'zod';
import { lockedBy } from './partial-lock.ts';

/** Every partial folder's name starts with this; 32 lowercase hex digits follow (PROTOCOL.md §13). */
export const PARTIAL_DIR_PREFIX = '.ferry-partial-';
/** The record of a partial folder, beside its partial files. */
export const STATE_FILE = 'state.json';
const PARTIAL_DIR_NAME = /^\.ferry-partial-[0-9a-f]{32}$/;
const PARTIAL_FILE_NAME = /^[0-9a-f]{32}\.part$/;
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,19})$/);

/** The state record of one partial folder (`state.json`, version 1): who sent it, where, and which folders it claimed. */
export const ResumeStateSchema = z.strictObject({
  version: z.literal(1),
  root: z.string().min(1).max(4096),
  sender: z.strictObject({
    key: z.string().regex(/^([0-9a-f]{64})?$/),
    name: z.string().max(1024),
    host: z.string().max(1024),
  }),
  session: z.string().regex(/^[0-9a-f]{32}$/),
  created: z.iso.datetime(),
  tops: z
    .array(
      z.strictObject({
        offered: z.string().min(1).max(1024),
        local: z.string().min(1).max(1024),
        dev: decimal,
        ino: decimal,
      }),
    )
    .max(100_000),
});

/** A state record, as validated. */
export type ResumeState = z.infer<typeof ResumeStateSchema>;
/** One top-level folder a transfer claimed, with its identity. */
export type TopClaim = ResumeState['tops'][number];

/** A partial folder of ours with a valid record; `tops` keeps only the claims that still hold. */
export interface FoundState {
  readonly dir: string;
  readonly state: ResumeState;
  readonly tops: readonly TopClaim[];
}

/** Options of {@link readResumeStates}; `uid` stands for this process's user (tests). */
export interface OwnerOptions {
  readonly uid?: number | undefined;
}

/** The name of the partial file of the entry saved at `localPath` (`/`-separated, relative). */
export function partialName(localPath: string): string {
  return `${createHash('sha256').update(localPath, 'utf8').digest('hex').slice(0, 32)}.part`;
}

/** True for a name Ferry gives its partial files (the deterministic and the random ones). */
export function isPartialFileName(name: string): boolean {
  return PARTIAL_FILE_NAME.test(name);
}

/** True for a name Ferry gives its partial folders. */
export function isPartialDirName(name: string): boolean {
  return PARTIAL_DIR_NAME.test(name);
}

/** A new partial folder name: 128 random bits from the CSPRNG. */
export function randomPartialDirName(): string {
  return `${PARTIAL_DIR_PREFIX}${randomBytes(16).toString('hex')}`;
}

/** This process's user, where the system has users. */
export function currentUid(options: OwnerOptions = {}): number | undefined {
  return options.uid ?? process.getuid?.();
}

/**
 * Why a partial folder cannot be trusted (another user's, open to others, not a real folder),
 * or undefined when it is ours alone. Windows has no owner or mode bits: only the kind is checked.
 */
export async function partialDirProblem(
  dir: string,
  options: OwnerOptions = {},
): Promise<string | undefined> {
  const stats = await fs.lstat(dir).catch(() => undefined);
  if (!stats) return 'it is gone';
  if (!stats.isDirectory())
    return stats.isSymbolicLink() ? 'it is a symbolic link' : 'it is not a folder';
  const uid = currentUid(options);
  if (uid !== undefined && stats.uid !== uid)
    return `it belongs to another user (uid ${stats.uid})`;
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    return `other users can use it (permissions ${(stats.mode & 0o777).toString(8).padStart(4, '0')})`;
  }
  return undefined;
}

/**
 * Reads the record of one partial folder as hostile input: opened without following a link, a
 * regular file of ours, not writable by others, at most RESUME.maxStateBytes, strict schema.
 * Rejects with the reason otherwise.
 */
export async function readStateFile(dir: string, options: OwnerOptions = {}): Promise<ResumeState> {
  const handle = await fs.open(
    path.join(dir, STATE_FILE),
    constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0),
  );
  try {
    const stats = await handle.stat();
    const uid = currentUid(options);
    if (!stats.isFile()) throw new Error('the record is not a regular file');
    if (uid !== undefined && stats.uid !== uid)
      throw new Error(`the record belongs to another user (uid ${stats.uid})`);
    if (process.platform !== 'win32' && (stats.mode & 0o022) !== 0)
      throw new Error('others can write the record');
    if (stats.size > RESUME.maxStateBytes)
      throw new Error(`the record is larger than ${RESUME.maxStateBytes} bytes`);
    // Read one byte past the limit: a file that grew since fstat is caught too.
    const buffer = Buffer.alloc(RESUME.maxStateBytes + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > RESUME.maxStateBytes)
      throw new Error(`the record is larger than ${RESUME.maxStateBytes} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(buffer.subarray(0, bytesRead).toString('utf8'));
    } catch {
      throw new Error('the record is not JSON');
    }
    const parsed = ResumeStateSchema.safeParse(json);
    if (!parsed.success)
      throw new Error(`the record is not valid: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    return parsed.data;
  } finally {
    await handle.close();
  }
}

/**
 * The partial folders in `dest` (a real path) whose record can be used: ours, with a valid
 * record whose root is this very folder, and not locked by a running receiver. `foreign` lists
 * the other `.ferry-partial-*` entries, which are never touched; `inUse` the valid ones that a
 * running receiver holds (left to it). A claim on a top-level folder is kept only if that folder
 * is still the one recorded (same device and inode, a real folder).
 */
export async function readResumeStates(
  dest: string,
  options: OwnerOptions = {},
): Promise<{ states: FoundState[]; foreign: string[]; inUse: string[] }> {
  const root = await fs.realpath(dest);
  const states: FoundState[] = [];
  const foreign: string[] = [];
  const inUse: string[] = [];
  const names = (await fs.readdir(root))
    .filter((name) => name.startsWith(PARTIAL_DIR_PREFIX))
    .sort();
  for (const name of names) {
    const dir = path.join(root, name);
    const state =
      isPartialDirName(name) && (await partialDirProblem(dir, options)) === undefined
        ? await readStateFile(dir, options).catch(() => undefined)
        : undefined;
    if (!state || state.root !== root) {
      foreign.push(dir);
      continue;
    }
    if ((await lockedBy(dir)) !== undefined) {
      inUse.push(dir);
      continue;
    }
    const tops: TopClaim[] = [];
    for (const claim of state.tops) if (await claimHolds(root, claim)) tops.push(claim);
    states.push({ dir, state, tops });
  }
  return { states, foreign, inUse };
}

/** True when the claimed folder is still the one the transfer made: a real folder with the recorded identity. */
async function claimHolds(root: string, claim: TopClaim): Promise<boolean> {
  // A claim naming anything but one plain name in `root` is not ours.
  if (claim.local !== path.basename(claim.local) || claim.local === '.' || claim.local === '..')
    return false;
  const stats = await fs
    .lstat(path.join(root, claim.local), { bigint: true })
    .catch(() => undefined);
  return (
    !!stats?.isDirectory() &&
    stats.dev.toString() === claim.dev &&
    stats.ino.toString() === claim.ino
  );
}

/** Who a transfer comes from, as a record names it: the key when encrypted, otherwise name and host. */
export interface ResumeSender {
  /** The sender key's full fingerprint (64 hex digits); empty in clear. */
  readonly senderKey: string;
  readonly senderName: string;
  readonly senderHost: string;
}

/** The newest record of `states` from `sender`; undefined when none matches. */
export function matchResumeState(
  states: readonly FoundState[],
  sender: ResumeSender,
): FoundState | undefined {
  const matching = states.filter(({ state }) =>
    sender.senderKey !== ''
      ? state.sender.key === sender.senderKey
      : state.sender.key === '' &&
        state.sender.name === sender.senderName &&
        state.sender.host === sender.senderHost,
  );
  matching.sort((a, b) => Date.parse(b.state.created) - Date.parse(a.state.created));
  return matching[0];
}

/**
 * Writes the record of the partial folder `dir` atomically (a new file, then rename), readable by
 * its owner only, and never longer than RESUME.maxStateBytes (the reader refuses a longer one):
 * the `tops` claims that do not fit are left out (a rerun then saves those folders under
 * `name (1)`). Returns the claims written.
 */
export async function writeResumeState(dir: string, state: ResumeState): Promise<TopClaim[]> {
  const valid = fitRecord(ResumeStateSchema.parse(state));
  const temp = path.join(dir, `${randomBytes(16).toString('hex')}.tmp`);
  const flags =
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
  const handle = await fs.open(temp, flags, 0o600);
  try {
    await handle.writeFile(recordText(valid));
  } finally {
    await handle.close();
  }
  await fs.rename(temp, path.join(dir, STATE_FILE)).catch(async (error: unknown) => {
    await fs.rm(temp, { force: true });
    throw error;
  });
  return valid.tops;
}

/** The record as written: its JSON and a newline. */
function recordText(state: ResumeState): string {
  return `${JSON.stringify(state)}\n`;
}

/** `state` with the `tops` claims that fit within RESUME.maxStateBytes, in order; throws if even none fit. */
function fitRecord(state: ResumeState): ResumeState {
  if (Buffer.byteLength(recordText(state)) <= RESUME.maxStateBytes) return state;
  // `tops` is the last field: each claim adds its JSON and a comma between claims.
  let left = RESUME.maxStateBytes - Buffer.byteLength(recordText({ ...state, tops: [] }));
  const tops: TopClaim[] = [];
  for (const claim of state.tops) {
    const cost = Buffer.byteLength(JSON.stringify(claim)) + (tops.length > 0 ? 1 : 0);
    if (cost > left) continue;
    tops.push(claim);
    left -= cost;
  }
  const fitted = { ...state, tops };
  if (Buffer.byteLength(recordText(fitted)) > RESUME.maxStateBytes)
    throw new Error(`the state record cannot be kept within ${RESUME.maxStateBytes} bytes`);
  return fitted;
}
