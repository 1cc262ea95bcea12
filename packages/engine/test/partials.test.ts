import syncFs, { type PathLike, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import {
  chmod,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  symlink,
  rename,
  truncate,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, type ValidatedEntry, validateOffer } from '@ferry/protocol';
import { listTree, runCleanup, sha256, tempDir } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Destination } from '../src/destination.ts';
import { IncomingFile, type SavedFile } from '../src/incoming-file.ts';
import { inspectDestination } from '../src/inspection.ts';
import { LOCK_FILE } from '../src/partial-lock.ts';
import { cleanPartials, PartialStore } from '../src/partials.ts';
import { hashPrefix, PREFIX_READ_BYTES } from '../src/prefix-hash.ts';
import { prepareReceiving } from '../src/receiving.ts';
import { SyncGate } from '../src/sync-gate.ts';
import {
  partialName,
  readResumeStates,
  STATE_FILE,
  writeResumeState,
} from '../src/resume-state.ts';

afterEach(runCleanup);

const SENDER = {
  senderKey: '',
  senderName: 'alice',
  senderHost: 'laptop',
  session: '0123456789abcdef0123456789abcdef',
};
type Raw = { kind: 'file'; path: string; size: number } | { kind: 'dir'; path: string };

function offerOf(...raw: Raw[]) {
  return validateOffer(raw);
}

function fileEntry(p: string, size: number): ValidatedEntry {
  return { id: 0, kind: 'file', path: p, components: p.split('/'), size };
}

/** A partial folder with a record of SENDER in a fresh destination; `parts` are written as partial files. */
async function heldState(parts: Record<string, Uint8Array | string> = {}) {
  const root = await realpath(await tempDir());
  const store = await PartialStore.create(root);
  // Left as an interrupted run leaves it: its lock given up.
  await store.release();
  await writeResumeState(store.dir, {
    version: 1,
    root,
    sender: { key: '', name: 'alice', host: 'laptop' },
    session: SENDER.session,
    created: new Date().toISOString(),
    tops: [],
  });
  for (const [local, bytes] of Object.entries(parts))
    await writeFile(store.pathOf(local), bytes, { mode: 0o600 });
  return { root, store };
}

async function settle(outcome: Awaited<ReturnType<IncomingFile['end']>>) {
  if ('code' in outcome) return outcome;
  return outcome.saving;
}

describe('hashPrefix', () => {
  it('hashes the first `length` bytes in 1 MiB reads, and its hash goes on to the whole-file digest', async () => {
    const content = randomBytes(3 * PREFIX_READ_BYTES + 5);
    const file = path.join(await tempDir(), 'f');
    await writeFile(file, content);
    const handle = await open(file, 'r');
    try {
      for (const length of [
        0,
        1,
        PREFIX_READ_BYTES - 1,
        PREFIX_READ_BYTES,
        PREFIX_READ_BYTES + 1,
        content.length,
      ]) {
        const { hash, digest } = await hashPrefix(handle, length);
        expect(digest).toBe(sha256(content.subarray(0, length)));
        hash.update(content.subarray(length));
        expect(hash.digest('hex')).toBe(sha256(content));
      }
    } finally {
      await handle.close();
    }
  });

  it('runs inside `busy`, and rejects with WRITE_FAILED for a file shorter than asked', async () => {
    const file = path.join(await tempDir(), 'f');
    await writeFile(file, 'abc');
    const handle = await open(file, 'r');
    let wrapped = 0;
    try {
      const busy = <T>(work: Promise<T>) => {
        wrapped++;
        return work;
      };
      expect((await hashPrefix(handle, 2, busy)).digest).toBe(sha256('ab'));
      expect(wrapped).toBe(1);
      await expect(hashPrefix(handle, 4)).rejects.toMatchObject({ code: ErrorCode.WRITE_FAILED });
    } finally {
      await handle.close();
    }
  });
});

describe('PartialStore', () => {
  it('K10: a partial folder carries 128 random bits, is 0700, and two transfers never share one', async () => {
    const root = await tempDir();
    const [a, b] = [await PartialStore.create(root), await PartialStore.create(root)];
    for (const store of [a, b])
      expect(path.basename(store.dir)).toMatch(/^\.ferry-partial-[0-9a-f]{32}$/);
    expect(a.dir).not.toBe(b.dir);
    if (process.platform !== 'win32') expect((await lstat(a.dir)).mode & 0o777).toBe(0o700);
    expect(a.pathOf('docs/a.txt')).toBe(path.join(a.dir, partialName('docs/a.txt')));
  });

  it('D5: a partial replaced by a symlink is left alone: nothing is held, and the file starts over under a spare name, nothing written through the link', async () => {
    const { store } = await heldState();
    const victim = path.join(await tempDir(), 'victim');
    await writeFile(victim, 'untouched');
    await symlink(victim, store.pathOf('a.txt'));
    expect(await store.held('a.txt')).toBeUndefined();
    const opened = await store.openFresh('a.txt');
    writeSync(opened.handle.fd, 'new');
    await opened.handle.close();
    expect(opened.path).not.toBe(store.pathOf('a.txt'));
    expect(path.basename(opened.path)).toMatch(/^[0-9a-f]{32}\.part$/);
    expect(await readFile(victim, 'utf8')).toBe('untouched');
    expect((await lstat(store.pathOf('a.txt'))).isSymbolicLink()).toBe(true);
  });

  it('D5: a partial replaced by a hard link to another file is refused: nothing held, the other file untouched', async () => {
    const { store } = await heldState();
    const other = path.join(store.dir, '..', 'other.txt');
    await writeFile(other, 'precious');
    await link(other, store.pathOf('a.txt'));
    expect(await store.held('a.txt')).toBeUndefined();
    expect(await store.openHeld('a.txt')).toBeUndefined();
    const opened = await store.openFresh('a.txt');
    writeSync(opened.handle.fd, 'new');
    await opened.handle.close();
    expect(await readFile(other, 'utf8')).toBe('precious');
  });

  it('D5: a partial owned by another user is not held', async () => {
    const { root, store } = await heldState({ 'a.txt': 'abc' });
    expect(await store.held('a.txt')).toBe(3);
    const [found] = (await readResumeStates(root)).states;
    const asOther = PartialStore.adopt(found!, { uid: (process.getuid?.() ?? 0) + 4242 });
    expect(await asOther.held('a.txt')).toBeUndefined();
  });
});

