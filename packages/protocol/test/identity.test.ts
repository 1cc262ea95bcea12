import { createHash, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configDir, ensureConfigDir } from '../src/node/config-dir.ts';
import {
  fingerprintHex,
  fingerprintOf,
  type Identity,
  IdentityError,
  loadOrCreateIdentity,
  peerFingerprint,
  shortFingerprint,
} from '../src/node/identity.ts';
import { rejection, toHex } from './helpers.ts';

const POSIX = process.platform !== 'win32';
const DAY_MS = 24 * 60 * 60 * 1000;

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ferry-identity-'));
});

afterEach(async () => {
  vi.useRealTimers();
  await rm(root, { recursive: true, force: true });
});

/** Permission bits of a file or folder. */
async function modeOf(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

interface Tlv {
  readonly tag: number;
  readonly contents: Uint8Array;
  /** The whole encoding, header included. */
  readonly encoded: Uint8Array;
}

/** Reads one DER element at `at`, insisting on definite, minimal lengths. */
function readTlv(der: Uint8Array, at = 0): Tlv {
  const tag = der[at]!;
  let length = der[at + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    expect(count).toBeGreaterThan(0);
    expect(der[at + 2]).not.toBe(0);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[at + 2 + i]!;
    expect(length).toBeGreaterThanOrEqual(0x80);
    header += count;
  }
  const end = at + header + length;
  expect(end).toBeLessThanOrEqual(der.byteLength);
  return { tag, contents: der.subarray(at + header, end), encoded: der.subarray(at, end) };
}

/** The elements inside a constructed DER element. */
function children(parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < parent.contents.byteLength; ) {
    const child = readTlv(parent.contents, at);
    out.push(child);
    at += child.encoded.byteLength;
  }
  return out;
}

/** The parts of a certificate's DER that the tests check. */
function parseCertificate(pem: string) {
  const raw = new Uint8Array(new X509Certificate(pem).raw);
  const certificate = readTlv(raw);
  expect(certificate.encoded.byteLength).toBe(raw.byteLength);
  const [tbs, algorithm, signature, ...extra] = children(certificate);
  expect(extra).toEqual([]);
  const [version, serial, innerAlgorithm, issuer, validity, subject, spki, ...extensions] = children(tbs!);
  const [notBefore, notAfter] = children(validity!);
  return {
    tbs: tbs!,
    algorithm: algorithm!,
    signature: signature!,
    version: version!,
    serial: serial!,
    innerAlgorithm: innerAlgorithm!,
    issuer: issuer!,
    subject: subject!,
    spki: spki!,
    extensions,
    notBefore: notBefore!,
    notAfter: notAfter!,
  };
}

const ascii = (bytes: Uint8Array): string => Buffer.from(bytes).toString('ascii');

