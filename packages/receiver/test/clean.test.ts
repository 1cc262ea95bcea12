/**
 * `ferry-receive --clean <folder>` (§13.8): removes the partial folders that are Ferry's and
 * ours, leaves any other with the reason, never touches saved files, and exits 0.
 */
import { chmod, mkdir, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PartialStore } from '@ferry/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/main.ts';
import { jsonEvents, listTree, runCleanup, runReceive, tempDir } from './helpers.ts';

afterEach(runCleanup);

/** A folder with a saved file, one partial folder of ours, and one holding what Ferry never writes. */
async function leftovers() {
  const out = await realpath(await tempDir());
  await writeFile(path.join(out, 'saved.txt'), 'kept');
  const ours = await PartialStore.create(out);
  await writeFile(path.join(ours.dir, 'state.json'), '{}', { mode: 0o600 });
  await writeFile(ours.pathOf('big.bin'), 'part', { mode: 0o600 });
  // Left as an interrupted run leaves it: its lock given up.
  await ours.release();
  const open = path.join(out, '.ferry-partial-0123456789abcdef0123456789abcdef');
  await mkdir(open, { mode: 0o700 });
  await chmod(open, 0o700);
  await writeFile(path.join(open, 'notes.txt'), 'mine', { mode: 0o600 });
  return { out, ours: ours.dir, open };
}

describe('ferry-receive --clean', () => {
  it('D5: removes our partial folder, leaves one holding what Ferry never writes (with why), keeps saved files; exit 0', async () => {
    const { out, ours, open } = await leftovers();
    const run = await runReceive(['--clean', out]);
    expect(run.code).toBe(EXIT.ok);
    expect(await listTree(out)).toEqual([
      `${path.basename(open)}/`,
      `${path.basename(open)}/notes.txt`,
      'saved.txt',
    ]);
    expect(run.stdout.text).toContain(`Removed ${ours}: partial data of an interrupted transfer.`);
    expect(run.stdout.text).toContain(
      `Left ${open}: it holds notes.txt, which Ferry does not write.`,
    );
    expect(run.stdout.text).toContain(
      'Removed 1 partial folder; files already saved there are untouched.',
    );
  });

  it('D5: with --json prints one clean event per partial folder', async () => {
    const { out, ours, open } = await leftovers();
    const run = await runReceive(['--clean', out, '--json']);
    expect(run.code).toBe(EXIT.ok);
    expect(jsonEvents(run.stdout)).toEqual([
      { event: 'clean', dir: ours, result: 'removed' },
      {
        event: 'clean',
        dir: open,
        result: 'left',
        reason: 'it holds notes.txt, which Ferry does not write',
      },
    ]);
  });

  it('J5: leaves a partial folder that a running ferry-receive holds, and says so', async () => {
    const out = await realpath(await tempDir());
    const running = await PartialStore.create(out);
    await writeFile(running.pathOf('big.bin'), 'part', { mode: 0o600 });
    const run = await runReceive(['--clean', out]);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.text).toBe(
      `Left ${running.dir}: a running ferry-receive (process ${process.pid}) is receiving into it. Run --clean again once that transfer has ended.\n`,
    );
    const json = await runReceive(['--clean', out, '--json']);
    expect(jsonEvents(json.stdout)).toEqual([
      {
        event: 'clean',
        dir: running.dir,
        result: 'left',
        reason: `a running ferry-receive (process ${process.pid}) is receiving into it`,
      },
    ]);
    await running.release();
    const after = await runReceive(['--clean', out]);
    expect(after.stdout.text).toContain(
      `Removed ${running.dir}: partial data of an interrupted transfer.`,
    );
    expect(await listTree(out)).toEqual([]);
  });

  it('D5: a folder without partial data says there is nothing to remove', async () => {
    const out = await tempDir();
    const run = await runReceive(['--clean', out]);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.text).toBe(`No partial data in ${out}: nothing to remove.\n`);
  });

  it('U12: a folder that does not exist is a usage error, exit 2, with what to do', async () => {
    const run = await runReceive(['--clean', path.join(await tempDir(), 'nope')]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toMatch(
      /--clean: the folder .*nope does not exist\nName the folder you received into\.\n/,
    );
  });
});
