import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  readFile,
  realpath,
  rename,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { RESUME } from '@ferry/protocol';
import { listTree, runCleanup, tempDir } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import { PartialStore } from '../src/partials.ts';
import {
  matchResumeState,
  partialName,
  readResumeStates,
  type ResumeState,
  STATE_FILE,
  writeResumeState,
} from '../src/resume-state.ts';

afterEach(runCleanup);

const KEY = 'ab'.repeat(32);

/** A record of this folder from the sender KEY, created now. */
function record(root: string, overrides: Partial<ResumeState> = {}): ResumeState {
  return {
    version: 1,
    root,
    sender: { key: KEY, name: 'alice', host: 'laptop' },
    session: '0123456789abcdef0123456789abcdef',
    created: new Date().toISOString(),
    tops: [],
    ...overrides,
  };
}

/** A partial folder that an interrupted run left (its lock given up). */
async function leftBehind(root: string) {
  const store = await PartialStore.create(root);
  await store.release();
  return store;
}

/** A partial folder in a new destination, with a valid record. */
async function withRecord(overrides: Partial<ResumeState> = {}) {
  const root = await realpath(await tempDir());
  const store = await leftBehind(root);
  await writeResumeState(store.dir, record(root, overrides));
  return { root, dir: store.dir, state: path.join(store.dir, STATE_FILE) };
}

