/** How the per-file calls run: synchronously while the disk answers fast, else through the pool. */
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, runCleanup } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BULK_READ_GATE, GatedFile, SyncGate, TURN_BUDGET_MS } from '../src/sync-gate.ts';

afterEach(async () => {
  vi.restoreAllMocks();
  await runCleanup();
});

/** A clock the gate reads, moved by hand. */
function fakeClock(): { advance(ms: number): void } {
  let now = 1_000;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  return {
    advance(ms) {
      now += ms;
    },
  };
}

/** Runs one call through the gate, in a turn of the event loop of its own, and says how it ran. */
async function how(gate: SyncGate, callMs = 0, clock?: { advance(ms: number): void }) {
  await nextTurn();
  return howNow(gate, callMs, clock);
}

/** Runs one call through the gate in this turn of the event loop and says how it ran. */
async function howNow(gate: SyncGate, callMs = 0, clock?: { advance(ms: number): void }) {
  let ran: 'sync' | 'pool' | undefined;
  await gate.run(
    () => {
      ran = 'sync';
      clock?.advance(callMs);
    },
    async () => {
      ran = 'pool';
    },
  );
  return ran;
}

/** Resolves in the next turn of the event loop, after its immediates. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('SyncGate', () => {
  it('runs calls synchronously while they are fast: the call is made before run() returns', async () => {
    const gate = new SyncGate();
    let made = false;
    const result = gate.run(
      () => {
        made = true;
        return 42;
      },
      async () => 0,
    );
    expect(made).toBe(true);
    expect(await result).toBe(42);
    expect(gate.open).toBe(true);
  });

  it("a sync call's error becomes the promise's rejection, with its system code", async () => {
    const gate = new SyncGate();
    const missing = path.join(await tempDir(), 'missing');
    const failed = gate.run(
      () => fs.lstatSync(missing),
      () => fs.promises.lstat(missing),
    );
    await expect(failed).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('one call that hangs for more than 500 ms closes it: the next calls go through the pool, until it opens again 5 s later', async () => {
    const clock = fakeClock();
    const gate = new SyncGate();
    expect(await how(gate, 501, clock)).toBe('sync');
    expect(gate.open).toBe(false);
    expect(await how(gate)).toBe('pool');
    clock.advance(4_000);
    expect(await how(gate)).toBe('pool');
    clock.advance(1_001);
    expect(await how(gate)).toBe('sync');
  });

  it('a call slowed now and then (a busy host) leaves it open; calls slow on average close it', async () => {
    const clock = fakeClock();
    const gate = new SyncGate();
    for (let call = 0; call < 200; call++) await how(gate, call % 40 === 0 ? 60 : 0.2, clock);
    expect(gate.open).toBe(true);
    let synchronous = 0;
    for (let call = 0; call < 200; call++)
      if ((await how(gate, 20, clock)) === 'sync') synchronous++;
    expect(gate.open).toBe(false);
    // The average crossed its bound within a few dozen calls.
    expect(synchronous).toBeLessThan(40);
  });

  it(`sync calls of all gates hold the event loop at most ${TURN_BUDGET_MS} ms in one turn: then the pool, until the loop turns`, async () => {
    const clock = fakeClock();
    const scan = new SyncGate();
    const writes = new SyncGate();
    // A fresh turn, whatever the tests before spent in theirs.
    await nextTurn();
    // Calls of 2 ms each, under both of a gate's bounds, as on a slow network share.
    const ran: string[] = [];
    for (let call = 0; call < 20; call++)
      ran.push((await howNow(call % 2 ? scan : writes, 2, clock)) ?? '');
    const synchronous = ran.filter((way) => way === 'sync').length;
    expect(synchronous).toBe(Math.ceil(TURN_BUDGET_MS / 2));
    expect(ran.slice(synchronous).every((way) => way === 'pool')).toBe(true);
    expect(scan.open && writes.open).toBe(true);
    await nextTurn();
    expect(await howNow(scan, 2, clock)).toBe('sync');
  });

  it('a gate for chunk reads (BULK_READ_GATE) closes on the first read that misses the page cache', async () => {
    const clock = fakeClock();
    const gate = new SyncGate(BULK_READ_GATE);
    for (let call = 0; call < 50; call++) await how(gate, 0.5, clock);
    expect(gate.open).toBe(true);
    expect(await how(gate, 9, clock)).toBe('sync');
    expect(gate.open).toBe(false);
    expect(await how(gate)).toBe('pool');
    clock.advance(5_001);
    expect(await how(gate)).toBe('sync');
  });

  it('a gate made closed never runs a call synchronously', async () => {
    const gate = new SyncGate({ sync: false });
    expect(await how(gate)).toBe('pool');
    expect(gate.open).toBe(false);
  });

  it.each([
    ['synchronous', true],
    ['through the thread pool', false],
  ] as const)(
    'GatedFile, calls %s: opens exclusively, stats, truncates and closes once',
    async (_how, sync) => {
      const gate = new SyncGate({ sync });
      const file = path.join(await tempDir(), 'a.part');
      const flags = fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL;
      const opened = await GatedFile.open(file, flags, 0o600, gate);
      fs.writeSync(opened.fd, 'hello');
      await opened.truncate(2);
      const stats = await opened.stat({ bigint: true });
      expect(stats.size).toBe(2n);
      expect(stats.ino).toBe(fs.lstatSync(file, { bigint: true }).ino);
      await opened.close();
      // A second close does not close a descriptor number the system may have given out again.
      const other = fs.openSync(file, 'r');
      await opened.close();
      expect(fs.fstatSync(other).size).toBe(2);
      fs.closeSync(other);
      await expect(GatedFile.open(file, flags, 0o600, gate)).rejects.toMatchObject({
        code: 'EEXIST',
      });
    },
  );
});