describe('configDir', () => {
  it('lets FERRY_CONFIG_DIR win on every platform', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      expect(configDir({ FERRY_CONFIG_DIR: '/x/y', XDG_CONFIG_HOME: '/xdg', APPDATA: 'C:\\A' }, platform, '/h')).toBe('/x/y');
    }
  });

  it('uses XDG_CONFIG_HOME on Linux and the BSDs, and ~/.config otherwise', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/home/u/cfg' }, 'linux', '/home/u')).toBe('/home/u/cfg/ferry');
    expect(configDir({}, 'linux', '/home/u')).toBe('/home/u/.config/ferry');
    expect(configDir({ XDG_CONFIG_HOME: '' }, 'freebsd', '/home/u')).toBe('/home/u/.config/ferry');
    expect(configDir({ XDG_CONFIG_HOME: '/c/' }, 'openbsd', '/home/u')).toBe('/c/ferry');
  });

  it('ignores a relative XDG_CONFIG_HOME, as the XDG spec says', () => {
    expect(configDir({ XDG_CONFIG_HOME: 'cfg' }, 'linux', '/home/u')).toBe('/home/u/.config/ferry');
    expect(configDir({ XDG_CONFIG_HOME: './cfg' }, 'linux', '/home/u')).toBe('/home/u/.config/ferry');
  });

  it('uses Application Support on macOS, whatever XDG says', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/xdg' }, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/Ferry');
  });

  it('uses %APPDATA% on Windows, with Windows separators', () => {
    expect(configDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\Ferry',
    );
    expect(configDir({ APPDATA: '\\\\server\\profiles\\u' }, 'win32', 'C:\\Users\\u')).toBe('\\\\server\\profiles\\u\\Ferry');
  });

  it('falls back to <home>\\AppData\\Roaming on Windows when APPDATA is missing or relative', () => {
    expect(configDir({}, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Roaming\\Ferry');
    expect(configDir({ APPDATA: 'Roaming' }, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Roaming\\Ferry');
  });

  it('defaults to this process, this platform and this home', () => {
    expect(configDir()).toBe(configDir(process.env, process.platform, os.homedir()));
  });
});

describe('ensureConfigDir', () => {
  it('creates missing folders, the last one owner-only, and returns it', async () => {
    const dir = path.join(root, 'a', 'b', 'ferry');
    expect(await ensureConfigDir(dir)).toBe(dir);
    expect((await stat(dir)).isDirectory()).toBe(true);
    if (POSIX) expect(await modeOf(dir)).toBe(0o700);
  });

  it('leaves an existing folder as it is', async () => {
    const dir = path.join(root, 'shared');
    await mkdir(dir);
    await chmod(dir, 0o755);
    await writeFile(path.join(dir, 'keep'), 'x');
    expect(await ensureConfigDir(dir)).toBe(dir);
    expect(await readFile(path.join(dir, 'keep'), 'utf8')).toBe('x');
    if (POSIX) expect(await modeOf(dir)).toBe(0o755);
  });
});

describe('fingerprints', () => {
  it('fingerprintOf is SHA-256 of the SPKI bytes', () => {
    const spki = Uint8Array.of(1, 2, 3);
    expect(toHex(fingerprintOf(spki))).toBe(createHash('sha256').update(spki).digest('hex'));
    expect(fingerprintOf(spki)).toHaveLength(32);
  });

  it('shortFingerprint shows the first 8 bytes as four upper-case groups', () => {
    const fingerprint = new Uint8Array(32).fill(0xff);
    fingerprint.set([0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18]);
    expect(shortFingerprint(fingerprint)).toBe('A1B2 C3D4 E5F6 0718');
    expect(shortFingerprint(new Uint8Array(32))).toBe('0000 0000 0000 0000');
    expect(() => shortFingerprint(new Uint8Array(7))).toThrow(RangeError);
  });

  it('fingerprintHex is the full lower-case hex, also for a view into a larger buffer', () => {
    const backing = new Uint8Array(40).fill(0xab);
    const view = backing.subarray(4, 36);
    view[0] = 0x0f;
    expect(fingerprintHex(view)).toBe(`0f${'ab'.repeat(31)}`);
  });
});

describe('loadOrCreateIdentity', () => {
  it('creates an owner-only key file in a new owner-only folder on first use', async () => {
    const dir = path.join(root, 'config', 'ferry');
    const identity = await loadOrCreateIdentity(dir);
    const file = path.join(dir, 'identity.key');
    expect(await readdir(dir)).toEqual(['identity.key']);
    if (POSIX) {
      expect(await modeOf(file)).toBe(0o600);
      expect(await modeOf(dir)).toBe(0o700);
    }
    const pem = await readFile(file, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
    expect(identity.key).toBe(pem);
    expect(identity.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(identity.privateKey.type).toBe('private');
  });

  it('derives the public key and fingerprint from the private key', async () => {
    const identity = await loadOrCreateIdentity(root);
    const spki = createPublicKey(identity.privateKey).export({ type: 'spki', format: 'der' });
    expect(toHex(identity.publicKeySpki)).toBe(spki.toString('hex'));
    expect(identity.publicKeySpki).toHaveLength(44);
    expect(toHex(identity.fingerprint)).toBe(createHash('sha256').update(spki).digest('hex'));
    expect(identity.fingerprint).toHaveLength(32);
  });

  it('loads the same key again without touching the file, with a fresh certificate', async () => {
    const first = await loadOrCreateIdentity(root);
    const file = path.join(root, 'identity.key');
    const before = await readFile(file);
    const { mtimeMs } = await stat(file);
    const second = await loadOrCreateIdentity(root);
    expect(toHex(second.fingerprint)).toBe(toHex(first.fingerprint));
    expect(await readFile(file)).toEqual(before);
    expect((await stat(file)).mtimeMs).toBe(mtimeMs);
    expect(new X509Certificate(second.cert).serialNumber).not.toBe(new X509Certificate(first.cert).serialNumber);
  });

  it('uses a key that another tool wrote in PKCS#8 PEM', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const file = path.join(root, 'identity.key');
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const identity = await loadOrCreateIdentity(root);
    expect(toHex(identity.publicKeySpki)).toBe(publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
  });

  it('gives 5 simultaneous first calls one key, and leaves no temp files', async () => {
    const dir = path.join(root, 'race');
    const identities = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateIdentity(dir)));
    const fingerprints = new Set(identities.map((identity) => toHex(identity.fingerprint)));
    expect(fingerprints.size).toBe(1);
    expect(await readdir(dir)).toEqual(['identity.key']);
    const onDisk = await loadOrCreateIdentity(dir);
    expect(fingerprints.has(toHex(onDisk.fingerprint))).toBe(true);
  });

  it.skipIf(!POSIX)('refuses a symbolic link, even to a good key, and leaves it alone', async () => {
    const real = path.join(root, 'elsewhere.key');
    await writeFile(real, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    const file = path.join(root, 'identity.key');
    await symlink(real, file);
    const error = await rejection(() => loadOrCreateIdentity(root));
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ name: 'IdentityError', path: file });
    expect((error as Error).message).toContain('symbolic link');
    expect((await lstat(file)).isSymbolicLink()).toBe(true);
  });

  it.skipIf(!POSIX)('refuses a dangling symbolic link instead of creating a key through it', async () => {
    const file = path.join(root, 'identity.key');
    const target = path.join(root, 'target.key');
    await symlink(target, file);
    await expect(loadOrCreateIdentity(root)).rejects.toBeInstanceOf(IdentityError);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a folder where the key should be', async () => {
    await mkdir(path.join(root, 'identity.key'));
    const error = await rejection(() => loadOrCreateIdentity(root));
    expect(error).toBeInstanceOf(IdentityError);
    expect((error as Error).message).toContain('not a regular file');
  });

  it.skipIf(!POSIX)('refuses a key others can read, says how to fix it, and never shows the key', async () => {
    await loadOrCreateIdentity(root);
    const file = path.join(root, 'identity.key');
    await chmod(file, 0o644);
    const pem = await readFile(file, 'utf8');
    const error = await rejection(() => loadOrCreateIdentity(root));
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ path: file });
    const message = (error as Error).message;
    expect(message).toContain(`chmod 600 ${file}`);
    expect(message).toContain('0644');
    const body = pem.split('\n')[1]!;
    expect(message).not.toContain(body.slice(0, 20));
    expect(await readFile(file, 'utf8')).toBe(pem);
  });

  it.skipIf(!POSIX)('refuses group-writable and other-only permission bits too', async () => {
    await loadOrCreateIdentity(root);
    const file = path.join(root, 'identity.key');
    for (const mode of [0o620, 0o604, 0o640]) {
      await chmod(file, mode);
      await expect(loadOrCreateIdentity(root)).rejects.toBeInstanceOf(IdentityError);
    }
    await chmod(file, 0o400);
    await expect(loadOrCreateIdentity(root)).resolves.toBeDefined();
  });

  it.each([
    ['garbage', 'this is not a key\n'],
    ['an empty file', ''],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
    ['PKCS#8 armour around garbage', '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n'],
    ['an RSA key', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' })],
    ['an EC key in SEC1 form', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' })],
    ['an X25519 key', generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' })],
  ])('refuses %s without overwriting it or quoting it', async (_what, content) => {
    const file = path.join(root, 'identity.key');
    await writeFile(file, content, { mode: 0o600 });
    const error = await rejection(() => loadOrCreateIdentity(root));
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ path: file });
    const message = (error as Error).message;
    expect(message).toContain('not a Ferry identity key');
    expect(message).toContain('Move it away');
    for (const line of String(content).split('\n')) {
      if (line.length > 8 && !line.startsWith('-----')) expect(message).not.toContain(line);
    }
    expect(await readFile(file, 'utf8')).toBe(String(content));
  });

  it('refuses an oversized file without reading it all', async () => {
    const file = path.join(root, 'identity.key');
    await writeFile(file, 'x'.repeat(100_000), { mode: 0o600 });
    await expect(loadOrCreateIdentity(root)).rejects.toBeInstanceOf(IdentityError);
  });

  it('explains a folder it cannot create', async () => {
    const blocker = path.join(root, 'blocker');
    await writeFile(blocker, 'a file, not a folder');
    const dir = path.join(blocker, 'ferry');
    const error = await rejection(() => loadOrCreateIdentity(dir));
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ path: dir });
    expect((error as Error).message).toContain(`Cannot create Ferry's configuration folder ${dir}`);
  });
});

