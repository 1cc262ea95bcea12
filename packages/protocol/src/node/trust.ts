import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { LIMITS } from '../constants.ts';
import { escapeForDisplay as esc, FORBIDDEN_NAME_CHARS, truncateUtf8 } from '../text.ts';
import { ConfigFileError, ensureConfigDir } from './config-dir.ts';
import { fingerprintHex, keyPrefix, shortFingerprint } from './identity.ts';

/** A peer whose key this user chose to remember after pairing with a code. */
export interface TrustedPeer {
  readonly name: string;
  /** SHA-256 of the peer's SubjectPublicKeyInfo: 64 lower-case hex digits. */
  readonly fingerprint: string;
  /** Hosts it was seen at, most recent first, at most 8. */
  readonly addresses: readonly string[];
  /** When it was first remembered (ISO 8601). */
  readonly added: string;
}

/** The remembered peers cannot be read or changed; the message names the file and says how to fix it. */
export class TrustStoreError extends ConfigFileError {
  override name = 'TrustStoreError';
}

export type RememberResult =
  | { readonly kind: 'added' | 'updated'; readonly peer: TrustedPeer }
  | { readonly kind: 'conflict'; readonly existing: TrustedPeer };

/** Which side a remembered peer played: each side keeps its own list, so trusting a machine as a sender never lets it in as a receiver. */
export type PeerRole = 'sender' | 'receiver';

/** The file for each list: the receiver keeps the senders it trusts, the sender the receivers. */
const FILES: Readonly<Record<PeerRole, string>> = { sender: 'trusted-senders.json', receiver: 'trusted-receivers.json' };
const VERSION = 1;
const MAX_ADDRESSES = 8;
/** A DNS name is at most 253 characters; an IPv6 address with a zone a little more. */
const MAX_ADDRESS_LENGTH = 255;
/** One group of the displayed key (`558E`): what a person reads off the screen first. */
const MIN_PREFIX_DIGITS = 4;
const POSIX = process.platform !== 'win32';
// Missing on Windows.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const utf8 = new TextEncoder();

/** Why a name cannot be stored, or undefined when it can. */
function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'is empty';
  if (utf8.encode(name).byteLength > LIMITS.maxNameBytes) return `is longer than ${LIMITS.maxNameBytes} UTF-8 bytes`;
  if (FORBIDDEN_NAME_CHARS.test(name)) return 'contains control or invisible characters';
  return undefined;
}

function addressProblem(address: string): string | undefined {
  if (address === '') return 'is empty';
  if (address.length > MAX_ADDRESS_LENGTH) return `is longer than ${MAX_ADDRESS_LENGTH} characters`;
  if (FORBIDDEN_NAME_CHARS.test(address) || /\s/.test(address)) return 'contains spaces or control characters';
  return undefined;
}

/**
 * The name a peer is remembered under, the same on both sides (PROTOCOL.md §2.3): the name it
 * announced (HELLO `name`, OFFER `sender.name`), `@`, and where it is: the host a sender
 * announces (OFFER `sender.host`), or for a receiver, which announces none, the address its
 * connection came from (an IPv4-mapped IPv6 address written as IPv4).
 */
export function rememberedName(name: string, host: string): string {
  const where = `@${host.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')}`;
  // A long name is cut, not where it is: `@host` stays whole when it leaves room for a name.
  const room = LIMITS.maxNameBytes - new TextEncoder().encode(where).byteLength;
  if (room < 1) return truncateUtf8(`${name}${where}`, LIMITS.maxNameBytes);
  return `${truncateUtf8(name, room)}${where}`;
}

/** Names match the way people read them: compatibility forms, case and outer spaces do not count. */
function nameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase().trim();
}

/** Host names are case-insensitive. */
function addressKey(address: string): string {
  return address.toLowerCase();
}

