/**
 * Pausing a transfer and taking it up again (PROTOCOL.md §13.9): pause closes the connection as
 * a cut that keeps the partial data and the ticket, resume reconnects with the ticket; a later
 * run given that ticket proves it instead of asking for the code. Against the real sender core,
 * encrypted, on loopback.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, FerryError, normalizeCode } from '@ferry/protocol';
import { type Identity, loadOrCreateIdentity } from '@ferry/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver, type ReceiverEvents } from '../src/receiver.ts';
import {
  EventLog,
  runCleanup,
  sha256,
  silentLogger,
  tempDir,
  within,
  startEncryptedSender,
} from './helpers.ts';

afterEach(runCleanup);

const MiB = 1024 * 1024;
const EVENTS = [
  'paused',
  'reconnecting',
  'resumed',
  'partial-kept',
  'start',
  'file-started',
  'connection-lost',
] as const;

/** A real encrypted sender offering one file of `size` random bytes. */
async function startSender(size: number) {
  const dir = await tempDir();
  const data = randomBytes(size);
  await writeFile(path.join(dir, 'f.bin'), data);
  const { log, port, code } = await startEncryptedSender([path.join(dir, 'f.bin')]);
  return { data, log, port, code: normalizeCode(code())! };
}

/** A receiver of everything into `out`, paired with `code` (or asking through `askCode`). */
function receiverOf(
  port: number,
  out: string,
  identity: Identity,
  security: {
    code?: string;
    askCode?: () => Promise<string | null>;
    resumeWith?: Receiver['offered'];
  },
  signal?: AbortSignal,
) {
  const receiver = createReceiver({
    security: { encryption: true, identity, ...security },
    host: '127.0.0.1',
    port,
    name: 'bob',
    logger: silentLogger,
    retryMs: 10_000,
    backoff: { firstMs: 20, maxMs: 80 },
    decide: async () => ({ items: [0], outDir: out }),
    signal,
  });
  return { receiver, log: new EventLog<ReceiverEvents>(receiver, [...EVENTS]) };
}

/** Pauses `receiver` once it has taken `bytes`; resolves with what pause() answered. */
function pauseAfter(receiver: Receiver, bytes: number): Promise<boolean> {
  return new Promise((resolve) => {
    let taken = 0;
    const off = receiver.on('progress', ({ bytes: more }) => {
      taken += more;
      if (taken < bytes) return;
      off();
      resolve(receiver.pause());
    });
  });
}