/** Replaces the record with `text` as it is, owner-only. */
async function rewrite(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

describe('the state record (state.json)', () => {
  it('D5: a valid record of ours is found; the folder is 0700 and the record 0600', async () => {
    const { root, dir } = await withRecord();
    const { states, foreign } = await readResumeStates(root);
    expect(foreign).toEqual([]);
    expect(states.map((found) => found.dir)).toEqual([dir]);
    expect(states[0]?.state.sender.key).toBe(KEY);
    if (process.platform !== 'win32') {
      expect((await lstat(dir)).mode & 0o777).toBe(0o700);
      expect((await lstat(path.join(dir, STATE_FILE))).mode & 0o777).toBe(0o600);
    }
  });

  it('D5: a record from another user is ignored (reported foreign, left in place)', async () => {
    const { root, dir } = await withRecord();
    // This process stands for another user: the folder and record are then not its own.
    const { states, foreign } = await readResumeStates(root, {
      uid: (process.getuid?.() ?? 0) + 4242,
    });
    expect(states).toEqual([]);
    expect(foreign).toEqual([dir]);
    expect(await listTree(dir)).toEqual([STATE_FILE]);
  });

  it.runIf(process.getuid?.() === 0)(
    'D5: a record chowned to another user (nobody) is ignored',
    async () => {
      const { root, dir, state } = await withRecord();
      const { chown } = await import('node:fs/promises');
      await chown(state, 65534, 65534);
      expect(await readResumeStates(root)).toEqual({ states: [], foreign: [dir], inUse: [] });
    },
  );

  it.runIf(process.platform !== 'win32')(
    'D5: a partial folder open to group or others is ignored',
    async () => {
      const { root, dir } = await withRecord();
      await chmod(dir, 0o750);
      expect(await readResumeStates(root)).toEqual({ states: [], foreign: [dir], inUse: [] });
    },
  );

  it.runIf(process.platform !== 'win32')(
    'D5: a record writable by group or others is ignored',
    async () => {
      const { root, dir, state } = await withRecord();
      await chmod(state, 0o620);
      expect(await readResumeStates(root)).toEqual({ states: [], foreign: [dir], inUse: [] });
    },
  );

  it(`D5: a record of exactly maxStateBytes (${RESUME.maxStateBytes}) is read; one byte more is ignored`, async () => {
    const { root, state } = await withRecord();
    const text = JSON.stringify(record(root));
    await rewrite(state, text.padEnd(RESUME.maxStateBytes, ' '));
    expect((await readResumeStates(root)).states).toHaveLength(1);
    await rewrite(state, text.padEnd(RESUME.maxStateBytes + 1, ' '));
    expect((await readResumeStates(root)).states).toEqual([]);
  });

  it(`D5: a record with more tops claims than fit in maxStateBytes is written without the claims that do not fit, and reads back`, async () => {
    const root = await realpath(await tempDir());
    const store = await leftBehind(root);
    const tops = [];
    for (let i = 0; i < 700; i++) {
      // 60 bytes of UTF-8 each: the limit counts bytes, not characters.
      const name = `${String(i).padStart(4, '0')}-${'é'.repeat(28)}`;
      await mkdir(path.join(root, name));
      const stats = await lstat(path.join(root, name), { bigint: true });
      tops.push({
        offered: name,
        local: name,
        dev: stats.dev.toString(),
        ino: stats.ino.toString(),
      });
    }
    const written = await writeResumeState(store.dir, record(root, { tops }));
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(tops.length);
    expect(written).toEqual(tops.slice(0, written.length));
    const text = await readFile(path.join(store.dir, STATE_FILE));
    expect(text.length).toBeLessThanOrEqual(RESUME.maxStateBytes);
    // One more claim would not have fitted.
    expect(
      text.length + Buffer.byteLength(JSON.stringify(tops[written.length])) + 1,
    ).toBeGreaterThan(RESUME.maxStateBytes);
    const { states } = await readResumeStates(root);
    expect(states.map((found) => found.tops)).toEqual([written]);
  });

  it('D5: a record that is not JSON, has an unknown field, or another version is ignored', async () => {
    const { root, dir, state } = await withRecord();
    for (const text of [
      '{"version":1,',
      JSON.stringify({ ...record(root), extra: true }),
      JSON.stringify({ ...record(root), version: 2 }),
    ]) {
      await rewrite(state, text);
      expect(await readResumeStates(root)).toEqual({ states: [], foreign: [dir], inUse: [] });
    }
    await rewrite(state, JSON.stringify(record(root)));
    expect((await readResumeStates(root)).states).toHaveLength(1);
  });

  it('D5: a record whose root is another folder is ignored (resuming into a different folder)', async () => {
    const other = await realpath(await tempDir());
    const { root, dir } = await withRecord({ root: other });
    expect(await readResumeStates(root)).toEqual({ states: [], foreign: [dir], inUse: [] });
  });

  it('D5: a partial folder moved here from another destination is ignored: its root names the old one', async () => {
    const { dir } = await withRecord();
    const elsewhere = await realpath(await tempDir());
    const moved = path.join(elsewhere, path.basename(dir));
    await rename(dir, moved);
    expect(await readResumeStates(elsewhere)).toEqual({ states: [], foreign: [moved], inUse: [] });
  });

  it('D5: a record replaced by a symlink is not followed, and ignored', async () => {
    const { root, dir, state } = await withRecord();
    const real = path.join(await tempDir(), 'state.json');
    await writeFile(real, JSON.stringify(record(root)), { mode: 0o600 });
    await rename(state, `${state}.old`);
    await symlink(real, state);
    expect(await readResumeStates(root)).toEqual({ states: [], foreign: [dir], inUse: [] });
  });

  it('D5: a partial folder that is a symlink to a folder of ours is ignored', async () => {
    const { root, dir } = await withRecord();
    const outside = path.join(await tempDir(), 'moved');
    await rename(dir, outside);
    await symlink(outside, dir);
    expect(await readResumeStates(root)).toEqual({ states: [], foreign: [dir], inUse: [] });
  });

  it('D5: a tops claim is kept while its folder is the one recorded; another folder under that name drops the claim', async () => {
    const root = await realpath(await tempDir());
    await mkdir(path.join(root, 'photos'));
    const stats = await lstat(path.join(root, 'photos'), { bigint: true });
    const claim = {
      offered: 'photos',
      local: 'photos',
      dev: stats.dev.toString(),
      ino: stats.ino.toString(),
    };
    const store = await leftBehind(root);
    await writeResumeState(
      store.dir,
      record(root, { tops: [claim, { ...claim, offered: 'music', local: 'music' }] }),
    );
    expect((await readResumeStates(root)).states[0]?.tops).toEqual([claim]);
    // The same name, another folder: the claim no longer holds, the record still does.
    await rename(path.join(root, 'photos'), path.join(root, 'photos.old'));
    await mkdir(path.join(root, 'photos'));
    const { states } = await readResumeStates(root);
    expect(states).toHaveLength(1);
    expect(states[0]?.tops).toEqual([]);
  });

  it('D5: a tops claim naming a path, not one name, is dropped', async () => {
    const root = await realpath(await tempDir());
    const stats = await lstat(root, { bigint: true });
    const { root: _, ...rest } = record(root);
    const store = await leftBehind(root);
    await writeResumeState(store.dir, {
      root,
      ...rest,
      tops: [{ offered: 'x', local: '..', dev: stats.dev.toString(), ino: stats.ino.toString() }],
    });
    expect((await readResumeStates(root)).states[0]?.tops).toEqual([]);
  });

  it('D5: a folder of another name beginning .ferry-partial- is foreign', async () => {
    const root = await realpath(await tempDir());
    await mkdir(path.join(root, '.ferry-partial-mine'), { mode: 0o700 });
    expect(await readResumeStates(root)).toEqual({
      states: [],
      foreign: [path.join(root, '.ferry-partial-mine')],
      inUse: [],
    });
  });

  it('writes the record atomically: only state.json is left, and it parses back', async () => {
    const { root, dir, state } = await withRecord();
    expect(await listTree(dir)).toEqual([STATE_FILE]);
    expect(JSON.parse(await readFile(state, 'utf8'))).toMatchObject({ version: 1, root });
  });
});

describe('matching a record to an offer', () => {
  it('matches by sender key when encrypted, the newest record winning', async () => {
    const root = await realpath(await tempDir());
    const older = await leftBehind(root);
    await writeResumeState(older.dir, record(root, { created: '2026-01-01T00:00:00.000Z' }));
    const newer = await leftBehind(root);
    await writeResumeState(newer.dir, record(root, { created: '2026-02-01T00:00:00.000Z' }));
    const other = await leftBehind(root);
    await writeResumeState(
      other.dir,
      record(root, {
        sender: { key: 'cd'.repeat(32), name: 'alice', host: 'laptop' },
        created: '2026-03-01T00:00:00.000Z',
      }),
    );
    const { states } = await readResumeStates(root);
    expect(
      matchResumeState(states, { senderKey: KEY, senderName: 'x', senderHost: 'y' })?.dir,
    ).toBe(newer.dir);
    expect(
      matchResumeState(states, {
        senderKey: 'ef'.repeat(32),
        senderName: 'alice',
        senderHost: 'laptop',
      }),
    ).toBeUndefined();
  });

  it('matches by name and host in clear mode, never a record with a key', async () => {
    const root = await realpath(await tempDir());
    const clear = await leftBehind(root);
    await writeResumeState(
      clear.dir,
      record(root, { sender: { key: '', name: 'alice', host: 'laptop' } }),
    );
    await writeResumeState((await leftBehind(root)).dir, record(root));
    const { states } = await readResumeStates(root);
    expect(
      matchResumeState(states, { senderKey: '', senderName: 'alice', senderHost: 'laptop' })?.dir,
    ).toBe(clear.dir);
    expect(
      matchResumeState(states, { senderKey: '', senderName: 'alice', senderHost: 'desktop' }),
    ).toBeUndefined();
  });
});

describe('partialName', () => {
  it('is the first 16 bytes of the SHA-256 of the local path, in hex, with .part', () => {
    expect(partialName('photos/a.jpg')).toBe(
      `${createHash('sha256').update('photos/a.jpg').digest('hex').slice(0, 32)}.part`,
    );
    expect(partialName('photos/é.jpg')).toBe(
      `${createHash('sha256').update(Buffer.from('photos/é.jpg', 'utf8')).digest('hex').slice(0, 32)}.part`,
    );
    expect(partialName('a')).not.toBe(partialName('A'));
  });
});