const PeerSchema = z.strictObject({
  name: z.string().superRefine((name, context) => {
    const problem = nameProblem(name);
    if (problem) context.addIssue({ code: 'custom', message: `name ${problem}` });
  }),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'fingerprint must be 64 lower-case hex digits'),
  addresses: z
    .array(
      z.string().superRefine((address, context) => {
        const problem = addressProblem(address);
        if (problem) context.addIssue({ code: 'custom', message: `address ${problem}` });
      }),
    )
    .max(MAX_ADDRESSES),
  added: z.iso.datetime({ offset: true }),
});

const FileSchema = z
  .strictObject({ version: z.literal(VERSION), peers: z.array(PeerSchema) })
  .superRefine((file, context) => {
    // One key per name and one entry per key: otherwise "which key is Alice?" has two answers.
    const names = new Set<string>();
    const fingerprints = new Set<string>();
    file.peers.forEach((peer, index) => {
      if (fingerprints.has(peer.fingerprint)) {
        context.addIssue({ code: 'custom', path: ['peers', index, 'fingerprint'], message: 'the same key is listed twice' });
      }
      if (names.has(nameKey(peer.name))) {
        context.addIssue({ code: 'custom', path: ['peers', index, 'name'], message: 'the same name is listed twice' });
      }
      fingerprints.add(peer.fingerprint);
      names.add(nameKey(peer.name));
    });
  });

/**
 * The peers of one role this user remembered, in `<dir>/trusted-senders.json` or
 * `<dir>/trusted-receivers.json`. Every change re-reads the file and
 * replaces it atomically, so a concurrent `--forget` in another process is not undone wholesale,
 * and a file Ferry cannot understand is reported, never reset.
 */
export class TrustStore {
  readonly #dir: string;
  readonly #file: string;
  #peers: readonly TrustedPeer[];
  /** Changes from this process, one after another. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, file: string, peers: readonly TrustedPeer[]) {
    this.#dir = dir;
    this.#file = file;
    this.#peers = peers;
  }

  /** Reads the list of remembered peers of `role` in `dir`; a missing file is an empty list. */
  static async open(dir: string, role: PeerRole): Promise<TrustStore> {
    const file = path.join(dir, FILES[role]);
    return new TrustStore(dir, file, await readPeers(file));
  }

  /** The file this list lives in. */
  get file(): string {
    return this.#file;
  }

  list(): readonly TrustedPeer[] {
    return this.#peers;
  }