describe('the certificate', () => {
  it('parses, is self-signed by the identity key, and names CN=ferry', async () => {
    const identity = await loadOrCreateIdentity(root);
    const certificate = new X509Certificate(identity.cert);
    const publicKey = createPublicKey(identity.privateKey);
    expect(certificate.verify(publicKey)).toBe(true);
    expect(certificate.verify(generateKeyPairSync('ed25519').publicKey)).toBe(false);
    expect(certificate.checkPrivateKey(identity.privateKey)).toBe(true);
    expect(certificate.subject).toBe('CN=ferry');
    expect(certificate.issuer).toBe('CN=ferry');
    expect(certificate.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(certificate.publicKey.equals(publicKey)).toBe(true);
    expect(toHex(certificate.publicKey.export({ type: 'spki', format: 'der' }))).toBe(toHex(identity.publicKeySpki));
    expect(identity.cert).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
  });

  it('is valid from one day ago to ten years ahead', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const identity = await loadOrCreateIdentity(root);
    const after = Date.now();
    const certificate = new X509Certificate(identity.cert);
    const validFrom = Date.parse(certificate.validFrom);
    const validTo = Date.parse(certificate.validTo);
    expect(validFrom).toBeGreaterThanOrEqual(before - DAY_MS);
    expect(validFrom).toBeLessThanOrEqual(after - DAY_MS);
    const tenYears = (time: number): number => {
      const date = new Date(time);
      date.setUTCFullYear(date.getUTCFullYear() + 10);
      return date.getTime();
    };
    expect(validTo).toBeGreaterThanOrEqual(tenYears(before));
    expect(validTo).toBeLessThanOrEqual(tenYears(after));
  });

  it('is a v3 certificate with Ed25519 signatures and the identity SPKI, in strict DER', async () => {
    const identity = await loadOrCreateIdentity(root);
    const parts = parseCertificate(identity.cert);
    expect(parts.tbs.tag).toBe(0x30);
    expect(toHex(parts.version.encoded)).toBe('a003020102');
    expect(toHex(parts.innerAlgorithm.encoded)).toBe('300506032b6570');
    expect(toHex(parts.algorithm.encoded)).toBe('300506032b6570');
    // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "ferry" } } }
    expect(toHex(parts.issuer.encoded)).toBe('3010310e300c06035504030c056665727279');
    expect(toHex(parts.subject.encoded)).toBe(toHex(parts.issuer.encoded));
    expect(toHex(parts.spki.encoded)).toBe(toHex(identity.publicKeySpki));
    expect(parts.extensions).toEqual([]);
    expect(parts.signature.tag).toBe(0x03);
    expect(parts.signature.contents).toHaveLength(65);
    expect(parts.signature.contents[0]).toBe(0);
    expect(parts.notBefore.tag).toBe(0x17);
    expect(ascii(parts.notBefore.contents)).toMatch(/^\d{12}Z$/);
  });

  it('has random positive 16-byte serials, sign-padded only when the high bit is set', async () => {
    await loadOrCreateIdentity(root);
    const serials = new Set<string>();
    let padded = 0;
    for (let i = 0; i < 32; i++) {
      const { serial } = parseCertificate((await loadOrCreateIdentity(root)).cert);
      expect(serial.tag).toBe(0x02);
      const bytes = serial.contents;
      if (bytes.byteLength === 17) {
        expect(bytes[0]).toBe(0);
        expect(bytes[1]! & 0x80).toBe(0x80);
        padded++;
      } else {
        expect(bytes).toHaveLength(16);
        expect(bytes[0]! & 0x80).toBe(0);
        expect(bytes[0]).not.toBe(0);
      }
      serials.add(toHex(bytes));
    }
    expect(serials.size).toBe(32);
    // Both encodings occur: the chance that 32 random serials all fall on one side is 2^-31.
    expect(padded).toBeGreaterThan(0);
    expect(padded).toBeLessThan(32);
  });

  it.each([
    ['2039-12-31T23:59:59Z', 0x17, '391230235959Z', 0x17, '491231235959Z'],
    ['2040-01-01T00:00:00Z', 0x17, '391231000000Z', 0x18, '20500101000000Z'],
    ['2045-06-01T12:00:00Z', 0x17, '450531120000Z', 0x18, '20550601120000Z'],
    ['2050-03-02T00:00:01Z', 0x18, '20500301000001Z', 0x18, '20600302000001Z'],
  ])('at %s uses UTCTime before 2050 and GeneralizedTime from 2050', async (now, fromTag, from, toTag, to) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(now));
    const identity = await loadOrCreateIdentity(root);
    const { notBefore, notAfter } = parseCertificate(identity.cert);
    expect([notBefore.tag, ascii(notBefore.contents)]).toEqual([fromTag, from]);
    expect([notAfter.tag, ascii(notAfter.contents)]).toEqual([toTag, to]);
    const certificate = new X509Certificate(identity.cert);
    const tenYearsAhead = new Date(now);
    tenYearsAhead.setUTCFullYear(tenYearsAhead.getUTCFullYear() + 10);
    expect(Date.parse(certificate.validFrom)).toBe(Date.parse(now) - DAY_MS);
    expect(Date.parse(certificate.validTo)).toBe(tenYearsAhead.getTime());
    expect(certificate.verify(certificate.publicKey)).toBe(true);
  });
});

