/**
 * `ferry-receive --clean <folder>`: the partial data a stopped transfer kept (a real transfer cut
 * with reconnecting off) is removed, and nothing else is.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCutRelay } from '@ferry/testkit/cut-relay';
import {
  assertExit,
  hashTree,
  makeTempDir,
  partialData,
  type RunningSender,
  receiveAll,
  runReceiver,
  startSender,
  WAIT,
  writeRandomFile,
} from '@ferry/testkit/harness';

const MiB = 1024 * 1024;
const RUN_MS = WAIT.bigTransferMs;
/** Reconnecting off: a lost connection ends the run at once, keeping the partial data. */
const NO_RETRY = ['--retry', '0'];

describe('D5: ferry-receive --clean', () => {
  let sender: RunningSender;
  let src: string;

  beforeAll(async () => {
    const root = await makeTempDir('clean-src');
    src = path.join(root, 'c');
    await writeRandomFile(path.join(src, 'a.bin'), 4 * MiB);
    await writeRandomFile(path.join(src, 'b.bin'), 32 * MiB);
    sender = await startSender([src]);
  });
  afterAll(() => sender?.stop());

  /** A run cut in `b.bin` with reconnecting off: `a.bin` saved, `b.bin` kept as partial data. */
  async function interrupted(): Promise<string> {
    const relay = await startCutRelay(sender.port, [20 * MiB]);
    const out = await makeTempDir('clean-out');
    assertExit(
      await receiveAll(relay.address, out, { code: sender, args: NO_RETRY, timeoutMs: RUN_MS }),
      1,
    );
    expect((await partialData(out)).dirs).toHaveLength(1);
    return out;
  }

  it('D5: --clean removes the partial data a stopped transfer kept, and nothing else', async () => {
    const out = await interrupted();
    const saved = await hashTree(path.join(out, 'c'));
    expect(Object.keys(saved)).toEqual(['a.bin']);
    const [dir] = (await partialData(out)).dirs;

    const run = await runReceiver(['--clean', out]);

    assertExit(run, 0);
    expect(run.stdout).toContain(dir!);
    expect((await partialData(out)).dirs).toEqual([]);
    expect(await hashTree(path.join(out, 'c'))).toEqual(saved);
  });

  it('D5: --clean --json reports each folder, and leaves one that is not ours (group and world can enter it)', async () => {
    const out = await interrupted();
    const [ours] = (await partialData(out)).dirs;
    const foreign = `.ferry-partial-${'0'.repeat(32)}`;
    await fs.mkdir(path.join(out, foreign), { mode: 0o755 });
    await fs.chmod(path.join(out, foreign), 0o755);

    const run = await runReceiver(['--clean', out, '--json']);

    assertExit(run, 0);
    expect((await partialData(out)).dirs).toEqual([foreign]);
    // One event per folder: ours removed, the other left with the reason.
    const events = run.events.filter((event) => event.event === 'clean');
    expect(events, run.report('not one event per folder')).toHaveLength(2);
    const byDir = new Map(events.map((event) => [path.basename(String(event.dir)), event]));
    expect(byDir.get(ours!), run.report('no event for the removed folder')).toMatchObject({
      result: 'removed',
    });
    expect(byDir.get(foreign), run.report('no event for the folder left')).toMatchObject({
      result: 'left',
      reason: expect.any(String),
    });
  });
});
