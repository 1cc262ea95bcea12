import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, lstat, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ConfigFileError, ensureConfigDir } from './config-dir.ts';

/** This user's long-lived key pair, and what TLS needs to present it. */
export interface Identity {
  readonly privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  readonly publicKeySpki: Uint8Array;
  /** SHA-256 of `publicKeySpki`, 32 bytes. */
  readonly fingerprint: Uint8Array;
  /** PKCS#8 PEM, for tls options. */
  readonly key: string;
  /** PEM of a fresh self-signed X.509 v3 certificate; only its key matters to peers. */
  readonly cert: string;
}

/** The identity key cannot be read, created or trusted; the message says what to do. Never contains the key. */
export class IdentityError extends ConfigFileError {
  override name = 'IdentityError';
}

const KEY_FILE = 'identity.key';
/** A PKCS#8 Ed25519 key is about 120 bytes of PEM; anything much larger is not ours. */
const MAX_KEY_FILE_BYTES = 16 * 1024;
const POSIX = process.platform !== 'win32';
// Missing on Windows, where the lstat checks below still refuse links.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/**
 * Loads `identity.key` (PKCS#8 PEM, Ed25519) from `dir`, creating it on first use with
 * owner-only permissions (file 0o600, folder 0o700). Safe when several processes start at once:
 * the first to link its key into place wins and the others load that one.
 */
export async function loadOrCreateIdentity(dir: string): Promise<Identity> {
  try {
    await ensureConfigDir(dir);
  } catch (error) {
    const message = `Cannot create Ferry's configuration folder ${dir}: ${reason(error)}.`;
    throw new IdentityError(dir, message, { cause: error });
  }
  const file = path.join(dir, KEY_FILE);
  // Two rounds: a winner's key can only vanish between link and read if someone deletes it.
  for (let round = 0; round < 2; round++) {
    const pem = (await readKeyFile(file)) ?? (await createKeyFile(dir, file));
    if (pem !== undefined) return identityFromPem(pem, file);
  }
  throw new IdentityError(file, `${file} keeps disappearing while Ferry creates it; is another program deleting it?`);
}

/** SHA-256 of a DER SubjectPublicKeyInfo. */
export function fingerprintOf(spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(spki).digest());
}

/**
 * The one form in which Ferry writes a key everywhere (screens, events, errors, suggested
 * commands): the first 8 bytes of its fingerprint as four groups of four upper-case hex
 * digits, e.g. "A1B2 C3D4 E5F6 0718". Takes the fingerprint's bytes or its hex.
 */
export function shortFingerprint(fingerprint: Uint8Array | string): string {
  const hex = typeof fingerprint === 'string' ? fingerprint.replace(/\s+/g, '') : fingerprintHex(fingerprint.subarray(0, 8));
  if (!/^[0-9a-fA-F]{16,}$/.test(hex)) throw new RangeError('a fingerprint has at least 8 bytes');
  return (hex.slice(0, 16).toUpperCase().match(/.{4}/g) ?? []).join(' ');
}

/**
 * A key as a person may type it back (`558E`, `558E F330`, `558ef330`, the whole displayed key
 * or the full fingerprint): its hex digits in lower case, or undefined if it is not one.
 */
export function keyPrefix(input: string): string | undefined {
  const digits = input.replace(/\s+/g, '').toLowerCase();
  return /^[0-9a-f]+$/.test(digits) ? digits : undefined;
}

/** Full lower-case hex, for storage. */
export function fingerprintHex(fingerprint: Uint8Array): string {
  return Buffer.from(fingerprint.buffer, fingerprint.byteOffset, fingerprint.byteLength).toString('hex');
}

/**
 * The SHA-256 fingerprint of the public key a TLS peer proved it holds (the handshake's
 * CertificateVerify signs with it); undefined when the peer sent no certificate or a key that
 * is not Ed25519.
 */