describe('IncomingFile resuming', () => {
  async function resumed(content: Buffer, held: number) {
    const { root, store } = await heldState({ 'f.bin': content.subarray(0, held) });
    const entry = fileEntry('f.bin', content.length);
    const destination = new Destination(root, { partials: store });
    const handle = await open(store.pathOf('f.bin'), 'r');
    const prefix = await hashPrefix(handle, held);
    await handle.close();
    const file = await IncomingFile.open(destination, entry, {
      resumeFrom: { offset: held, hash: prefix.hash },
    });
    return { root, store, destination, file, entry };
  }

  it('writes after the held bytes; the whole file verifies, gets its final name, and its partial is gone', async () => {
    const content = randomBytes(100_000);
    const { root, store, file } = await resumed(content, 40_000);
    expect(file.received).toBe(40_000);
    await file.write(content.subarray(40_000));
    const saved = (await settle(await file.end(sha256(content)))) as SavedFile;
    expect(saved.path).toBe(path.join(root, 'f.bin'));
    expect((await readFile(saved.path)).equals(content)).toBe(true);
    expect(await readdir(store.dir)).toEqual([STATE_FILE]);
  });

  it('H8: a file saved through its partial has mode 0o644 minus the umask, never executable', async () => {
    const content = randomBytes(1000);
    for (const [mask, expected] of [
      [0o022, 0o644],
      [0o077, 0o600],
    ] as const) {
      const previous = process.umask(mask);
      try {
        const { store } = await heldState();
        const destination = new Destination(store.dir.slice(0, store.dir.lastIndexOf(path.sep)), {
          partials: store,
        });
        const file = await IncomingFile.open(
          destination,
          fileEntry(`f-${mask}.sh`, content.length),
        );
        await file.write(content);
        const saved = (await settle(await file.end(sha256(content)))) as SavedFile;
        const mode = (await lstat(saved.path)).mode & 0o7777;
        expect(mode).toBe(expected);
      } finally {
        process.umask(previous);
      }
    }
  });

  it('restart() drops the held bytes and starts a new hash: the new content is saved whole', async () => {
    const content = Buffer.from('the source changed since then');
    const { root, file } = await resumed(Buffer.from('an older text of other bytes.'), 10);
    await file.restart();
    expect(file.received).toBe(0);
    await file.write(content);
    const saved = (await settle(await file.end(sha256(content)))) as SavedFile;
    expect(await readFile(path.join(root, 'f.bin'), 'utf8')).toBe(content.toString());
    expect(saved.sha256).toBe(sha256(content));
  });

  it('D2: a partial holding the whole file is finalised without any DATA', async () => {
    const content = Buffer.from('complete');
    const { root, file } = await resumed(content, content.length);
    const saved = (await settle(await file.end(sha256(content)))) as SavedFile;
    expect(await readFile(path.join(root, 'f.bin'), 'utf8')).toBe('complete');
    expect(saved.path).toBe(path.join(root, 'f.bin'));
  });

  it("a resumed file whose held bytes differ from the sender's fails DIGEST_MISMATCH, and its partial is deleted at once", async () => {
    const content = Buffer.from('0123456789');
    const { root, store, file } = await resumed(Buffer.from('XXXXX56789'), 5);
    await file.write(content.subarray(5));
    const outcome = await settle(await file.end(sha256(content)));
    expect(outcome).toMatchObject({ code: ErrorCode.DIGEST_MISMATCH });
    expect(await readdir(store.dir)).toEqual([STATE_FILE]);
    expect(await listTree(root)).not.toContain('f.bin');
  });

  it('D2: FILE_ABORT for a file already there fails it and leaves the file at its final name as it was; for a resumed file its partial is deleted', async () => {
    const root = await realpath(await tempDir());
    const existing = path.join(root, 'x.txt');
    await writeFile(existing, 'mine');
    const store = await PartialStore.create(root);
    const destination = new Destination(root, { partials: store });
    const present = await IncomingFile.open(destination, fileEntry('x.txt', 4), {
      resumeFrom: { offset: 4, hash: createHash('sha256').update('mine'), presentAt: existing },
    });
    expect(await present.abort(ErrorCode.SOURCE_CHANGED, 'changed')).toMatchObject({
      offered: 'x.txt',
      code: ErrorCode.SOURCE_CHANGED,
    });
    expect(await readFile(existing, 'utf8')).toBe('mine');
    await writeFile(store.pathOf('y.txt'), 'ab', { mode: 0o600 });
    const held = await IncomingFile.open(destination, fileEntry('y.txt', 4), {
      resumeFrom: { offset: 2, hash: createHash('sha256').update('ab') },
    });
    await held.abort(ErrorCode.SOURCE_CHANGED, 'changed');
    expect(await readdir(store.dir)).not.toContain(partialName('y.txt'));
    expect((await readdir(root)).sort()).toEqual([path.basename(store.dir), 'x.txt'].sort());
  });

  it('a file already there is confirmed by digest without writing; a mismatch leaves it untouched', async () => {
    const root = await realpath(await tempDir());
    const existing = path.join(root, 'x.txt');
    await writeFile(existing, 'mine');
    const store = await PartialStore.create(root);
    const destination = new Destination(root, { partials: store });
    const entry = fileEntry('x.txt', 4);
    const hash = () => createHash('sha256').update('mine');
    const same = await IncomingFile.open(destination, entry, {
      resumeFrom: { offset: 4, hash: hash(), presentAt: existing },
    });
    expect(same.present).toBe(true);
    expect(() => same.write(Buffer.from('x'))).toThrow();
    expect(await settle(await same.end(sha256('mine')))).toEqual({
      present: true,
      path: existing,
      offered: 'x.txt',
      size: 4,
      sha256: sha256('mine'),
    });
    const differs = await IncomingFile.open(destination, entry, {
      resumeFrom: { offset: 4, hash: hash(), presentAt: existing },
    });
    expect(await settle(await differs.end(sha256('ours')))).toMatchObject({
      code: ErrorCode.DIGEST_MISMATCH,
    });
    // The sender starts over: the new file is saved beside, the one there stays.
    const restarted = await IncomingFile.open(destination, entry, {
      resumeFrom: { offset: 4, hash: hash(), presentAt: existing },
    });
    await restarted.restart();
    await restarted.write(Buffer.from('ours'));
    const saved = (await settle(await restarted.end(sha256('ours')))) as SavedFile;
    expect(saved.path).toBe(path.join(root, 'x (1).txt'));
    expect(await readFile(existing, 'utf8')).toBe('mine');
  });

  it("H4: a partial folder swapped for another holding a file at the partial's name is refused before the final name: the file fails WRITE_FAILED, and the planted file is neither saved nor deleted", async () => {
    const root = await realpath(await tempDir());
    // A folder others can write in: only there can someone else swap the partial folder.
    await chmod(root, 0o777);
    const store = await PartialStore.create(root);
    const destination = new Destination(root, { partials: store });
    const file = await IncomingFile.open(destination, fileEntry('report.pdf', 4));
    await file.write(Buffer.from('ours'));
    // Someone who can write the destination moves the partial folder away and puts their own.
    await rename(store.dir, path.join(root, 'moved-away'));
    await mkdir(store.dir, { mode: 0o700 });
    await writeFile(store.pathOf('report.pdf'), 'evil');
    const outcome = await settle(await file.end(sha256('ours')));
    expect(outcome).toMatchObject({ offered: 'report.pdf', code: ErrorCode.WRITE_FAILED });
    expect((outcome as { message: string }).message).toMatch(/replaced by something else/);
    expect((await readdir(root)).sort()).toEqual([path.basename(store.dir), 'moved-away']);
    expect(await readFile(store.pathOf('report.pdf'), 'utf8')).toBe('evil');
  });

  it('H4: a partial replaced by a hard link to another file before its final name is refused', async () => {
    const root = await realpath(await tempDir());
    // A folder others can write in (see the test before).
    await chmod(root, 0o777);
    const store = await PartialStore.create(root);
    const destination = new Destination(root, { partials: store });
    const file = await IncomingFile.open(destination, fileEntry('a.txt', 4));
    await file.write(Buffer.from('ours'));
    await link(store.pathOf('a.txt'), path.join(root, 'other'));
    expect(await settle(await file.end(sha256('ours')))).toMatchObject({
      code: ErrorCode.WRITE_FAILED,
    });
    expect(await readdir(root)).not.toContain('a.txt');
  });

  it('D9: suspend() keeps the contiguous bytes written so far in the partial; keep() counts them', async () => {
    const root = await realpath(await tempDir());
    const store = await PartialStore.create(root);
    const destination = new Destination(root, { partials: store });
    const file = await IncomingFile.open(destination, fileEntry('big.bin', 10_000));
    const content = randomBytes(6_000);
    await file.write(content);
    await file.suspend();
    expect(await destination.keep()).toEqual({ dir: store.dir, files: 1, heldBytes: 6_000 });
    expect((await readFile(store.pathOf('big.bin'))).equals(content)).toBe(true);
    await destination.complete();
    expect(await listTree(root)).toEqual([]);
  });

  it('E7: a cut that leaves no partial holding a byte keeps nothing: keep() is undefined, and cleanup() removes the folders this run made', async () => {
    const root = await realpath(await tempDir());
    const store = await PartialStore.create(root);
    const destination = new Destination(root, { partials: store });
    const offer = offerOf(
      { kind: 'dir', path: 'e7' },
      { kind: 'file', path: 'e7/data.bin', size: 10 },
    );
    await destination.createDirs(offer.entries);
    const file = await IncomingFile.open(destination, offer.entries[1]!);
    await file.write(Buffer.from('12345'));
    // The file fails for good (a full disk, say): its partial goes at once.
    await file.abort('ERR_NO_SPACE', 'no space');
    expect(await destination.keep()).toBeUndefined();
    await destination.cleanup();
    expect(await readdir(root)).toEqual([]);
  });
});

