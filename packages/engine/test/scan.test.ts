import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, realpath, rename, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '@ferry/protocol';
import { openSource, scanOffer } from '../src/scan.ts';
import { stampOf } from '../src/stamp.ts';
import { runCleanup, tempDir, within } from '@ferry/testkit/unit';

afterEach(runCleanup);

/** Creates files (string content) and folders (`null`) below `root`. */
async function layout(root: string, tree: Record<string, string | null>): Promise<void> {
  for (const [relative, content] of Object.entries(tree)) {
    const absolute = path.join(root, relative);
    if (content === null) {
      await mkdir(absolute, { recursive: true });
    } else {
      await mkdir(path.dirname(absolute), { recursive: true });
      await writeFile(absolute, content);
    }
  }
}

describe('scanOffer', () => {
  it('offers a single file under its base name', async () => {
    const root = await tempDir();
    await layout(root, { 'notes.txt': 'hello' });
    const offer = await scanOffer([path.join(root, 'notes.txt')]);
    expect(offer.entries).toEqual([{ kind: 'file', path: 'notes.txt', size: 5 }]);
    const stats = await stat(path.join(root, 'notes.txt'), { bigint: true });
    expect(offer.sources.get(0)).toEqual({ absolute: await realpath(path.join(root, 'notes.txt')), size: 5, stamp: stampOf(stats) });
    expect([offer.fileCount, offer.totalBytes, offer.skipped]).toEqual([1, 5, []]);
  });

  it('walks a folder recursively, keeping nested and empty folders as entries with / separators', async () => {
    const root = await tempDir();
    await layout(root, {
      'album/a.txt': 'aaa',
      'album/sub/b.bin': 'bbbbbbb',
      'album/sub/deeper/c.txt': '',
      'album/empty': null,
      'album/sub/empty-too': null,
    });
    const offer = await scanOffer([path.join(root, 'album')]);
    expect(offer.entries).toEqual([
      { kind: 'dir', path: 'album' },
      { kind: 'file', path: 'album/a.txt', size: 3 },
      { kind: 'dir', path: 'album/empty' },
      { kind: 'dir', path: 'album/sub' },
      { kind: 'file', path: 'album/sub/b.bin', size: 7 },
      { kind: 'dir', path: 'album/sub/deeper' },
      { kind: 'file', path: 'album/sub/deeper/c.txt', size: 0 },
      { kind: 'dir', path: 'album/sub/empty-too' },
    ]);
    expect(offer.fileCount).toBe(3);
    expect(offer.totalBytes).toBe(10);
    expect(offer.skipped).toEqual([]);
    // Each file's source is found under its entry id.
    for (const [id, entry] of offer.entries.entries()) {
      const source = offer.sources.get(id);
      if (entry.kind === 'dir') expect(source).toBeUndefined();
      else expect(source?.absolute).toBe(path.join(root, ...entry.path.split('/')));
    }
  });

  it('counts files and bytes over several offered items', async () => {
    const root = await tempDir();
    await layout(root, { 'one.txt': '12345', 'two/x': '1', 'two/y/z': '123' });
    const offer = await scanOffer([path.join(root, 'one.txt'), path.join(root, 'two')]);
    expect(offer.fileCount).toBe(3);
    expect(offer.totalBytes).toBe(9);
    expect(offer.entries.map((e) => e.path)).toEqual(['one.txt', 'two', 'two/x', 'two/y', 'two/y/z']);
  });

  it('offers a symlink inside the folder that leads to a file inside it, read from the target', async () => {
    const root = await tempDir();
    await layout(root, { 'docs/real.txt': 'real!' });
    await symlink('real.txt', path.join(root, 'docs/alias.txt'));
    const offer = await scanOffer([path.join(root, 'docs')]);
    const id = offer.entries.findIndex((e) => e.path === 'docs/alias.txt');
    expect(offer.entries[id]).toEqual({ kind: 'file', path: 'docs/alias.txt', size: 5 });
    const real = await realpath(path.join(root, 'docs/real.txt'));
    const stats = await stat(real, { bigint: true });
    expect(offer.sources.get(id)).toEqual({ absolute: real, size: 5, stamp: stampOf(stats) });
    expect(offer.fileCount).toBe(2);
  });

  it('H11: skips a symlink to a file outside the offered folder, with a reason', async () => {
    const root = await tempDir();
    await layout(root, { 'secret.txt': 'private key', 'docs/ok.txt': 'ok' });
    await symlink(path.join(root, 'secret.txt'), path.join(root, 'docs/leak.txt'));
    await symlink('../secret.txt', path.join(root, 'docs/leak-relative.txt'));
    const offer = await scanOffer([path.join(root, 'docs')]);
    expect(offer.entries.map((e) => e.path)).toEqual(['docs', 'docs/ok.txt']);
    expect(offer.skipped.map((s) => s.path).sort()).toEqual(['docs/leak-relative.txt', 'docs/leak.txt']);
    for (const skipped of offer.skipped) expect(skipped.reason).not.toBe('');
    expect([...offer.sources.values()].map((s) => s.absolute)).not.toContain(path.join(root, 'secret.txt'));
  });

  it('H11: skips a symlink to a folder outside the offered folder', async () => {
    const root = await tempDir();
    await layout(root, { 'home/.ssh/id_ed25519': 'key', 'share/a.txt': 'a' });
    await symlink(path.join(root, 'home/.ssh'), path.join(root, 'share/ssh'));
    const offer = await scanOffer([path.join(root, 'share')]);
    expect(offer.entries.map((e) => e.path)).toEqual(['share', 'share/a.txt']);
    expect(offer.skipped.map((s) => s.path)).toEqual(['share/ssh']);
  });

  it('skips a symlink to a folder inside the offered folder rather than following it', async () => {
    const root = await tempDir();
    await layout(root, { 'share/inner/a.txt': 'a' });
    await symlink('inner', path.join(root, 'share/loop'));
    const offer = await scanOffer([path.join(root, 'share')]);
    expect(offer.entries.map((e) => e.path)).toEqual(['share', 'share/inner', 'share/inner/a.txt']);
    expect(offer.skipped.map((s) => s.path)).toEqual(['share/loop']);
  });

  it('skips a dangling symlink with a reason', async () => {
    const root = await tempDir();
    await layout(root, { 'docs/ok.txt': 'ok' });
    await symlink('gone.txt', path.join(root, 'docs/dangling.txt'));
    const offer = await scanOffer([path.join(root, 'docs')]);
    expect(offer.entries.map((e) => e.path)).toEqual(['docs', 'docs/ok.txt']);
    expect(offer.skipped).toHaveLength(1);
    expect(offer.skipped[0]?.path).toBe('docs/dangling.txt');
    expect(offer.skipped[0]?.reason).not.toBe('');
  });

  it('U8: offers names that are fine on both machines (a:b, x., CON.txt, trailing space) and skips only control characters and backslashes', async () => {
    const root = await tempDir();
    await layout(root, {
      'mixed/a:b': '1',
      'mixed/x.': '2',
      'mixed/CON.txt': '3',
      'mixed/trailing ': '4',
      'mixed/back\\slash': '5',
      'mixed/bad:dir/inside.txt': '6',
      'mixed/new\nline': '7',
      'mixed/fine.txt': 'fine',
    });
    const offer = await scanOffer([path.join(root, 'mixed')]);
    expect(offer.entries.map((e) => e.path).sort()).toEqual(
      ['mixed', 'mixed/CON.txt', 'mixed/a:b', 'mixed/bad:dir', 'mixed/bad:dir/inside.txt', 'mixed/fine.txt', 'mixed/trailing ', 'mixed/x.'].sort(),
    );
    expect(offer.skipped.map((s) => s.path).sort()).toEqual(['mixed/back\\slash', 'mixed/new\nline']);
    for (const skipped of offer.skipped) expect(skipped.reason).not.toBe('');
    expect([offer.fileCount, offer.totalBytes]).toEqual([6, 9]);
  });

  it('K1: U8: skips a name whose collision key holds a separator or is "..", as a receiver refuses it', async () => {
    const root = await tempDir();
    await layout(root, { 'proj/a\uff0fb': 'slash', 'proj/\u2025': 'dots', 'proj/fine.txt': 'fine' });
    const offer = await scanOffer([path.join(root, 'proj')]);
    expect(offer.entries.map((e) => e.path)).toEqual(['proj', 'proj/fine.txt']);
    expect(offer.skipped.map((s) => s.path).sort()).toEqual(['proj/a\uff0fb', 'proj/\u2025'].sort());
    for (const skipped of offer.skipped) expect(skipped.reason).toMatch(/^name cannot be sent: .*separator/);
  });

  it('B9: offers only one of README and readme in one folder, and says why the other is left out', async () => {
    const root = await tempDir();
    await layout(root, { 'proj/README': 'upper', 'proj/readme': 'lower!' });
    const offer = await scanOffer([path.join(root, 'proj')]);
    const files = offer.entries.filter((e) => e.kind === 'file').map((e) => e.path);
    expect(files).toHaveLength(1);
    expect(offer.skipped).toHaveLength(1);
    expect([...files, offer.skipped[0]?.path].sort()).toEqual(['proj/README', 'proj/readme']);
    expect(offer.fileCount).toBe(1);
  });

  it('B8: offers only one of two names that differ only in Unicode normalisation', async () => {
    const root = await tempDir();
    await layout(root, { 'proj/caf\u00e9.txt': 'nfc', 'proj/cafe\u0301.txt': 'nfd' });
    const offer = await scanOffer([path.join(root, 'proj')]);
    expect(offer.fileCount).toBe(1);
    expect(offer.skipped).toHaveLength(1);
  });

  it('rejects two top-level paths with the same base name', async () => {
    const root = await tempDir();
    await layout(root, { 'one/x.txt': '1', 'two/x.txt': '2', 'two/X.TXT': '3' });
    await expect(scanOffer([path.join(root, 'one/x.txt'), path.join(root, 'two/x.txt')])).rejects.toBeInstanceOf(UsageError);
    await expect(scanOffer([path.join(root, 'one/x.txt'), path.join(root, 'two/X.TXT')])).rejects.toBeInstanceOf(UsageError);
  });

  it('rejects a path that does not exist', async () => {
    const root = await tempDir();
    await expect(scanOffer([path.join(root, 'missing.txt')])).rejects.toMatchObject({ code: 'ERR_USAGE' });
    await expect(scanOffer([path.join(root, 'missing.txt')])).rejects.toBeInstanceOf(UsageError);
  });

  it('U8: offers a file named on the command line as CON.txt, a:b.txt or "trailing space "', async () => {
    const root = await tempDir();
    await layout(root, { 'CON.txt': 'x', 'a:b.txt': 'y', 'trailing space ': 'z' });
    const offer = await scanOffer(['CON.txt', 'a:b.txt', 'trailing space '].map((name) => path.join(root, name)));
    expect(offer.entries.map((e) => e.path)).toEqual(['CON.txt', 'a:b.txt', 'trailing space ']);
  });

  it('U8: refuses a named file whose name holds a newline, and shows the newline escaped', async () => {
    const root = await tempDir();
    await layout(root, { 'bad\nname': 'x' });
    const error = await scanOffer([path.join(root, 'bad\nname')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).toContain('bad\\x0aname');
  });

  it('rejects the file system root', async () => {
    await expect(scanOffer(['/'])).rejects.toBeInstanceOf(UsageError);
  });
});

describe('openSource', () => {
  it('H11: reads a file offered through a symlink named on the command line', async () => {
    const root = await tempDir();
    await layout(root, { 'real.txt': 'hello' });
    await symlink(path.join(root, 'real.txt'), path.join(root, 'link.txt'));
    const offer = await scanOffer([path.join(root, 'link.txt')]);
    expect(offer.entries).toEqual([{ kind: 'file', path: 'link.txt', size: 5 }]);
    const { handle } = await openSource(offer.sources.get(0)!);
    try {
      expect((await handle.readFile()).toString()).toBe('hello');
    } finally {
      await handle.close();
    }
  });

  it('C7: refuses a file replaced by another one since it was offered', async () => {
    const root = await tempDir();
    await layout(root, { 'a.txt': 'first' });
    const offer = await scanOffer([path.join(root, 'a.txt')]);
    // Made while the first still exists, so the two cannot share an inode number.
    await layout(root, { 'other.txt': 'other' });
    await rename(path.join(root, 'other.txt'), path.join(root, 'a.txt'));
    await expect(openSource(offer.sources.get(0)!)).rejects.toMatchObject({ code: 'ERR_SOURCE_CHANGED' });
  });
});

/**
 * Scans `paths` as a user who cannot read a file of mode 0o600 owned by someone else. As root
 * (who reads everything, whatever the mode) the scan runs in a child process that drops to
 * `nobody` after loading; otherwise in this process. Either way the file is really unreadable
 * to the scanning process: that is checked first, so the test cannot pass by accident.
 */
async function scanAsOtherUser(paths: readonly string[], unreadable: string): Promise<{ entries?: unknown[]; skipped?: unknown[]; error?: string }> {
  if (process.getuid?.() !== 0) {
    await chmod(unreadable, 0o000);
    await expect(readFile(unreadable)).rejects.toMatchObject({ code: 'EACCES' });
    try {
      const offer = await scanOffer(paths);
      return { entries: [...offer.entries], skipped: [...offer.skipped] };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }
  const fixture = fileURLToPath(new URL('./fixtures/scan-as-user.ts', import.meta.url));
  const run = (script: string, args: readonly string[]) =>
    within(
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--import', 'tsx', script, ...args], { cwd: path.dirname(fixture) }, (error, stdout) =>
          error ? reject(error) : resolve(stdout),
        );
      }),
      'the scan as another user',
      () => '',
      15_000,
    );
  const NOBODY = ['65534', '65534'];
  const out = JSON.parse(await run(fixture, [...NOBODY, unreadable, ...paths])) as {
    readError?: string;
    entries?: unknown[];
    skipped?: unknown[];
    error?: string;
  };
  expect(out.readError).toBe('EACCES');
  return out;
}