export function peerFingerprint(socket: TLSSocket): Uint8Array | undefined {
  const certificate = socket.getPeerX509Certificate();
  // Ferry identities are Ed25519 keys: any other key (a weak RSA one, say) is not a Ferry peer.
  if (!certificate || certificate.publicKey.asymmetricKeyType !== 'ed25519') return undefined;
  return fingerprintOf(certificate.publicKey.export({ type: 'spki', format: 'der' }));
}

/** The key file's text, or undefined when there is none yet; refuses anything ssh would refuse. */
async function readKeyFile(file: string): Promise<string | undefined> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(file);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw new IdentityError(file, `Cannot read ${file}: ${reason(error)}.`, { cause: error });
  }
  checkStats(file, stats);
  let handle: FileHandle;
  try {
    // O_NOFOLLOW and O_NONBLOCK: a link or FIFO swapped in after lstat fails here, not followed or hung on.
    handle = await open(file, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (codeOf(error) === 'ELOOP' || codeOf(error) === 'EMLINK') throw symlinkError(file);
    throw new IdentityError(file, `Cannot read ${file}: ${reason(error)}.`, { cause: error });
  }
  try {
    const opened = await handle.stat();
    checkStats(file, opened);
    if (opened.size > MAX_KEY_FILE_BYTES) throw notAKeyError(file);
    return await handle.readFile({ encoding: 'utf8' });
  } catch (error) {
    if (error instanceof IdentityError) throw error;
    throw new IdentityError(file, `Cannot read ${file}: ${reason(error)}.`, { cause: error });
  } finally {
    await handle.close();
  }
}

type FileKind = { isSymbolicLink(): boolean; isFile(): boolean; mode: number };

