import { writeSync } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readlink,
  realpath,
  rename,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { type ValidatedEntry, validateOffer } from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  alternativeName,
  checkFreeSpace,
  childPath,
  Destination,
  openDestination,
  modesTellWhoWrites,
  othersCanReplaceIn,
} from '../src/destination.ts';
import { DestinationError } from '../src/errors.ts';
import { listTree, onCleanup, runCleanup, tempDir } from '@ferry/testkit/unit';

afterEach(runCleanup);

type Raw = { kind: 'file'; path: string; size: number } | { kind: 'dir'; path: string };

/** Validated entries for `raw`, as the receiver has them after checking an offer. */
function entries(...raw: Raw[]): ValidatedEntry[] {
  return [...validateOffer(raw).entries];
}

function file(path: string, size = 0): Raw {
  return { kind: 'file', path, size };
}

function entry(list: readonly ValidatedEntry[], index: number): ValidatedEntry {
  const found = list[index];
  if (!found) throw new Error(`no entry ${index}`);
  return found;
}

/** Writes `content` through a temporary file and finalizes it; returns the final path. */
async function save(
  destination: Destination,
  target: ValidatedEntry,
  content: string,
): Promise<string> {
  const { handle, tempPath } = await destination.openTemp(target);
  writeSync(handle.fd, content);
  await handle.close();
  return destination.finalize(target, tempPath);
}

/** Runs `work` with the process umask set to `mask`, then restores it. */
async function withUmask<T>(mask: number, work: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await work();
  } finally {
    process.umask(previous);
  }
}

describe('alternativeName', () => {
  it.each([
    ['a.txt', 1, 'a (1).txt'],
    ['a.txt', 2, 'a (2).txt'],
    // Only the last extension is kept apart.
    ['archive.tar.gz', 1, 'archive.tar (1).gz'],
    ['noext', 1, 'noext (1)'],
    // A leading dot starts a hidden name, not an extension.
    ['.bashrc', 1, '.bashrc (1)'],
    ['.config.json', 3, '.config (3).json'],
    ['photos', 12, 'photos (12)'],
  ])('turns %j into alternative %i: %j', (name, n, expected) => {
    expect(alternativeName(name, n)).toBe(expected);
  });

  it('returns the name itself for alternative 0', () => {
    expect(alternativeName('a.txt', 0)).toBe('a.txt');
  });
});

