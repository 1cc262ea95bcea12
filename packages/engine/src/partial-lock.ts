import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * The lock of a partial folder: a file holding the id of the process receiving into it. A
 * folder whose lock names a running process is in use: no other receiver adopts it, and
 * `--clean` leaves it.
 */
export const LOCK_FILE = 'lock';

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const PID = /^([1-9][0-9]{0,9})\n?$/;
/** Attempts at taking a lock that others are taking or giving up at the same moment. */
const MAX_ATTEMPTS = 4;

/** The process a lock names, with the lock's identity (to tell it from a newer lock). */
interface LockHolder {
  readonly pid: number;
  readonly ino: number;
  readonly mtimeMs: number;
}

/**
 * Reads the lock at `file` without following a link: undefined when there is none; `null` when
 * something is there that is not a lock Ferry wrote (it is then treated as held, never removed).
 */
async function readLock(file: string): Promise<LockHolder | null | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | NOFOLLOW);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size > 16) return null;
    const buffer = Buffer.alloc(16);
    const { bytesRead } = await handle.read(buffer, 0, 16, 0);
    const match = PID.exec(buffer.subarray(0, bytesRead).toString('latin1'));
    if (!match) return null;
    return { pid: Number(match[1]), ino: stats.ino, mtimeMs: stats.mtimeMs };
  } finally {
    await handle.close();
  }
}

/** True while the process named by a lock may still be running. */
function alive(holder: LockHolder): boolean {
  // A lock written before this system last started is stale, whatever runs under its id now.
  if (holder.mtimeMs < Date.now() - os.uptime() * 1000) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: a process of another user runs under that id; only ESRCH says nobody does.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * The id of the running process that holds the partial folder `dir`, or undefined when it is
 * free (no lock, or a stale one: its process is gone). A lock Ferry did not write counts as held
 * (-1): nothing is adopted or removed on the strength of a file it cannot read.
 */
export async function lockedBy(dir: string): Promise<number | undefined> {
  const holder = await readLock(path.join(dir, LOCK_FILE));
  if (holder === undefined) return undefined;
  if (holder === null) return -1;
  return alive(holder) ? holder.pid : undefined;
}

/**
 * Takes the lock of the partial folder `dir` for this process. The lock is written whole under a
 * temporary name and linked to `lock`, which fails if one is there: a reader never sees half a
 * lock. A stale lock is moved aside (one taker wins the rename) and replaced. Resolves to false
 * when a running process holds the folder.
 */
export async function takeLock(dir: string): Promise<boolean> {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (await linkNewLock(dir, file)) return true;
    const holder = await readLock(file);
    if (holder === undefined) continue;
    if (holder === null || alive(holder)) return false;
    const aside = path.join(dir, `${randomBytes(16).toString('hex')}.tmp`);
    try {
      await fs.rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await readLock(aside);
    if (moved && moved.ino === holder.ino && moved.mtimeMs === holder.mtimeMs) {
      await fs.rm(aside, { force: true });
      continue;
    }
    // Another receiver replaced the stale lock first: its lock goes back, and it keeps the folder.
    await fs.link(aside, file).catch(() => {});
    await fs.rm(aside, { force: true });
    return false;
  }
  return false;
}

/** Writes this process's id under a temporary name and links it to `file`; false if a lock is there. */
async function linkNewLock(dir: string, file: string): Promise<boolean> {
  const temp = path.join(dir, `${randomBytes(16).toString('hex')}.tmp`);
  const handle = await fs.open(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW,
    0o600,
  );
  try {
    await handle.writeFile(`${process.pid}\n`);
  } finally {
    await handle.close();
  }
  try {
    await fs.link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** Gives up this process's lock of `dir` (left alone if it is not ours). */
export async function releaseLock(dir: string): Promise<void> {
  const file = path.join(dir, LOCK_FILE);
  const holder = await readLock(file).catch(() => null);
  if (holder && holder.pid === process.pid) await fs.rm(file, { force: true });
}
