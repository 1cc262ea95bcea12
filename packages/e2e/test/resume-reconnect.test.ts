/**
 * Resume by reconnecting: a real ferry-send and ferry-receive with a relay between them that
 * resets the connection at seeded byte offsets. The receiver reconnects by itself (no code,
 * no question) and continues every unfinished file; the result is compared byte for byte.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CutRelay, seededCuts, startCutRelay } from '@ferry/testkit/cut-relay';
import { seededRandom } from '@ferry/testkit/faults';
import {
  assertExit,
  hashTree,
  type JsonEvent,
  makeTempDir,
  type ReceiverRun,
  type RunningSender,
  receiveAll,
  startSender,
  type TreeEntry,
  WAIT,
  writeSmallFiles,
} from '@ferry/testkit/harness';

const MiB = 1024 * 1024;
/** What one cut may cost at most: bytes in flight and not yet on disk, sent again (the bench's bar). */
const PER_CUT_BYTES = 8 * MiB;
/** A run with several reconnections moves the 256 MiB file and more: a generous bound. */
const RUN_MS = 3 * WAIT.bigTransferMs;
/** The codes of a lost connection, after which the receiver reconnects (never a protocol error). */
const CONNECTION_CODES = ['ERR_TRUNCATED', 'ERR_CONNECTION_CLOSED', 'ERR_TIMEOUT'];

let sender: RunningSender;
/** The one folder offered: `a-small/` (500 files, sent first) and `z-big.bin` (256 MiB). */
let source: string;
let expected: Record<string, TreeEntry>;
let smallBytes: number;
let totalBytes: number;

beforeAll(async () => {
  const big = inject('bigFile');
  const root = await makeTempDir('resume-src');
  source = path.join(root, 'resume');
  smallBytes = await writeSmallFiles(
    path.join(source, 'a-small'),
    500,
    64 * 1024,
    seededRandom(0x12),
  );
  // A hard link to the run's big file: no copy.
  await fs.link(big.path, path.join(source, 'z-big.bin'));
  totalBytes = smallBytes + big.size;
  expected = await hashTree(root);
  sender = await startSender([source]);
});
afterAll(() => sender?.stop());

/** Every event named `name`, in order. */
function eventsNamed(run: ReceiverRun, name: string): JsonEvent[] {
  return run.events.filter((event) => event.event === name);
}

/** The run completed with every file byte-identical and no partial data left behind. */
async function expectComplete(run: ReceiverRun, out: string): Promise<void> {
  assertExit(run, 0);
  expect(run.last, run.report('the last event is not done')).toMatchObject({
    event: 'done',
    files: 501,
    failed: 0,
  });
  // Exactly the source tree: nothing missing, nothing renamed, no `.ferry-partial-*` left.
  expect(await hashTree(out)).toEqual(expected);
}

/** What the cuts cost: the sender's bytes over every connection, against the files' size. */
function describeCost(relay: CutRelay): string {
  const perConnection = relay.connections
    .map((c) => `${(c.fromSender / MiB).toFixed(1)}${c.cut ? ' (cut)' : ''}`)
    .join(', ');
  return `sent ${(relay.fromSender() / MiB).toFixed(1)} MiB for ${(totalBytes / MiB).toFixed(1)} MiB of files (+${((relay.fromSender() - totalBytes) / MiB).toFixed(2)} MiB) over connections of ${perConnection} MiB`;
}

describe('F5: a connection cut mid-transfer heals by itself', () => {
  it.each([
    [0x5eed1, 3],
    [0x5eed2, 3],
  ])(
    'F5: a 256 MiB file and 500 small files, the connection cut at seeded offsets (seed %i, %i cuts): completes by reconnecting with no user action, byte-identical',
    async (seed, count) => {
      // The first cut falls among the small files (sent first), the others in the big file;
      // each connection carries more than its cut, so every cut fires.
      const [first] = seededCuts(seed, 1, 256 * 1024, Math.floor(smallBytes * 0.75));
      const cuts = [first!, ...seededCuts(seed + 1, count - 1, 4 * MiB, 64 * MiB)];
      const relay = await startCutRelay(sender.port, cuts);
      const out = await makeTempDir('resume-out');

      const run = await receiveAll(relay.address, out, { code: sender, timeoutMs: RUN_MS });

      await expectComplete(run, out);
      expect(relay.connections.map((c) => c.cut)).toEqual([...cuts.map(() => true), false]);
      // Every connection after the first came back by itself: one loss, one resumption each.
      expect(eventsNamed(run, 'connection-lost')).toHaveLength(count);
      expect(eventsNamed(run, 'resumed')).toHaveLength(count);
      expect(eventsNamed(run, 'code-needed')).toEqual([]);
      // Only what was in flight at each cut travelled twice.
      expect(relay.fromSender(), describeCost(relay)).toBeLessThanOrEqual(
        totalBytes + count * PER_CUT_BYTES,
      );
      console.info(`F5 seed ${seed}: cuts at ${cuts.join(', ')}; ${describeCost(relay)}`);
    },
    RUN_MS + 30_000,
  );

  it(
    'F5: --json: a resumed run reports connection-lost, reconnecting and resumed, and the sender reports session-resumed',
    async () => {
      const since = sender.events.length;
      // One cut in the big file, well after the small files.
      const relay = await startCutRelay(sender.port, [smallBytes + 96 * MiB]);
      const out = await makeTempDir('resume-json');

      const run = await receiveAll(relay.address, out, { code: sender, timeoutMs: RUN_MS });

      await expectComplete(run, out);
      const names = run.events.map((event) => event.event).filter((name) => name !== 'progress');
      const lost = names.indexOf('connection-lost');
      expect(lost, run.report('no connection-lost')).toBeGreaterThan(names.indexOf('start'));
      // Lost, then at least one attempt, then resumed; the files after that, then done.
      expect(names.slice(lost, names.indexOf('resumed') + 1)).toEqual([
        'connection-lost',
        ...names.slice(lost + 1, names.indexOf('resumed')).map(() => 'reconnecting'),
        'resumed',
      ]);
      expect(names.at(-1)).toBe('done');
      const [lostEvent] = eventsNamed(run, 'connection-lost');
      expect(CONNECTION_CODES).toContain(lostEvent!.code);
      expect(lostEvent).toMatchObject({ retryMs: 60_000, message: expect.any(String) });
      const attempts = eventsNamed(run, 'reconnecting');
      expect(attempts.length).toBeGreaterThanOrEqual(1);
      expect(attempts[0]).toMatchObject({ attempt: 1, delayMs: 250 });
      const [resumed] = eventsNamed(run, 'resumed');
      // The big file was under way: it is resumed, with what was on disk not sent again.
      expect(resumed).toMatchObject({ files: 1 });
      expect(Number(resumed!.heldBytes)).toBeGreaterThan(0);
      expect(Number(resumed!.heldBytes)).toBeLessThanOrEqual(96 * MiB);
      expect(relay.fromSender()).toBeLessThanOrEqual(totalBytes + PER_CUT_BYTES);
      // The sender saw the same: one session lost, the next one resumed with the held bytes.
      const resumedOnSender = await sender.waitForEvent(
        'session-resumed',
        (e) => sender.events.indexOf(e) >= since,
      );
      expect(resumedOnSender).toMatchObject({ files: 1, skippedBytes: resumed!.heldBytes });
      console.info(`F5 --json: resumed ${JSON.stringify(resumed)}; ${describeCost(relay)}`);
    },
    RUN_MS + 30_000,
  );
});