  /**
   * Reads the file again, so that a peer forgotten by another process (`--forget` while a
   * sender runs) is forgotten here too. A file that can no longer be read or trusted leaves
   * an empty list: every peer then needs a code, which is safe, and the error is thrown.
   */
  refresh(): Promise<void> {
    return this.#serially(async () => {
      try {
        this.#peers = await readPeers(this.#file);
      } catch (error) {
        this.#peers = Object.freeze([]);
        throw error;
      }
    });
  }

  byFingerprint(fingerprint: Uint8Array | string): TrustedPeer | undefined {
    const hex = typeof fingerprint === 'string' ? fingerprint.replace(/\s+/g, '').toLowerCase() : fingerprintHex(fingerprint);
    return this.#peers.find((peer) => peer.fingerprint === hex);
  }

  /** Compares names after NFKC and lower-casing, trimmed. */
  byName(name: string): TrustedPeer | undefined {
    const key = nameKey(name);
    return this.#peers.find((peer) => nameKey(peer.name) === key);
  }

  byAddress(host: string): readonly TrustedPeer[] {
    const key = addressKey(host.trim());
    return this.#peers.filter((peer) => peer.addresses.some((address) => addressKey(address) === key));
  }

  /**
   * Remembers a peer. A known fingerprint gets its address list refreshed (name kept). A name
   * already remembered with a DIFFERENT fingerprint is a conflict: nothing changes (the old key
   * is never replaced; the user must forget it first).
   */
  remember(peer: { name: string; fingerprint: Uint8Array; address?: string }): Promise<RememberResult> {
    return this.#serially(async () => {
      const problem = nameProblem(peer.name);
      if (problem) throw new TrustStoreError(this.#file, `Cannot remember a peer whose name ${problem}: "${esc(peer.name)}".`);
      if (peer.fingerprint.byteLength !== 32) {
        throw new TrustStoreError(this.#file, 'Cannot remember a peer: its fingerprint is not 32 bytes.');
      }
      const address = peer.address?.trim();
      const badAddress = address === undefined ? undefined : addressProblem(address);
      if (badAddress) throw new TrustStoreError(this.#file, `Cannot remember the address "${esc(address!)}": it ${badAddress}.`);

      const peers = await readPeers(this.#file);
      this.#peers = peers;
      const fingerprint = fingerprintHex(peer.fingerprint);
      const index = peers.findIndex((known) => known.fingerprint === fingerprint);
      if (index >= 0) {
        const known = peers[index]!;
        if (address === undefined || known.addresses[0] === address) return { kind: 'updated', peer: known };
        const addresses = [address, ...known.addresses.filter((seen) => addressKey(seen) !== addressKey(address))];
        const updated = freezePeer({ ...known, addresses: addresses.slice(0, MAX_ADDRESSES) });
        await this.#write(peers.map((entry, at) => (at === index ? updated : entry)));
        return { kind: 'updated', peer: updated };
      }
      const sameName = peers.find((known) => nameKey(known.name) === nameKey(peer.name));
      if (sameName) return { kind: 'conflict', existing: sameName };
      const added = freezePeer({
        name: peer.name,
        fingerprint,
        addresses: address === undefined ? [] : [address],
        added: new Date().toISOString(),
      });
      await this.#write([...peers, added]);
      return { kind: 'added', peer: added };
    });
  }

  /**
   * Forgets peers matching a name (same comparison as byName) or, when no name matches, a key
   * as displayed or any prefix of it of at least one group, 4 digits (`558E`, `558E F330`;
   * spaces ignored, case-insensitive). An ambiguous
   * prefix throws TrustStoreError listing the matches. Returns what was removed.
   */
  forget(nameOrFingerprint: string): Promise<TrustedPeer[]> {
    return this.#serially(async () => {
      const peers = await readPeers(this.#file);
      this.#peers = peers;
      const key = nameKey(nameOrFingerprint);
      let matches = key === '' ? [] : peers.filter((peer) => nameKey(peer.name) === key);
      if (matches.length === 0) {
        const prefix = keyPrefix(nameOrFingerprint);
        if (prefix !== undefined && prefix.length >= MIN_PREFIX_DIGITS) {
          matches = peers.filter((peer) => peer.fingerprint.startsWith(prefix));
        }
      }
      if (matches.length === 0) return [];
      if (matches.length > 1) {
        const listed = matches.map((peer) => `"${esc(peer.name)}" (key ${shortFingerprint(peer.fingerprint)})`).join(', ');
        throw new TrustStoreError(
          this.#file,
          `"${esc(nameOrFingerprint)}" matches ${matches.length} remembered peers: ${listed}. ` +
            'Give more of the key, as shown.',
        );
      }
      await this.#write(peers.filter((peer) => !matches.includes(peer)));
      return matches;
    });
  }

  #serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => {});
    return result;
  }

  /**
   * Writes a private temp file next to the list and renames it over it, so readers see the
   * old list or the new one, never half of one.
   */
  async #write(peers: readonly TrustedPeer[]): Promise<void> {
    const text = `${JSON.stringify({ version: VERSION, peers }, null, 2)}\n`;
    const temp = path.join(this.#dir, `.${path.basename(this.#file)}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      await ensureConfigDir(this.#dir);
      const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
      try {
        if (POSIX) await handle.chmod(0o600);
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await renameOver(temp, this.#file);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw new TrustStoreError(
        this.#file,
        `Cannot save the remembered peers to ${this.#file}: ${reason(error)}. Check that you can write to ${this.#dir}.`,
        { cause: error },
      );
    }
    this.#peers = Object.freeze([...peers]);
  }
}