function checkStats(file: string, stats: FileKind): void {
  if (stats.isSymbolicLink()) throw symlinkError(file);
  if (!stats.isFile()) {
    const message = `${file} is not a regular file. Move it away; Ferry will create a new identity key there.`;
    throw new IdentityError(file, message);
  }
  if (POSIX && (stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new IdentityError(
      file,
      `Permissions ${mode} for ${file} are too open: the private key must be readable by you only. ` +
        `Run: chmod 600 ${file}`,
    );
  }
}

function symlinkError(file: string): IdentityError {
  return new IdentityError(
    file,
    `${file} is a symbolic link; Ferry only uses a regular file it owns. ` +
      'Replace the link with the file it points to, or remove it to create a new identity key.',
  );
}

function notAKeyError(file: string, cause?: unknown): IdentityError {
  return new IdentityError(
    file,
    `${file} is not a Ferry identity key (an Ed25519 private key in unencrypted PKCS#8 PEM). ` +
      'Move it away and Ferry will create a new one; peers that remembered the old key will need to pair again.',
    { cause },
  );
}

/**
 * Writes a new key to a private temp file, then links it to `file`: the link fails with EEXIST
 * if another process got there first, so a key is never overwritten and never seen half-written.
 * Returns the PEM now at `file`, or undefined if it vanished before it could be read.
 */
async function createKeyFile(dir: string, file: string): Promise<string | undefined> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const temp = path.join(dir, `.${KEY_FILE}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
    try {
      // The umask may have taken bits away from 0o600; readable by us is what we need.
      if (POSIX) await handle.chmod(0o600);
      await handle.writeFile(pem);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, file);
    } catch (error) {
      if (codeOf(error) === 'EEXIST') return await readKeyFile(file);
      const code = codeOf(error);
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') {
        throw new IdentityError(
          file,
          `Cannot create ${file}: ${reason(error)}. The folder may be on a file system without hard links; ` +
            'set FERRY_CONFIG_DIR to a folder on another disk.',
          { cause: error },
        );
      }
      throw error;
    }
    await syncFolder(dir);
    return pem;
  } catch (error) {
    if (error instanceof IdentityError) throw error;
    throw new IdentityError(file, `Cannot create ${file}: ${reason(error)}.`, { cause: error });
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** Makes the new name durable; best effort, and impossible on Windows. */
async function syncFolder(dir: string): Promise<void> {
  if (!POSIX) return;
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems refuse to fsync a folder; the key is still written.
  }
}

const PKCS8_PEM = /^-----BEGIN PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PRIVATE KEY-----\s*$/;

function identityFromPem(pem: string, file: string): Identity {
  // Only the exact unencrypted PKCS#8 armour: createPrivateKey alone would also take PKCS#1 and SEC1 keys.
  const match = PKCS8_PEM.exec(pem.trimStart());
  if (!match) throw notAKeyError(file);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(match[1]!, 'base64'), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw notAKeyError(file, error);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw notAKeyError(file);
  const publicKey = createPublicKey(privateKey);
  const publicKeySpki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  return Object.freeze({
    privateKey,
    publicKeySpki,
    fingerprint: fingerprintOf(publicKeySpki),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: selfSignedCertificate(privateKey, publicKeySpki),
  });
}

// --- A minimal DER encoder, just enough for one self-signed certificate (RFC 5280). ---

const DAY_MS = 24 * 60 * 60 * 1000;
/** 1.3.101.112, id-Ed25519 (RFC 8410); its AlgorithmIdentifier has no parameters. */
const ED25519_ALGORITHM = sequence(objectId([1, 3, 101, 112]));
/** 2.5.4.3, id-at-commonName. */
const COMMON_NAME = objectId([2, 5, 4, 3]);

/**
 * A fresh self-signed certificate for the key. Peers ignore everything in it but the key (they
 * compare fingerprints), so it is generated at each load and never stored.
 */
function selfSignedCertificate(privateKey: KeyObject, spki: Uint8Array): string {
  const now = Date.now();
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 10);
  const serial = randomBytes(16);
  // Never zero (a positive INTEGER), and at most 17 bytes with the sign pad.
  serial[0] ||= 1;
  const name = sequence(set(sequence(COMMON_NAME, tlv(0x0c, Buffer.from('ferry', 'utf8')))));
  const tbs = sequence(
    tlv(0xa0, integer(Uint8Array.of(2))), // [0] EXPLICIT version: v3
    integer(serial),
    ED25519_ALGORITHM,
    name,
    sequence(time(new Date(now - DAY_MS)), time(notAfter)),
    name,
    spki,
  );
  const signature = sign(null, tbs, privateKey);
  const der = sequence(tbs, ED25519_ALGORITHM, tlv(0x03, Buffer.concat([Uint8Array.of(0), signature])));
  const base64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`;
}

/** Tag, definite length (short form below 128, else long form), contents. */
function tlv(tag: number, contents: Uint8Array): Uint8Array {
  const length = contents.byteLength;
  let header: number[];
  if (length < 0x80) {
    header = [tag, length];
  } else {
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
    header = [tag, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Uint8Array.from(header), contents]);
}

function sequence(...items: Uint8Array[]): Uint8Array {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Uint8Array[]): Uint8Array {
  return tlv(0x31, Buffer.concat(items));
}

/** A non-negative INTEGER from big-endian bytes: minimal, with 0x00 in front when the high bit is set. */
function integer(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.byteLength - 1 && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  const padded = value.byteLength === 0 || value[0]! & 0x80 ? Buffer.concat([Uint8Array.of(0), value]) : value;
  return tlv(0x02, padded);
}

function objectId(arcs: readonly number[]): Uint8Array {
  const [first = 0, second = 0, ...rest] = arcs;
  const out = [40 * first + second];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let high = arc >>> 7; high > 0; high >>>= 7) groups.unshift(0x80 | (high & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5); whole seconds, Zulu. */
function time(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  const two = (value: number): string => String(value).padStart(2, '0');
  const fields = [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()];
  const rest = fields.map(two).join('');
  if (year < 2050) return tlv(0x17, Buffer.from(`${two(year % 100)}${rest}Z`, 'ascii'));
  return tlv(0x18, Buffer.from(`${String(year).padStart(4, '0')}${rest}Z`, 'ascii'));
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** What went wrong, for a message; Node's file errors already name the code and the path. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