describe('mutual TLS 1.3 between two identities', () => {
  const opened: { close(): void }[] = [];

  afterEach(() => {
    for (const item of opened.splice(0)) item.close();
  });

  /** Resolves with `promise`, or fails after `ms` so a stuck handshake cannot hang the run. */
  function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  async function handshake(server: Identity, client: Identity | undefined) {
    const listener = tls.createServer({
      key: server.key,
      cert: server.cert,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    });
    opened.push(listener);
    listener.listen(0, '127.0.0.1');
    await within(once(listener, 'listening'));
    const { port } = listener.address() as AddressInfo;
    const accepted = once(listener, 'secureConnection') as Promise<[tls.TLSSocket]>;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ...(client ? { key: client.key, cert: client.cert } : {}),
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.3',
    });
    opened.push({ close: () => socket.destroy() });
    const [[serverSide]] = await within(Promise.all([accepted, once(socket, 'secureConnect')]));
    opened.push({ close: () => serverSide.destroy() });
    return { serverSide, clientSide: socket };
  }

  it('negotiates TLSv1.3, and each side sees the key the other holds', async () => {
    const alice = await loadOrCreateIdentity(path.join(root, 'alice'));
    const bob = await loadOrCreateIdentity(path.join(root, 'bob'));
    const { serverSide, clientSide } = await handshake(alice, bob);
    expect(serverSide.getProtocol()).toBe('TLSv1.3');
    expect(clientSide.getProtocol()).toBe('TLSv1.3');
    expect(toHex(peerFingerprint(serverSide)!)).toBe(toHex(bob.fingerprint));
    expect(toHex(peerFingerprint(clientSide)!)).toBe(toHex(alice.fingerprint));

    // The channel works both ways.
    serverSide.write('ping');
    const [fromServer] = (await within(once(clientSide, 'data'))) as [Buffer];
    expect(fromServer.toString()).toBe('ping');
    clientSide.write('pong');
    const [fromClient] = (await within(once(serverSide, 'data'))) as [Buffer];
    expect(fromClient.toString()).toBe('pong');
  });

  it('reports no fingerprint for a peer that sent no certificate', async () => {
    const alice = await loadOrCreateIdentity(path.join(root, 'alice'));
    const { serverSide, clientSide } = await handshake(alice, undefined);
    expect(peerFingerprint(serverSide)).toBeUndefined();
    expect(toHex(peerFingerprint(clientSide)!)).toBe(toHex(alice.fingerprint));
  });
});
