/**
 * Resume by running again: one side of a real transfer killed with SIGKILL (or the connection
 * cut with reconnecting off), then the same command run again into the same folder. What
 * travels the second time is counted by a relay; the result is compared byte for byte.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { killAt, seededCuts, startCutRelay } from '@ferry/testkit/cut-relay';
import { seededRandom } from '@ferry/testkit/faults';
import {
  assertExit,
  finishReceiver,
  hashTree,
  type JsonEvent,
  listTree,
  makeTempDir,
  partialData,
  type ReceiverRun,
  type RunningSender,
  receiveAll,
  startReceiver,
  startSender,
  type TreeEntry,
  WAIT,
  writeRandomFile,
  writeSmallFiles,
} from '@ferry/testkit/harness';

const MiB = 1024 * 1024;
/** One DATA frame: what the rerun may send beyond the missing bytes, per file. */
const DATA_FRAME = MiB;
const RUN_MS = 2 * WAIT.bigTransferMs;
/** Reconnecting off: a lost connection ends the run at once, keeping the partial data. */
const NO_RETRY = ['--retry', '0'];

/** The folder offered by the 256 MiB tests: `a-small/` (500 files, sent first) and `z-big.bin`. */
let source: string;
let expected: Record<string, TreeEntry>;
let smallBytes: number;
let totalBytes: number;
const TOTAL_FILES = 501;

beforeAll(async () => {
  const big = inject('bigFile');
  const root = await makeTempDir('rerun-src');
  source = path.join(root, 'resume');
  smallBytes = await writeSmallFiles(
    path.join(source, 'a-small'),
    500,
    64 * 1024,
    seededRandom(0x13),
  );
  await fs.link(big.path, path.join(source, 'z-big.bin'));
  totalBytes = smallBytes + big.size;
  expected = await hashTree(root);
});

/** Every event named `name`, in order. */
function eventsNamed(
  run: ReceiverRun | { events: readonly JsonEvent[] },
  name: string,
): JsonEvent[] {
  return run.events.filter((event) => event.event === name);
}

/**
 * What an interrupted run left in `out`, measured on disk: files under their final names
 * (only ever complete) and the partial files' lengths.
 */
async function heldOnDisk(
  out: string,
): Promise<{ complete: number; held: number; partials: number }> {
  let complete = 0;
  let held = 0;
  for (const entry of await listTree(out)) {
    if (entry.startsWith('.ferry-partial-')) continue;
    const stat = await fs.lstat(path.join(out, entry));
    if (!stat.isFile()) continue;
    complete++;
    held += stat.size;
  }
  const partial = await partialData(out);
  return { complete, held: held + partial.bytes, partials: partial.files };
}

/**
 * Runs the receiver again through a relay that counts what the sender sends, and checks it
 * completes by resuming, byte-identical, sending less than the missing part plus one DATA frame
 * per file not yet complete.
 */
async function rerunAndCompare(
  sender: RunningSender,
  out: string,
  label: string,
): Promise<ReceiverRun> {
  const before = await heldOnDisk(out);
  expect(before.partials, 'the interrupted run kept no partial file').toBeGreaterThan(0);
  const relay = await startCutRelay(sender.port);

  const run = await receiveAll(relay.address, out, { code: sender, timeoutMs: RUN_MS });

  assertExit(run, 0);
  expect(await hashTree(out)).toEqual(expected);
  const [found] = eventsNamed(run, 'resume-found');
  // The files partly received: what is held of them, of their whole size.
  expect(found, run.report('no resume-found')).toMatchObject({ files: before.partials });
  const heldBytes = Number(found!.heldBytes);
  expect(heldBytes).toBeGreaterThan(0);
  expect(heldBytes).toBeLessThanOrEqual(Number(found!.totalBytes));
  expect(Number(found!.totalBytes)).toBeLessThanOrEqual(totalBytes);
  // Every file complete before is "already there"; the partial ones resume from what is held.
  expect(eventsNamed(run, 'start')[0]).toMatchObject({
    resumedBytes: heldBytes,
    presentFiles: before.complete,
  });
  const done = run.last!;
  expect(Number(done.files) + Number(done.present)).toBe(TOTAL_FILES);
  expect(done.failed).toBe(0);
  const missing = totalBytes - before.held;
  const slack = (TOTAL_FILES - before.complete) * DATA_FRAME;
  const sent = relay.fromSender();
  console.info(
    `${label}: ${before.complete} files complete and ${(before.held / MiB).toFixed(1)} MiB on disk after the kill; the rerun sent ${(sent / MiB).toFixed(2)} MiB for ${(missing / MiB).toFixed(2)} MiB missing (bound ${((missing + slack) / MiB).toFixed(1)} MiB)`,
  );
  expect(sent).toBeLessThan(missing + slack);
  return run;
}

