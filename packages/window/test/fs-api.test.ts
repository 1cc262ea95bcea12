import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCleanup, tempDir } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import { folderNameProblem } from '../src/server/fs-api.ts';
import { MAX_RECENT, RECENT_FILE } from '../src/index.ts';
import { post, startTestWindow } from './helpers.ts';

const execFileAsync = promisify(execFile);

afterEach(runCleanup);

describe('the file browser', () => {
  it('W7: lists home by default, folders first, names in order, hidden entries only on request', async () => {
    const w = await startTestWindow();
    await writeFile(path.join(w.home, 'b.txt'), 'bb');
    await writeFile(path.join(w.home, 'a10.txt'), 'a');
    await writeFile(path.join(w.home, 'a9.txt'), 'a');
    await writeFile(path.join(w.home, '.secret'), 's');
    await mkdir(path.join(w.home, 'Zeta'));
    await mkdir(path.join(w.home, '.config'));
    await symlink(path.join(w.home, 'Zeta'), path.join(w.home, 'link-to-zeta'));
    await symlink(path.join(w.home, 'missing'), path.join(w.home, 'dangling'));
    const { status, json } = await post(w, '/api/fs/list', {});
    expect(status).toBe(200);
    const listing = json.value;
    expect(listing).toMatchObject({
      path: w.home,
      parent: path.dirname(w.home),
      home: w.home,
      roots: ['/'],
      recent: [],
      sep: '/',
      truncated: false,
    });
    expect(
      listing.entries.map((e: { name: string; kind: string }) => `${e.kind}:${e.name}`),
    ).toEqual([
      'dir:link-to-zeta',
      'dir:Zeta',
      'file:a9.txt',
      'file:a10.txt',
      'file:b.txt',
      'other:dangling',
    ]);
    expect(listing.entries.find((e: { name: string }) => e.name === 'b.txt')).toMatchObject({
      size: 2,
    });
    const hidden = (await post(w, '/api/fs/list', { path: w.home, hidden: true })).json.value;
    expect(hidden.entries.map((e: { name: string }) => e.name)).toEqual(
      expect.arrayContaining(['.config', '.secret', 'Zeta', 'b.txt']),
    );
    expect(hidden.entries[0]).toMatchObject({ name: '.config', kind: 'dir' });
    const root = (await post(w, '/api/fs/list', { path: '/' })).json.value;
    expect(root.parent).toBeNull();
  });

  it('W7: a relative path, a missing folder, a file and an over-long request are refused in words', async () => {
    const w = await startTestWindow();
    await writeFile(path.join(w.home, 'file'), 'x');
    expect(await post(w, '/api/fs/list', { path: '../etc' })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_BAD_REQUEST' } },
    });
    expect(await post(w, '/api/fs/list', { path: path.join(w.home, 'none') })).toMatchObject({
      status: 404,
      json: { error: { code: 'ERR_NOT_FOUND' } },
    });
    expect(await post(w, '/api/fs/list', { path: path.join(w.home, 'file') })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_NOT_FOLDER' } },
    });
    expect(await post(w, '/api/fs/list', { path: 5 })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_BAD_REQUEST' } },
    });
    expect(await post(w, '/api/fs/list', { path: `/${'a'.repeat(5000)}` })).toMatchObject({
      status: 400,
    });
  });

  it('W7: a folder this user cannot read is refused with "You cannot read this folder", as the system decides', async () => {
    const base = await tempDir();
    const locked = path.join(base, 'locked');
    await mkdir(locked, { mode: 0o700 });
    await writeFile(path.join(locked, 'inside'), 'x');
    const { chmod } = await import('node:fs/promises');
    await chmod(base, 0o755);
    await chmod(locked, 0o000);
    // Root reads every folder: the listing runs as another user there, as it would for a user.
    const asOther = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const fixture = path.join(import.meta.dirname, 'fixtures', 'list-folder.ts');
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', fixture, locked], {
      ...asOther,
      cwd: import.meta.dirname,
      timeout: 15_000,
    });
    await chmod(locked, 0o700);
    const outcome = JSON.parse(stdout.trim()) as { code: string; status: number; message: string };
    expect(outcome).toMatchObject({ code: 'ERR_FOLDER_UNREADABLE', status: 403 });
    expect(outcome.message).toBe(`You cannot read this folder: ${locked}. Pick another one.`);
  });

  it('W7: makes a new folder, never over an existing file or folder, and refuses names no system should get', async () => {
    const w = await startTestWindow();
    const made = await post(w, '/api/fs/mkdir', { parent: w.home, name: 'Photos été' });
    expect(made).toEqual({
      status: 200,
      json: { ok: true, value: { path: path.join(w.home, 'Photos été') } },
    });
    await writeFile(path.join(w.home, 'taken'), 'keep me');
    expect(await post(w, '/api/fs/mkdir', { parent: w.home, name: 'taken' })).toMatchObject({
      status: 409,
      json: { error: { code: 'ERR_EXISTS' } },
    });
    expect(await readFile(path.join(w.home, 'taken'), 'utf8')).toBe('keep me');
    expect(await post(w, '/api/fs/mkdir', { parent: w.home, name: 'Photos été' })).toMatchObject({
      status: 409,
    });
    for (const name of [
      '.',
      '..',
      'a/b',
      'a\\b',
      '../up',
      'nul\u0000',
      'rtl\u202etxt.exe',
      ' ',
      '\u2025',
    ]) {
      const answer = await post(w, '/api/fs/mkdir', { parent: w.home, name });
      expect(answer, JSON.stringify(name)).toMatchObject({
        status: 400,
        json: { error: { code: 'ERR_BAD_NAME' } },
      });
    }
    expect(await post(w, '/api/fs/mkdir', { parent: 'relative', name: 'x' })).toMatchObject({
      status: 400,
    });
    expect(
      await post(w, '/api/fs/mkdir', { parent: path.join(w.home, 'none'), name: 'x' }),
    ).toMatchObject({ status: 404 });
    expect((await readdir(w.home)).sort()).toEqual(['Photos été', 'taken']);
    for (const name of ['CON', 'com1.txt', 'a:b', 'end.', 'end '])
      expect(folderNameProblem(name, 'win32'), name).toBeDefined();
    expect(folderNameProblem('a:b', 'linux')).toBeUndefined();
    expect(folderNameProblem('Notes 2026', 'win32')).toBeUndefined();
  });

  it('says how much space is free where a folder is', async () => {
    const w = await startTestWindow();
    const { json } = await post(w, '/api/fs/space', { path: w.home });
    expect(typeof json.value.free).toBe('number');
    expect(json.value.free).toBeGreaterThan(0);
    expect(
      (await post(w, '/api/fs/space', { path: path.join(w.home, 'none') })).json.value,
    ).toEqual({ free: null });
  });

  it('keeps the last 10 folders picked, newest first, in the config folder; a broken file is ignored and replaced', async () => {
    const w = await startTestWindow();
    await writeFile(path.join(w.configDir, RECENT_FILE), '{ not json');
    const folders: string[] = [];
    for (let i = 0; i < MAX_RECENT + 2; i++) {
      const folder = path.join(w.home, `f${i}`);
      await mkdir(folder);
      folders.push(folder);
      expect((await post(w, '/api/fs/recent', { path: folder })).status).toBe(200);
    }
    await post(w, '/api/fs/recent', { path: folders[5]! });
    const expected = [
      folders[5]!,
      ...folders
        .slice(2)
        .reverse()
        .filter((f) => f !== folders[5]),
    ].slice(0, MAX_RECENT);
    expect((await post(w, '/api/fs/list', {})).json.value.recent).toEqual(expected);
    const saved = JSON.parse(await readFile(path.join(w.configDir, RECENT_FILE), 'utf8'));
    expect(saved).toEqual({ version: 1, folders: expected });
    expect(await post(w, '/api/fs/recent', { path: path.join(w.home, 'none') })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_NOT_FOLDER' } },
    });
    const again = await startTestWindow({ configDir: w.configDir });
    expect((await post(again, '/api/fs/list', {})).json.value.recent).toEqual(expected);
  });
});