describe('what a state record claims', () => {
  it('D5: a folder entered because its offered files were already there is never claimed: a rerun offering a new file there saves it under "cfg (1)/"', async () => {
    const root = await realpath(await tempDir());
    await mkdir(path.join(root, 'cfg'));
    await writeFile(path.join(root, 'cfg/empty'), '');
    const first = await prepareReceiving(
      await inspectDestination(offerOf({ kind: 'file', path: 'cfg/empty', size: 0 }), [0], root, {
        resume: SENDER,
      }),
    );
    expect(first.present.map((file) => file.offered)).toEqual(['cfg/empty']);
    const record = JSON.parse(
      await readFile(path.join(first.destination.partials!.dir, STATE_FILE), 'utf8'),
    );
    expect(record.tops).toEqual([]);
    // The run is killed after REQUEST: its folder and record stay as they are.
    await first.destination.partials!.release();
    const offer = offerOf({ kind: 'file', path: 'cfg/autostart.desktop', size: 4 });
    const inspection = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(inspection.report.renamed).toEqual([{ offered: 'cfg/', savedAs: 'cfg (1)/' }]);
    const second = await prepareReceiving(inspection);
    const file = await IncomingFile.open(second.destination, offer.entries[0]!);
    await file.write(Buffer.from('evil'));
    const saved = (await settle(await file.end(sha256('evil')))) as SavedFile;
    expect(saved.path).toBe(path.join(root, 'cfg (1)/autostart.desktop'));
    expect(await readdir(path.join(root, 'cfg'))).toEqual(['empty']);
  });

  it('D5: a folder this transfer created stays claimed across reruns, and is checked again when entered', async () => {
    const root = await realpath(await tempDir());
    const offer = offerOf({ kind: 'file', path: 'photos/a.jpg', size: 4 });
    const first = await prepareReceiving(
      await inspectDestination(offer, [0], root, { resume: SENDER }),
    );
    const file = await IncomingFile.open(first.destination, offer.entries[0]!);
    await file.write(Buffer.from('ab'));
    await file.suspend();
    expect(await first.destination.keep()).toMatchObject({ files: 1, heldBytes: 2 });
    const stats = await lstat(path.join(root, 'photos'), { bigint: true });
    const claim = {
      offered: 'photos',
      local: 'photos',
      dev: stats.dev.toString(),
      ino: stats.ino.toString(),
    };
    const dir = first.destination.partials!.dir;
    expect(JSON.parse(await readFile(path.join(dir, STATE_FILE), 'utf8')).tops).toEqual([claim]);
    // The second run enters it from the record, and claims it again.
    const inspection = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(inspection.report.renamed).toEqual([]);
    const second = await prepareReceiving(inspection);
    expect(second.requests).toEqual([{ id: 0, offset: 2, prefix: sha256('ab') }]);
    expect(JSON.parse(await readFile(path.join(dir, STATE_FILE), 'utf8')).tops).toEqual([claim]);
    await second.destination.keep();
    // Swapped for another folder between the inspection and the moment it is entered: refused.
    const third = await inspectDestination(offer, [0], root, { resume: SENDER });
    await rename(path.join(root, 'photos'), path.join(root, 'moved'));
    await mkdir(path.join(root, 'photos'));
    await expect(prepareReceiving(third)).rejects.toMatchObject({
      code: ErrorCode.WRITE_FAILED,
      message: expect.stringMatching(/changed by something else/),
    });
    expect(await readdir(path.join(root, 'photos'))).toEqual([]);
  });

  it('D5: a resumed partial folder that ends up holding no partial byte is removed by keep(), record and all', async () => {
    const { root, store } = await heldState({ 'a.txt': 'ab' });
    const prepared = await prepareReceiving(
      await inspectDestination(offerOf({ kind: 'file', path: 'a.txt', size: 5 }), [0], root, {
        resume: SENDER,
      }),
    );
    expect(prepared.destination.partials?.dir).toBe(store.dir);
    await prepared.destination.discard(store.pathOf('a.txt'));
    expect(await prepared.destination.keep()).toBeUndefined();
    await prepared.destination.cleanup();
    expect(await readdir(root)).toEqual([]);
  });
});