/** Makes `dir` and its parents up to `root` enterable by other users (temp folders are 0o700). */
async function openUp(root: string, dir: string): Promise<void> {
  for (let at = dir; at.startsWith(root); at = path.dirname(at)) await chmod(at, 0o755);
}

describe('unreadable files (U10)', () => {
  it('U10: skips a file inside a folder that cannot be opened for reading, with the reason, and offers the rest', async () => {
    const root = await tempDir();
    await layout(root, { 'docs/ok.txt': 'ok', 'docs/secret.txt': 'no' });
    await openUp(root, path.join(root, 'docs'));
    await chmod(path.join(root, 'docs/ok.txt'), 0o644);
    await chmod(path.join(root, 'docs/secret.txt'), 0o600);
    const result = await scanAsOtherUser([path.join(root, 'docs')], path.join(root, 'docs/secret.txt'));
    expect(result.error).toBeUndefined();
    expect(result.entries).toEqual([
      { kind: 'dir', path: 'docs' },
      { kind: 'file', path: 'docs/ok.txt', size: 2 },
    ]);
    expect(result.skipped).toEqual([{ path: 'docs/secret.txt', reason: 'file not readable: permission denied' }]);
  });

  it('U10: refuses to start with an unreadable file named on the command line, saying why', async () => {
    const root = await tempDir();
    await layout(root, { 'secret.txt': 'no' });
    await openUp(root, root);
    await chmod(path.join(root, 'secret.txt'), 0o600);
    const result = await scanAsOtherUser([path.join(root, 'secret.txt')], path.join(root, 'secret.txt'));
    expect(result.error).toMatch(/^cannot read .*secret\.txt: permission denied$/);
  });
});