/** Windows refuses to replace a file another program (often a virus scanner) holds open; try again briefly. */
async function renameOver(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (error) {
      const code = codeOf(error);
      const transient = !POSIX && (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY');
      if (!transient || attempt >= 5) throw error;
      await sleep(20 * 2 ** attempt);
    }
  }
}

async function readPeers(file: string): Promise<readonly TrustedPeer[]> {
  let text: string;
  try {
    text = await readTrustFile(file);
  } catch (error) {
    if (error instanceof TrustStoreError) throw error;
    if (codeOf(error) === 'ENOENT') return [];
    throw new TrustStoreError(
      file,
      `Cannot read the remembered peers in ${file}: ${reason(error)}. ` +
        `Make it a file you can read (chmod 600 ${file}), or move it away to forget every remembered peer.`,
      { cause: error },
    );
  }
  const fix = 'Ferry will not overwrite it: fix it by hand, or move it away to forget every remembered peer.';
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new TrustStoreError(file, `${file} is not valid JSON (${reason(error)}). ${fix}`, { cause: error });
  }
  const version = typeof data === 'object' && data !== null && 'version' in data ? data.version : undefined;
  if (typeof version === 'number' && version > VERSION) {
    throw new TrustStoreError(
      file,
      `${file} was written by a newer Ferry (format version ${version}, this one reads ${VERSION}). ` +
        'Update Ferry, or move the file away to start a new list.',
    );
  }
  const parsed = FileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new TrustStoreError(
      file,
      `${file} is not a valid list of remembered peers (${esc(issue?.message ?? 'invalid')}${where}). ${fix}`,
      { cause: parsed.error },
    );
  }
  return Object.freeze(parsed.data.peers.map(freezePeer));
}

/**
 * The file's text. Like ssh with authorized_keys, refuses a file other users may change: whoever
 * can write it can make Ferry trust their key without a code.
 */
async function readTrustFile(file: string): Promise<string> {
  // O_NONBLOCK: a FIFO put in its place fails the checks below instead of hanging the open.
  const handle = await open(file, constants.O_RDONLY | O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new TrustStoreError(file, `${file} is not a regular file. Move it away; Ferry will create a new list there.`);
    }
    const problem = POSIX ? othersCanChange(file, stats, (await stat(path.dirname(file))) as StatsLike) : undefined;
    if (problem) throw new TrustStoreError(file, problem);
    return await handle.readFile({ encoding: 'utf8' });
  } finally {
    await handle.close();
  }
}

/** The parts of fs.Stats the ownership checks read. */
export interface StatsLike {
  readonly mode: number;
  readonly uid: number;
}

/**
 * Why other users could change the list of trusted keys in `file` (POSIX), or undefined when
 * only its owner can: the file must be ours and not group- or world-writable, and so must its
 * folder, or another user could put a file of their own in its place.
 */
export function othersCanChange(
  file: string,
  stats: StatsLike,
  folder: StatsLike,
  me: number | undefined = process.getuid?.(),
): string | undefined {
  const dir = path.dirname(file);
  const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');
  const risk = 'other users could make Ferry trust their key';
  if (me !== undefined && stats.uid !== me) {
    return `${file} belongs to another user (uid ${stats.uid}): ${risk}. Move it away; Ferry will start a new list.`;
  }
  if ((stats.mode & 0o022) !== 0) {
    return `Permissions ${octal(stats.mode)} for ${file} are too open: ${risk}. Run: chmod 600 ${file}`;
  }
  if (me !== undefined && folder.uid !== me && folder.uid !== 0) {
    return `The folder ${dir} belongs to another user (uid ${folder.uid}): ${risk}. Use a folder of your own (FERRY_CONFIG_DIR).`;
  }
  if ((folder.mode & 0o022) !== 0) {
    return `Permissions ${octal(folder.mode)} for the folder ${dir} are too open: ${risk}. Run: chmod 700 ${dir}`;
  }
  return undefined;
}

function freezePeer(peer: TrustedPeer): TrustedPeer {
  const { name, fingerprint, addresses, added } = peer;
  return Object.freeze({ name, fingerprint, addresses: Object.freeze([...addresses]), added });
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