describe('pausing and resuming a transfer', () => {
  it('F5: pause closes the connection mid-file keeping the partial data; resume reconnects with the ticket, no code, and the file is byte-identical', async () => {
    const sender = await startSender(16 * MiB);
    const out = await tempDir();
    const { receiver, log } = receiverOf(
      sender.port,
      out,
      await loadOrCreateIdentity(await tempDir()),
      { code: sender.code },
    );
    expect(receiver.pausable).toBe(false);
    const paused = pauseAfter(receiver, MiB);
    const run = receiver.run();
    expect(await within(paused, 'the transfer to be paused')).toBe(true);
    const [pausedEvent] = await log.waitFor('paused').then(() => log.all('paused'));
    expect(pausedEvent).toEqual({ files: 1 });
    // Paused: not pausable again, and the partial data waits in the destination.
    expect(receiver.pausable).toBe(false);
    expect(receiver.pause()).toBe(false);
    expect((await readdir(out)).filter((name) => name.startsWith('.ferry-partial-'))).toHaveLength(
      1,
    );
    expect((await sender.log.waitFor('session-failed')).resumable).not.toBe(false);
    expect(receiver.resume()).toBe(true);
    const result = await within(run, 'the transfer to finish after resuming');
    expect(result.saved.map((file) => file.offered)).toEqual(['f.bin']);
    expect(sha256(await readFile(path.join(out, 'f.bin')))).toBe(sha256(sender.data));
    // The second connection proved the ticket: the code was used once.
    expect(sender.log.all('authenticated').map((event) => event.method)).toEqual([
      'code',
      'resume',
    ]);
    const [resumed] = log.all('resumed');
    expect(resumed?.files).toBe(1);
    // Only what was not held is sent again; the file restarts nothing.
    const started = log.all('file-started');
    expect(started[0]).toEqual({ id: 0, offered: 'f.bin', size: 16 * MiB, offset: 0 });
    expect(started[1]?.offset).toBe(resumed?.heldBytes);
    expect(log.all('connection-lost')).toEqual([]);
    expect(await readdir(out)).toEqual(['f.bin']);
  });

  it('F5: resume() is refused when not paused, and pause() before any file is asked for', async () => {
    const sender = await startSender(1024);
    const out = await tempDir();
    const { receiver } = receiverOf(sender.port, out, await loadOrCreateIdentity(await tempDir()), {
      code: sender.code,
    });
    let pausedWhileChoosing: boolean | undefined;
    receiver.on('offer', () => {
      pausedWhileChoosing = receiver.pause();
    });
    expect(receiver.resume()).toBe(false);
    const result = await within(receiver.run(), 'the transfer');
    expect(pausedWhileChoosing).toBe(false);
    expect(result.saved).toHaveLength(1);
    expect(receiver.pausable).toBe(false);
  });

  it('F5: Ctrl-C while paused ends the run as an interruption; the partial data is kept to resume later', async () => {
    const sender = await startSender(16 * MiB);
    const out = await tempDir();
    const controller = new AbortController();
    const { receiver, log } = receiverOf(
      sender.port,
      out,
      await loadOrCreateIdentity(await tempDir()),
      { code: sender.code },
      controller.signal,
    );
    const paused = pauseAfter(receiver, MiB);
    const run = receiver.run().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(await within(paused, 'the transfer to be paused')).toBe(true);
    await log.waitFor('paused');
    controller.abort();
    const error = await within(run, 'the run to stop');
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe(ErrorCode.CANCELLED);
    expect(log.all('partial-kept')).toHaveLength(1);
    expect(log.all('reconnecting')).toEqual([]);
  });

  it("D6: a later run given the earlier run's ticket proves it instead of a code and resumes from the partial data; a ticket the sender dropped falls back to asking the code", async () => {
    const sender = await startSender(16 * MiB);
    const out = await tempDir();
    const identity = await loadOrCreateIdentity(await tempDir());
    const controller = new AbortController();
    const first = receiverOf(sender.port, out, identity, { code: sender.code }, controller.signal);
    const paused = pauseAfter(first.receiver, MiB);
    const stopped = first.receiver.run().catch(() => undefined);
    await within(paused, 'the first run to pause');
    await first.log.waitFor('paused');
    controller.abort();
    await within(stopped, 'the first run to stop');
    const offered = first.receiver.offered;
    expect(offered?.ticket).toMatch(/^[0-9a-f]{64}$/);
    let asked = 0;
    // A code pairs once: the sender shows a new one after it was used.
    const askCode = async () => {
      asked++;
      return normalizeCode(sender.log.all('code').at(-1)!.code) ?? null;
    };
    const second = receiverOf(sender.port, out, identity, { askCode, resumeWith: offered });
    const result = await within(second.receiver.run(), 'the second run');
    expect(asked).toBe(0);
    expect(sender.log.all('authenticated').map((event) => event.method)).toEqual([
      'code',
      'resume',
    ]);
    expect(second.log.all('start')[0]?.resumedBytes).toBeGreaterThan(0);
    expect(result.saved).toHaveLength(1);
    expect(sha256(await readFile(path.join(out, 'f.bin')))).toBe(sha256(sender.data));
    // The transfer completed, so the sender dropped its ticket: the code is asked for again.
    const out2 = await tempDir();
    const third = receiverOf(sender.port, out2, identity, { askCode, resumeWith: offered });
    await within(third.receiver.run(), 'the third run');
    expect(asked).toBe(1);
    expect(sender.log.all('authenticated').map((event) => event.method)).toEqual([
      'code',
      'resume',
      'code',
    ]);
  });
});