describe('cleanPartials (--clean)', () => {
  it('D5: removes our partial folders and leaves the others, each with the reason', async () => {
    const root = await realpath(await tempDir());
    const ours = await heldState();
    const mine = await PartialStore.create(root);
    await writeFile(mine.pathOf('a'), 'x', { mode: 0o600 });
    const open_ = await PartialStore.create(root);
    await chmod(open_.dir, 0o755);
    const extra = await PartialStore.create(root);
    await writeFile(path.join(extra.dir, 'notes.txt'), 'keep me');
    await mkdir(path.join(root, '.ferry-partial-x'));
    // Left as interrupted runs leave them.
    for (const store of [mine, open_, extra]) await store.release();
    const { removed, kept } = await cleanPartials(root);
    expect(removed).toEqual([mine.dir]);
    const reasons = new Map(kept.map((entry) => [entry.path, entry.reason]));
    expect(reasons.get(path.join(root, '.ferry-partial-x'))).toMatch(/name/);
    expect(reasons.get(extra.dir)).toMatch(/notes\.txt/);
    if (process.platform !== 'win32') expect(reasons.get(open_.dir)).toMatch(/permissions/);
    expect(await readFile(path.join(extra.dir, 'notes.txt'), 'utf8')).toBe('keep me');
    expect((await cleanPartials(ours.root)).removed).toEqual([ours.store.dir]);
  });
});

