import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { othersCanChange, TrustStore, TrustStoreError } from '../src/node/trust.ts';

const POSIX = process.platform !== 'win32';
const ME = 1000;
const FILE = '/home/alice/.config/ferry/trusted-senders.json';
const DIR = '/home/alice/.config/ferry';

describe('othersCanChange (who could make Ferry trust their key)', () => {
  it('accepts a file of ours, mode 0600, in a folder of ours, mode 0700', () => {
    expect(othersCanChange(FILE, { mode: 0o100600, uid: ME }, { mode: 0o40700, uid: ME }, ME)).toBeUndefined();
  });

  it('accepts a read-only file and a folder others may only read', () => {
    expect(othersCanChange(FILE, { mode: 0o100444, uid: ME }, { mode: 0o40755, uid: ME }, ME)).toBeUndefined();
  });

  it('refuses a file that belongs to another user, even with safe permissions', () => {
    const problem = othersCanChange(FILE, { mode: 0o100644, uid: 1001 }, { mode: 0o40700, uid: ME }, ME);
    expect(problem).toContain('belongs to another user (uid 1001)');
  });

  it.each([0o100620, 0o100602, 0o100666])('refuses a file others may write (mode %o)', (mode) => {
    expect(othersCanChange(FILE, { mode, uid: ME }, { mode: 0o40700, uid: ME }, ME)).toContain(`chmod 600 ${FILE}`);
  });

  it('refuses a folder that belongs to another user, who could swap the file', () => {
    const problem = othersCanChange(FILE, { mode: 0o100600, uid: ME }, { mode: 0o40700, uid: 1001 }, ME);
    expect(problem).toContain(`The folder ${DIR} belongs to another user`);
  });

  it.each([0o40770, 0o40777, 0o41777])('refuses a folder others may write (mode %o), sticky or not', (mode) => {
    expect(othersCanChange(FILE, { mode: 0o100600, uid: ME }, { mode, uid: ME }, ME)).toContain(`chmod 700 ${DIR}`);
  });

  it('accepts a folder owned by root, which can change anything anyway', () => {
    expect(othersCanChange(FILE, { mode: 0o100600, uid: ME }, { mode: 0o40755, uid: 0 }, ME)).toBeUndefined();
  });
});

describe.runIf(POSIX)('TrustStore.open refuses a list in a folder others may write', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'ferry-trust-perm-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('names the folder and the fix, and reads the list again once the folder is private', async () => {
    const file = path.join(root, 'trusted-senders.json');
    await writeFile(file, JSON.stringify({ version: 1, peers: [] }), { mode: 0o600 });
    await chmod(root, 0o777);
    const error = await TrustStore.open(root, 'sender').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TrustStoreError);
    expect((error as Error).message).toContain(`chmod 700 ${root}`);
    await chmod(root, 0o700);
    expect((await TrustStore.open(root, 'sender')).list()).toEqual([]);
  });
});

describe('TrustStore.refresh', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'ferry-trust-refresh-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('sees a peer forgotten by another process', async () => {
    const running = await TrustStore.open(root, 'receiver');
    await running.remember({ name: 'bob', fingerprint: new Uint8Array(32).fill(7) });
    await (await TrustStore.open(root, 'receiver')).forget('bob');
    expect(running.list()).toHaveLength(1);
    await running.refresh();
    expect(running.list()).toEqual([]);
  });

  it('leaves an empty list, and throws, when the file can no longer be trusted', async () => {
    const running = await TrustStore.open(root, 'receiver');
    await running.remember({ name: 'bob', fingerprint: new Uint8Array(32).fill(7) });
    await writeFile(path.join(root, 'trusted-receivers.json'), 'not json');
    await expect(running.refresh()).rejects.toBeInstanceOf(TrustStoreError);
    expect(running.list()).toEqual([]);
  });
});