describe('D9: a side killed mid-transfer, then the receiver run again', () => {
  it(
    'D9: the receiver killed with SIGKILL and run again: completes by resuming, byte-identical, sending fewer bytes than the missing part plus one DATA frame per file',
    async () => {
      const sender = await startSender([source]);
      const out = await makeTempDir('rerun-out');
      const [at] = seededCuts(0xd9, 1, smallBytes + 32 * MiB, smallBytes + 192 * MiB);
      // Through a relay: its count is what reached the receiver (the relay keeps backpressure),
      // where --json progress comes only now and then.
      const relay = await startCutRelay(sender.port);
      const first = await startReceiver(['--yes', '--json', '--out', out, relay.address], {
        code: sender,
      });

      await killAt(first, relay.passed(at!, RUN_MS));

      await rerunAndCompare(sender, out, `D9 receiver killed after ${at} bytes`);
      await sender.stop();
    },
    2 * RUN_MS,
  );

  it(
    'D9: the sender killed with SIGKILL and restarted: the receiver learns its transfer is unknown, and run again with the new code completes by resuming, byte-identical',
    async () => {
      const first = await startSender([source]);
      const relay = await startCutRelay(first.port);
      const out = await makeTempDir('rerun-out');
      const [at] = seededCuts(0xd90, 1, smallBytes + 32 * MiB, smallBytes + 192 * MiB);
      const receiver = await startReceiver(['--yes', '--json', '--out', out, relay.address], {
        code: first,
      });

      await killAt(first.process, relay.passed(at!, RUN_MS));
      // Started again, with the same key: reconnections reach it, but it knows no ticket.
      const second = await startSender([source], [], { configDir: first.configDir });
      relay.retarget(second.port);
      const lost = await finishReceiver(receiver, RUN_MS);

      assertExit(lost, 1);
      expect(eventsNamed(lost, 'connection-lost'), lost.report('no connection-lost')).toHaveLength(
        1,
      );
      expect(lost.stderr).toMatch(/the sender no longer knows this transfer/);
      const [kept] = eventsNamed(lost, 'partial-kept');
      expect(kept, lost.report('no partial-kept')).toMatchObject({ files: expect.any(Number) });
      expect(path.dirname(String(kept!.dir))).toBe(out);

      await rerunAndCompare(second, out, `D9 sender killed after ${at} bytes`);
      await second.stop();
    },
    2 * RUN_MS,
  );
});

describe('D4: the source changed between the two runs', () => {
  let root: string;
  let changed: string;

  beforeAll(async () => {
    root = await makeTempDir('d4-src');
    changed = path.join(root, 'd4');
    // `a.bin` is sent first, and cut in its middle.
    await writeRandomFile(path.join(changed, 'a.bin'), 48 * MiB);
    await writeRandomFile(path.join(changed, 'b.bin'), 4 * MiB);
  });

  it.each([
    ['the same size, other bytes', 48 * MiB],
    ['another size, other bytes', 40 * MiB],
  ])(
    'D4: a file changed between the runs (%s) starts over and arrives as the new content',
    async (_what, newSize) => {
      const sender = await startSender([changed]);
      const relay = await startCutRelay(sender.port, [24 * MiB]);
      const out = await makeTempDir('d4-out');
      const cut = await receiveAll(relay.address, out, {
        code: sender,
        args: NO_RETRY,
        timeoutMs: RUN_MS,
      });
      assertExit(cut, 1);
      expect((await partialData(out)).bytes).toBeGreaterThan(0);
      await sender.stop();
      // The source changes, from its first byte on; the sender is started again (same key) to
      // offer it.
      await fs.rm(path.join(changed, 'a.bin'));
      await writeRandomFile(path.join(changed, 'a.bin'), newSize);
      const want = await hashTree(root);
      const again = await startSender([changed], [], { configDir: sender.configDir });

      const run = await receiveAll(again, out, { timeoutMs: RUN_MS });

      assertExit(run, 0);
      expect(await hashTree(out)).toEqual(want);
      // The part kept is shorter than either new content: only the sender's prefix check can
      // tell it differs, and both sides say so.
      expect(eventsNamed(run, 'file-restarted')).toEqual([
        { event: 'file-restarted', offered: 'd4/a.bin', reason: 'changed' },
      ]);
      await again.waitForEvent('file-restarted', (e) => e.path === 'd4/a.bin');
      await again.stop();
    },
    2 * RUN_MS,
  );
});

describe('D2: a second receive of a complete tree', () => {
  it('D2: every file is "already there", and nothing is written', async () => {
    const root = await makeTempDir('d2-src');
    await writeSmallFiles(path.join(root, 'tree'), 300, 64 * 1024, seededRandom(0xd2));
    await writeRandomFile(path.join(root, 'tree', 'medium.bin'), 8 * MiB);
    const sender = await startSender([path.join(root, 'tree')]);
    const out = await makeTempDir('d2-out');
    assertExit(await receiveAll(sender, out), 0);
    const names = await listTree(out);
    const stats = await statsOf(out, names);

    const run = await receiveAll(sender, out);

    assertExit(run, 0);
    expect(run.last).toMatchObject({ event: 'done', files: 0, present: 301, failed: 0, saved: [] });
    const present = eventsNamed(run, 'file-present');
    expect(present).toHaveLength(301);
    expect(eventsNamed(run, 'file-saved')).toEqual([]);
    // No new name, no file or folder touched: same inode, same times.
    expect(await listTree(out)).toEqual(names);
    expect(await statsOf(out, names)).toEqual(stats);
    expect(await hashTree(out)).toEqual(await hashTree(root));
    await sender.stop();
  });
});

/** Inode, size and modification time of each path, for "nothing was written". */
async function statsOf(root: string, names: readonly string[]): Promise<Record<string, string>> {
  const stats: Record<string, string> = {};
  for (const name of names) {
    const stat = await fs.lstat(path.join(root, name), { bigint: true });
    stats[name] = `${stat.ino} ${stat.size} ${stat.mtimeNs}`;
  }
  return stats;
}