describe('the lock of a partial folder', () => {
  it('J5: a folder a running receiver holds is never adopted by another; the second starts its own', async () => {
    const { root, store } = await heldState({ 'a.txt': 'ab' });
    const offer = offerOf({ kind: 'file', path: 'a.txt', size: 5 });
    const first = await prepareReceiving(
      await inspectDestination(offer, [0], root, { resume: SENDER }),
    );
    expect(first.destination.partials?.dir).toBe(store.dir);
    expect((await readFile(path.join(store.dir, LOCK_FILE), 'utf8')).trim()).toBe(
      String(process.pid),
    );
    // While the first runs, its folder is found in use, not resumable.
    const inspection = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(inspection.report.resumable).toBeUndefined();
    const second = await prepareReceiving(inspection);
    expect(second.requests).toEqual([{ id: 0, offset: 0 }]);
    expect(second.destination.partials?.dir).not.toBe(store.dir);
    expect(await readFile(store.pathOf('a.txt'), 'utf8')).toBe('ab');
    // Even when the second had found the folder before the first took it, it takes its own.
    const found = (await readResumeStates(root)).inUse;
    expect(found.sort()).toEqual([store.dir, second.destination.partials?.dir].sort());
    expect(
      await PartialStore.claim({ dir: store.dir, state: {} as never, tops: [] }),
    ).toBeUndefined();
    // --clean leaves both, in use; after the first keeps its data (a failure), a rerun may take it.
    const cleaned = await cleanPartials(root);
    expect(cleaned.removed).toEqual([]);
    expect(cleaned.kept.map((entry) => entry.inUseBy)).toEqual([process.pid, process.pid]);
    expect(cleaned.kept[0]?.reason).toMatch(/running ferry-receive/);
    expect(await first.destination.keep()).toMatchObject({
      dir: store.dir,
      files: 1,
      heldBytes: 2,
    });
    expect(await readdir(store.dir)).not.toContain(LOCK_FILE);
    expect((await readResumeStates(root)).states.map((state) => state.dir)).toEqual([store.dir]);
    await second.destination.cleanup();
    expect(await readdir(root)).toEqual([path.basename(store.dir)]);
  });

  it('J5: a lock whose process is gone is stale: the folder is resumed, and --clean removes it', async () => {
    const { root, store } = await heldState({ 'a.txt': 'ab' });
    // A process id that cannot run: above the largest any system gives.
    await writeFile(path.join(store.dir, LOCK_FILE), '4294967\n', { mode: 0o600 });
    const offer = offerOf({ kind: 'file', path: 'a.txt', size: 5 });
    const inspection = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(inspection.report.resumable).toEqual({ files: 1, heldBytes: 2, totalBytes: 5 });
    const prepared = await prepareReceiving(inspection);
    expect(prepared.destination.partials?.dir).toBe(store.dir);
    expect(prepared.requests).toEqual([{ id: 0, offset: 2, prefix: sha256('ab') }]);
    expect((await readFile(path.join(store.dir, LOCK_FILE), 'utf8')).trim()).toBe(
      String(process.pid),
    );
    await prepared.destination.keep();
    await writeFile(path.join(store.dir, LOCK_FILE), '4294967\n', { mode: 0o600 });
    expect(await cleanPartials(root)).toEqual({ removed: [store.dir], kept: [] });
  });

  it('J5: a lock Ferry did not write counts as held: nothing adopts or removes that folder', async () => {
    const { root, store } = await heldState({ 'a.txt': 'ab' });
    await writeFile(path.join(store.dir, LOCK_FILE), 'not a pid', { mode: 0o600 });
    const inspection = await inspectDestination(
      offerOf({ kind: 'file', path: 'a.txt', size: 5 }),
      [0],
      root,
      { resume: SENDER },
    );
    expect(inspection.report.resumable).toBeUndefined();
    const { removed, kept } = await cleanPartials(root);
    expect(removed).toEqual([]);
    expect(kept).toEqual([
      { path: store.dir, reason: 'its lock is not one Ferry writes', inUseBy: -1 },
    ]);
  });
});