describe('Destination', () => {
  it('H6, H7: saves a file through a hidden temporary file in the same folder, renamed to its name only when done', async () => {
    const root = await tempDir();
    const list = entries(file('docs/a.txt', 5));
    const destination = new Destination(root);
    const { handle, tempPath } = await destination.openTemp(entry(list, 0));
    expect(path.dirname(tempPath)).toBe(path.join(root, 'docs'));
    expect(path.basename(tempPath)).toMatch(/^\..*\.part$/);
    writeSync(handle.fd, 'hello');
    await handle.close();
    const final = await destination.finalize(entry(list, 0), tempPath);
    expect(final).toBe(path.join(root, 'docs', 'a.txt'));
    expect(await listTree(root)).toEqual(['docs/', 'docs/a.txt']);
  });

  it('H5: never overwrites an existing file; the new one becomes "name (1).ext"', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'x.txt'), 'original');
    const list = entries(file('x.txt', 3));
    const final = await save(new Destination(root), entry(list, 0), 'new');
    expect(final).toBe(path.join(root, 'x (1).txt'));
    expect(await readFile(path.join(root, 'x.txt'), 'utf8')).toBe('original');
    expect(await readFile(final, 'utf8')).toBe('new');
  });

  it('H5: takes the next free alternative when "(1)" is taken too', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'x.txt'), '0');
    await writeFile(path.join(root, 'x (1).txt'), '1');
    const final = await save(new Destination(root), entry(entries(file('x.txt')), 0), '2');
    expect(path.basename(final)).toBe('x (2).txt');
    expect(await readFile(path.join(root, 'x (1).txt'), 'utf8')).toBe('1');
  });

  it('H1: does not write through an existing dangling symlink; the file lands as "name (1)"', async () => {
    const root = await tempDir();
    const elsewhere = await tempDir();
    const target = path.join(elsewhere, 'created-through-link');
    await symlink(target, path.join(root, 'x.txt'));
    const final = await save(new Destination(root), entry(entries(file('x.txt', 3)), 0), 'new');
    expect(final).toBe(path.join(root, 'x (1).txt'));
    expect(await listTree(elsewhere)).toEqual([]);
    expect((await lstat(path.join(root, 'x.txt'))).isSymbolicLink()).toBe(true);
    expect(await readlink(path.join(root, 'x.txt'))).toBe(target);
  });

  it('H1: does not write through an existing symlink to a file', async () => {
    const root = await tempDir();
    const elsewhere = await tempDir();
    await writeFile(path.join(elsewhere, 'victim'), 'precious');
    await symlink(path.join(elsewhere, 'victim'), path.join(root, 'x.txt'));
    const final = await save(new Destination(root), entry(entries(file('x.txt', 3)), 0), 'new');
    expect(path.basename(final)).toBe('x (1).txt');
    expect(await readFile(path.join(elsewhere, 'victim'), 'utf8')).toBe('precious');
  });

  it('puts an offered folder whose name is taken by an existing folder into a new "name (1)"', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'photos'));
    await writeFile(path.join(root, 'photos', 'mine.jpg'), 'mine');
    const list = entries(file('photos/a.jpg', 1), { kind: 'dir', path: 'photos/empty' });
    const destination = new Destination(root);
    await destination.createDirs(list);
    const final = await save(destination, entry(list, 0), 'A');
    expect(final).toBe(path.join(root, 'photos (1)', 'a.jpg'));
    expect(await listTree(root)).toEqual([
      'photos (1)/',
      'photos (1)/a.jpg',
      'photos (1)/empty/',
      'photos/',
      'photos/mine.jpg',
    ]);
  });

  it('H2: puts an offered folder whose name is an existing symlink into a new folder, not through the link', async () => {
    const root = await tempDir();
    const elsewhere = await tempDir();
    await symlink(elsewhere, path.join(root, 'photos'));
    const list = entries(file('photos/a.jpg', 1));
    const final = await save(new Destination(root), entry(list, 0), 'A');
    expect(final).toBe(path.join(root, 'photos (1)', 'a.jpg'));
    expect(await listTree(elsewhere)).toEqual([]);
  });

  it('creates the folders of the offer, empty ones included, with mode 0o755 minus the umask', async () => {
    const root = await tempDir();
    const list = entries(
      { kind: 'dir', path: 'top' },
      { kind: 'dir', path: 'top/a/b' },
      { kind: 'dir', path: 'top/empty' },
    );
    await withUmask(0o022, () => new Destination(root).createDirs(list));
    expect(await listTree(root)).toEqual(['top/', 'top/a/', 'top/a/b/', 'top/empty/']);
    expect((await stat(path.join(root, 'top/a/b'))).mode & 0o7777).toBe(0o755);
  });

  it('H9: cleanup deletes temporary files and the empty folders it created, and nothing that was there before', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'pre-existing-empty'));
    await writeFile(path.join(root, 'pre-existing.txt'), 'keep');
    const list = entries(
      file('d/sub/a.txt', 1),
      { kind: 'dir', path: 'd/empty' },
      file('other/b.txt', 1),
    );
    const destination = new Destination(root);
    await destination.createDirs(list);
    const first = await destination.openTemp(entry(list, 0));
    const second = await destination.openTemp(entry(list, 2));
    await first.handle.close();
    await second.handle.close();
    await destination.cleanup();
    expect(await listTree(root)).toEqual(['pre-existing-empty/', 'pre-existing.txt']);
  });

  it('H9: cleanup keeps files already finalized and the folders that hold them', async () => {
    const root = await tempDir();
    const list = entries(file('d/a.txt', 1), file('d/b.txt', 1), { kind: 'dir', path: 'd/empty' });
    const destination = new Destination(root);
    await destination.createDirs(list);
    await save(destination, entry(list, 0), 'A');
    const pending = await destination.openTemp(entry(list, 1));
    await pending.handle.close();
    await destination.cleanup();
    expect(await listTree(root)).toEqual(['d/', 'd/a.txt']);
  });

  it('discard deletes one temporary file', async () => {
    const root = await tempDir();
    const list = entries(file('a.txt', 1));
    const destination = new Destination(root);
    const { handle, tempPath } = await destination.openTemp(entry(list, 0));
    await handle.close();
    await destination.discard(tempPath);
    expect(await listTree(root)).toEqual([]);
  });

  it('H4: refuses to finalize into a folder of its own that was swapped for a symlink', async () => {
    const root = await tempDir();
    // A folder others can write in: only there can someone else swap a folder (othersCanReplaceIn).
    await chmod(root, 0o777);
    await expectSwapRefused(root);
  });

  it('joins a folder and a checked name as path.join does, a root folder included', () => {
    for (const [dir, name] of [
      ['/dl', 'a.txt'],
      ['/dl/photos', 'b (1).jpg'],
      ['/', 'top'],
    ] as const) {
      expect(childPath(dir, name)).toBe(path.join(dir, name));
    }
  });

  it('H4: tells who else can replace what is in a folder by its owner, mode and sticky bit', () => {
    const me = 1000;
    const mine = me;
    // Only its user (or the administrator) can write it: nobody else.
    expect(othersCanReplaceIn({ uid: me, mode: 0o40755 }, mine, me)).toBe(false);
    expect(othersCanReplaceIn({ uid: 0, mode: 0o40755 }, mine, me)).toBe(false);
    // Owned by someone else, or open to its group or everyone.
    expect(othersCanReplaceIn({ uid: 1001, mode: 0o40700 }, mine, me)).toBe(true);
    expect(othersCanReplaceIn({ uid: me, mode: 0o40775 }, mine, me)).toBe(true);
    expect(othersCanReplaceIn({ uid: me, mode: 0o40757 }, mine, me)).toBe(true);
    // The sticky bit (/tmp) keeps others from renaming this user's entries, not their own.
    expect(othersCanReplaceIn({ uid: 0, mode: 0o41777 }, mine, me)).toBe(false);
    expect(othersCanReplaceIn({ uid: 0, mode: 0o41777 }, 1001, me)).toBe(true);
    // Someone else's entry in a folder open to others, without the sticky bit.
    expect(othersCanReplaceIn({ uid: me, mode: 0o40777 }, 1001, me)).toBe(true);
    // The setgid bit gives nobody else write.
    expect(othersCanReplaceIn({ uid: me, mode: 0o42755 }, mine, me)).toBe(false);
    // Run as the administrator: another user's folder still lets its owner in.
    expect(othersCanReplaceIn({ uid: 0, mode: 0o40755 }, 0, 0)).toBe(false);
    expect(othersCanReplaceIn({ uid: 1001, mode: 0o40755 }, 0, 0)).toBe(true);
    // No owners to judge by (Windows): always.
    expect(othersCanReplaceIn({ uid: 0, mode: 0o40755 }, 0, undefined)).toBe(true);
  });

  it('H4: trusts owners and modes only on local Linux file systems, where they tell who can write', () => {
    const ext4 = 0xef53;
    const tmpfs = 0x01021994;
    const nfs = 0x6969;
    const fuse = 0x65735546;
    expect(modesTellWhoWrites('linux', ext4)).toBe(true);
    expect(modesTellWhoWrites('linux', tmpfs)).toBe(true);
    // Shares and FUSE may let others in whatever the modes say; macOS ACLs do not show in them.
    expect(modesTellWhoWrites('linux', nfs)).toBe(false);
    expect(modesTellWhoWrites('linux', fuse)).toBe(false);
    expect(modesTellWhoWrites('darwin', ext4)).toBe(false);
    expect(modesTellWhoWrites('win32', ext4)).toBe(false);
  });

  it('H4: a folder open to others above the chosen one turns the checks on: a folder swapped in the chosen folder is refused', async () => {
    const shared = await tempDir();
    // Others can rename the chosen folder itself (no sticky bit): it, and all below, is checked.
    await chmod(shared, 0o777);
    const root = path.join(shared, 'incoming');
    await mkdir(root, { mode: 0o755 });
    await expectSwapRefused(root);
  });

  it('H8: creates files with mode 0o644 minus the umask, never executable', async () => {
    const root = await tempDir();
    for (const [mask, expected] of [
      [0o022, 0o644],
      [0o077, 0o600],
      [0o000, 0o644],
    ] as const) {
      const target = entry(entries(file(`f-${mask}.sh`, 1)), 0);
      const final = await withUmask(mask, () => save(new Destination(root), target, '#'));
      const mode = (await stat(final)).mode & 0o7777;
      expect(mode).toBe(expected);
      expect(mode & 0o7111).toBe(0);
    }
  });
});