describe('inspecting and preparing a resumed transfer', () => {
  it('D5: .ssh/authorized_keys and .ssh/rc offered into a home with .ssh/authorized_keys of the same size still go to ".ssh (1)/"', async () => {
    const home = await realpath(await tempDir());
    await mkdir(path.join(home, '.ssh'));
    await writeFile(path.join(home, '.ssh/authorized_keys'), 'ssh-ed25519 AAAA');
    const offer = offerOf(
      { kind: 'file', path: '.ssh/authorized_keys', size: 16 },
      { kind: 'file', path: '.ssh/rc', size: 5 },
    );
    const inspection = await inspectDestination(offer, [0], home, { resume: SENDER });
    expect(inspection.report.renamed).toEqual([{ offered: '.ssh/', savedAs: '.ssh (1)/' }]);
    expect(inspection.report.present).toEqual({ files: 0, bytes: 0 });
    const prepared = await prepareReceiving(inspection, undefined, {});
    expect(prepared.requests).toEqual([
      { id: 0, offset: 0 },
      { id: 1, offset: 0 },
    ]);
    await prepared.destination.cleanup();
    expect(await listTree(home)).toEqual(['.ssh/', '.ssh/authorized_keys']);
  });

  it('D5: a file already there under a hidden name (or below a hidden folder) is never asked about: it is received as a new file', async () => {
    const home = await realpath(await tempDir());
    await mkdir(path.join(home, '.ssh'));
    await writeFile(path.join(home, '.ssh/authorized_keys'), 'ssh-ed25519 AAAA');
    await writeFile(path.join(home, '.pin'), '1234');
    await mkdir(path.join(home, 'docs'));
    await writeFile(path.join(home, 'docs/.pin'), '5678');
    await writeFile(path.join(home, 'docs/a.txt'), 'alpha');
    const offer = offerOf(
      { kind: 'file', path: '.ssh/authorized_keys', size: 16 },
      { kind: 'file', path: '.pin', size: 4 },
      { kind: 'file', path: 'docs/.pin', size: 4 },
      { kind: 'file', path: 'docs/a.txt', size: 5 },
    );
    const inspection = await inspectDestination(offer, [0, 1, 2], home, { resume: SENDER });
    expect(inspection.report.present).toEqual({ files: 0, bytes: 0 });
    expect(inspection.report.renamed).toEqual([
      { offered: '.ssh/', savedAs: '.ssh (1)/' },
      { offered: '.pin', savedAs: '.pin (1)' },
      { offered: 'docs/', savedAs: 'docs (1)/' },
    ]);
    const prepared = await prepareReceiving(inspection);
    expect(prepared.requests).toEqual(offer.entries.map((entry) => ({ id: entry.id, offset: 0 })));
    await prepared.destination.cleanup();
  });

  it('D2: an existing folder holding every offered file with its size is entered; each is asked about by its digest', async () => {
    const out = await realpath(await tempDir());
    await mkdir(path.join(out, 'docs/sub'), { recursive: true });
    await writeFile(path.join(out, 'docs/a.txt'), 'alpha');
    await writeFile(path.join(out, 'docs/sub/b.txt'), 'bravo!');
    await writeFile(path.join(out, 'docs/empty'), '');
    const offer = offerOf(
      { kind: 'dir', path: 'docs' },
      { kind: 'file', path: 'docs/a.txt', size: 5 },
      { kind: 'file', path: 'docs/sub/b.txt', size: 6 },
      { kind: 'file', path: 'docs/empty', size: 0 },
    );
    const inspection = await inspectDestination(offer, [0], out, { resume: SENDER });
    expect(inspection.report.renamed).toEqual([]);
    expect(inspection.report.present).toEqual({ files: 3, bytes: 11 });
    // docs/ and docs/sub/ are there: none to create.
    expect(inspection.report.folders).toBe(0);
    const prepared = await prepareReceiving(inspection);
    expect(prepared.requests).toEqual([
      { id: 1, offset: 5, prefix: sha256('alpha') },
      { id: 2, offset: 6, prefix: sha256('bravo!') },
    ]);
    expect(prepared.present.map((file) => file.offered)).toEqual(['docs/empty']);
    expect(prepared.resumed).toEqual({ files: 0, heldBytes: 0 });
    await prepared.destination.complete();
    expect(await listTree(out)).toEqual([
      'docs/',
      'docs/a.txt',
      'docs/empty',
      'docs/sub/',
      'docs/sub/b.txt',
    ]);
  });

  it('U9: a folder entered as it is is not counted as one to create; one that does not exist yet is', async () => {
    const root = await realpath(await tempDir());
    const offer = offerOf(
      { kind: 'file', path: 'photos/a.jpg', size: 4 },
      { kind: 'file', path: 'photos/2024/b.jpg', size: 3 },
    );
    const before = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(before.report.folders).toBe(2);
    // A first run creates the folders, then stops.
    const first = await prepareReceiving(before);
    const file = await IncomingFile.open(first.destination, offer.entries[0]!);
    await file.write(Buffer.from('ab'));
    await file.suspend();
    await first.destination.keep();
    // The rerun enters photos/ (its record claims it), and creates no folder.
    const again = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(again.report.renamed).toEqual([]);
    expect(again.report.folders).toBe(0);
    // Without photos/2024/, that one is to create again.
    await fs.rmdir(path.join(root, 'photos/2024'));
    const third = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(third.report.renamed).toEqual([]);
    expect(third.report.folders).toBe(1);
  });

  it('D5: a folder with a symlink on the way to an offered file is not entered', async () => {
    const out = await realpath(await tempDir());
    const elsewhere = await tempDir();
    await writeFile(path.join(elsewhere, 'a.txt'), 'alpha');
    await mkdir(path.join(out, 'docs'));
    await symlink(elsewhere, path.join(out, 'docs/sub'));
    const offer = offerOf({ kind: 'file', path: 'docs/sub/a.txt', size: 5 });
    const inspection = await inspectDestination(offer, [0], out, { resume: SENDER });
    expect(inspection.report.renamed).toEqual([{ offered: 'docs/', savedAs: 'docs (1)/' }]);
    expect(inspection.report.present).toEqual({ files: 0, bytes: 0 });
  });

  it('a folder the record claims is entered though files are missing; a top-level file of another size is renamed', async () => {
    const { root, store } = await heldState({ 'photos/b.jpg': 'bbb' });
    await mkdir(path.join(root, 'photos'));
    await writeFile(path.join(root, 'photos/a.jpg'), 'aaaa');
    await writeFile(path.join(root, 'notes.txt'), 'short');
    const stats = await lstat(path.join(root, 'photos'), { bigint: true });
    const state = (await readResumeStates(root)).states[0]!.state;
    await writeResumeState(store.dir, {
      ...state,
      tops: [
        {
          offered: 'photos',
          local: 'photos',
          dev: stats.dev.toString(),
          ino: stats.ino.toString(),
        },
      ],
    });
    const offer = offerOf(
      { kind: 'file', path: 'photos/a.jpg', size: 4 },
      { kind: 'file', path: 'photos/b.jpg', size: 6 },
      { kind: 'file', path: 'notes.txt', size: 9 },
    );
    const inspection = await inspectDestination(offer, [0, 1], root, { resume: SENDER });
    expect(inspection.report.renamed).toEqual([{ offered: 'notes.txt', savedAs: 'notes (1).txt' }]);
    expect(inspection.report.resumable).toEqual({ files: 1, heldBytes: 3, totalBytes: 6 });
    expect(inspection.report.present).toEqual({ files: 1, bytes: 4 });
    const prepared = await prepareReceiving(inspection);
    expect(prepared.requests).toEqual([
      { id: 0, offset: 4, prefix: sha256('aaaa') },
      { id: 1, offset: 3, prefix: sha256('bbb') },
      { id: 2, offset: 0 },
    ]);
    expect(prepared.resumed).toEqual({ files: 1, heldBytes: 3 });
    expect(prepared.destination.partials?.dir).toBe(store.dir);
  });

  it('D1: a partial longer than the file is not resumed: the file is asked for from 0, and the partial replaced', async () => {
    const { root, store } = await heldState({ 'a.txt': 'longer than five' });
    const offer = offerOf({ kind: 'file', path: 'a.txt', size: 5 });
    const inspection = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(inspection.report.resumable).toBeUndefined();
    const prepared = await prepareReceiving(inspection);
    expect(prepared.requests).toEqual([{ id: 0, offset: 0 }]);
    expect(await readdir(store.dir)).toEqual([LOCK_FILE, STATE_FILE]);
    const file = await IncomingFile.open(prepared.destination, prepared.files[0]!);
    await file.write(Buffer.from('fives'));
    await settle(await file.end(sha256('fives')));
    expect(await readFile(path.join(root, 'a.txt'), 'utf8')).toBe('fives');
    expect(await readdir(store.dir)).toEqual([LOCK_FILE, STATE_FILE]);
  });

  it('a declined resume deletes the held partial folder and starts fresh in a new one', async () => {
    const { root, store } = await heldState({ 'a.txt': 'ab' });
    const offer = offerOf({ kind: 'file', path: 'a.txt', size: 5 });
    const inspection = await inspectDestination(offer, [0], root, { resume: SENDER });
    expect(inspection.report.resumable).toEqual({ files: 1, heldBytes: 2, totalBytes: 5 });
    const prepared = await prepareReceiving(inspection, undefined, { resume: false });
    expect(prepared.requests).toEqual([{ id: 0, offset: 0 }]);
    expect(prepared.destination.partials?.dir).not.toBe(store.dir);
    // The new folder is this running transfer's: found, and left to it.
    expect(await readResumeStates(root)).toEqual({
      states: [],
      foreign: [],
      inUse: [prepared.destination.partials?.dir],
    });
    // A failure before REQUEST leaves nothing of this run.
    await prepared.destination.cleanup();
    expect(await listTree(root)).toEqual([]);
  });

  it('D5: a truncated partial resumes from its new length', async () => {
    const { root, store } = await heldState({ 'a.txt': '0123456789' });
    await truncate(store.pathOf('a.txt'), 4);
    const inspection = await inspectDestination(
      offerOf({ kind: 'file', path: 'a.txt', size: 20 }),
      [0],
      root,
      { resume: SENDER },
    );
    const prepared = await prepareReceiving(inspection);
    expect(prepared.requests).toEqual([{ id: 0, offset: 4, prefix: sha256('0123') }]);
  });

  it('a reconnection asks again only for the files not concluded (exclude), from what its own partial folder holds', async () => {
    const { root, store } = await heldState({ 'b.txt': 'bb' });
    await writeFile(path.join(root, 'a.txt'), 'saved');
    const offer = offerOf(
      { kind: 'file', path: 'a.txt', size: 5 },
      { kind: 'file', path: 'b.txt', size: 4 },
    );
    const inspection = await inspectDestination(offer, [0, 1], root, { resume: SENDER });
    const prepared = await prepareReceiving(inspection, undefined, { exclude: new Set([0]) });
    expect(prepared.files.map((entry) => entry.path)).toEqual(['b.txt']);
    expect(prepared.requests).toEqual([{ id: 1, offset: 2, prefix: sha256('bb') }]);
    expect(prepared.destination.partials?.dir).toBe(store.dir);
  });

  it('D5: an adopted folder swapped for a symlink during the transfer is refused before a final name; nothing is written through it', async () => {
    const out = await realpath(await tempDir());
    await mkdir(path.join(out, 'docs/sub'), { recursive: true });
    await writeFile(path.join(out, 'docs/sub/a.txt'), 'alpha');
    // A folder others can write in: only there can someone else swap the folder in it.
    await chmod(path.join(out, 'docs'), 0o777);
    const offer = offerOf({ kind: 'file', path: 'docs/sub/a.txt', size: 5 });
    const prepared = await prepareReceiving(
      await inspectDestination(offer, [0], out, { resume: SENDER }),
    );
    expect(prepared.requests).toEqual([{ id: 0, offset: 5, prefix: sha256('alpha') }]);
    // The sender says its file differs: the new one is written, then named beside the old one.
    const file = await IncomingFile.open(prepared.destination, prepared.files[0]!, {
      resumeFrom: prepared.held.get(0),
    });
    await file.restart();
    await file.write(Buffer.from('other'));
    const elsewhere = await tempDir();
    await rename(path.join(out, 'docs/sub'), path.join(out, 'docs/moved'));
    await symlink(elsewhere, path.join(out, 'docs/sub'));
    expect(await settle(await file.end(sha256('other')))).toMatchObject({
      code: ErrorCode.WRITE_FAILED,
    });
    expect(await listTree(elsewhere)).toEqual([]);
    expect(await readFile(path.join(out, 'docs/moved/a.txt'), 'utf8')).toBe('alpha');
  });

  it('counts the held bytes as taken already: a resumed transfer needs disk only for what is missing', async () => {
    const held = Buffer.alloc(64 * 1024, 7);
    const { root } = await heldState({ 'big.bin': held });
    await writeFile(path.join(root, 'there.bin'), Buffer.alloc(8192, 1));
    const offer = offerOf(
      { kind: 'file', path: 'big.bin', size: 256 * 1024 },
      { kind: 'file', path: 'there.bin', size: 8192 },
    );
    const fresh = await inspectDestination(offer, [0, 1], root);
    const resumed = await inspectDestination(offer, [0, 1], root, { resume: SENDER });
    expect(fresh.report.neededBytes - resumed.report.neededBytes).toBe(64 * 1024 + 8192);
  });

  it.each([
    ['synchronous', true],
    ['through the thread pool', false],
  ] as const)(
    'a final folder on another mount (EXDEV), calls %s: the file is copied beside its final name, then claimed without replacing anything',
    async (_how, sync) => {
      const root = await realpath(await tempDir());
      await writeFile(path.join(root, 'a.txt'), 'theirs');
      const store = await PartialStore.create(root);
      const destination = new Destination(root, { partials: store, gate: new SyncGate({ sync }) });
      const entry = fileEntry('a.txt', 4);
      const file = await IncomingFile.open(destination, entry);
      await file.write(Buffer.from('ours'));
      const crossDevice = (from: PathLike) => {
        if (String(from).startsWith(store.dir))
          throw Object.assign(new Error('cross-device link'), { code: 'EXDEV' });
      };
      const realLink = fs.link;
      const realLinkSync = syncFs.linkSync;
      const spy = sync
        ? vi.spyOn(syncFs, 'linkSync').mockImplementation((from, to) => {
            crossDevice(from);
            realLinkSync(from, to);
          })
        : vi.spyOn(fs, 'link').mockImplementation(async (from, to) => {
            crossDevice(from);
            return realLink(from, to);
          });
      try {
        const saved = (await settle(await file.end(sha256('ours')))) as SavedFile;
        expect(saved.path).toBe(path.join(root, 'a (1).txt'));
        // Linked from the partial folder first (refused), then from a copy beside the final name.
        const sources = spy.mock.calls.map(([from]) => path.dirname(String(from)));
        expect(sources[0]).toBe(store.dir);
        expect(sources.at(-1)).toBe(root);
      } finally {
        spy.mockRestore();
      }
      expect(await readFile(path.join(root, 'a.txt'), 'utf8')).toBe('theirs');
      expect(await readFile(path.join(root, 'a (1).txt'), 'utf8')).toBe('ours');
      // Only the lock of the transfer, which still runs, is left in its partial folder.
      expect(await readdir(store.dir)).toEqual([LOCK_FILE]);
      expect(await listTree(root)).toEqual([
        path.basename(store.dir) + '/',
        `${path.basename(store.dir)}/${LOCK_FILE}`,
        'a (1).txt',
        'a.txt',
      ]);
    },
  );
});