describe('openDestination', () => {
  it('returns the real path of an existing folder, following a symlinked folder once (H3)', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'real'));
    await symlink(path.join(root, 'real'), path.join(root, 'link'));
    expect(await openDestination(path.join(root, 'link'))).toBe(
      await realpath(path.join(root, 'real')),
    );
  });

  it('rejects a folder that does not exist', async () => {
    const root = await tempDir();
    await expect(openDestination(path.join(root, 'missing'))).rejects.toBeInstanceOf(
      DestinationError,
    );
  });

  it('rejects a file', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'file'), '');
    await expect(openDestination(path.join(root, 'file'))).rejects.toBeInstanceOf(DestinationError);
  });

  it('E7: rejects a read-only folder (root may write anywhere, so it gets the folder back)', async () => {
    const root = await tempDir();
    const readOnly = path.join(root, 'ro');
    await mkdir(readOnly);
    await chmod(readOnly, 0o555);
    onCleanup('chmod back', () => chmod(readOnly, 0o755));
    if (process.getuid?.() === 0) {
      expect(await openDestination(readOnly)).toBe(await realpath(readOnly));
    } else {
      await expect(openDestination(readOnly)).rejects.toBeInstanceOf(DestinationError);
    }
  });
});

describe('checkFreeSpace', () => {
  it('C3: refuses more bytes than the disk has with ERR_NO_SPACE', async () => {
    const root = await tempDir();
    const error = await checkFreeSpace(root, 2 ** 52).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DestinationError);
    expect(error).toMatchObject({ code: 'ERR_NO_SPACE' });
  });

  it('accepts what fits', async () => {
    const root = await tempDir();
    await expect(checkFreeSpace(root, 0)).resolves.toBeUndefined();
    await expect(checkFreeSpace(root, 1024)).resolves.toBeUndefined();
  });
});

/**
 * Writes `d/a.txt` below `root` to its temporary file, then swaps `root/d` for a symlink to
 * another folder, as another user could: naming the file must be refused, with nothing written
 * through the link.
 */
async function expectSwapRefused(root: string): Promise<void> {
  const elsewhere = await tempDir();
  const list = entries(file('d/a.txt', 1));
  const destination = new Destination(root);
  await destination.createDirs(list);
  const { handle, tempPath } = await destination.openTemp(entry(list, 0));
  writeSync(handle.fd, 'A');
  await handle.close();
  await rename(path.join(root, 'd'), path.join(elsewhere, 'moved'));
  await symlink(elsewhere, path.join(root, 'd'));
  await expect(destination.finalize(entry(list, 0), tempPath)).rejects.toBeInstanceOf(
    DestinationError,
  );
  expect(await listTree(elsewhere)).not.toContain('a.txt');
}
