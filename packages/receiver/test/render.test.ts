/**
 * What the receiving user sees of resume (§13): a line for every event, each fitting 80 columns
 * with what happens next, peer strings escaped; and the same events as `--json` lines that the
 * documented schemas accept.
 */
import { jsonEventProblem, RECEIVER_JSON_EVENTS } from '@ferry/cli';
import { Emitter } from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReceiveResult, ReceiverEvents } from '../src/receiver.ts';
import { renderReceiver } from '../src/ui/render.ts';
import { FakeOutput, runCleanup } from './helpers.ts';

afterEach(runCleanup);

const saved = { path: 'a.txt', offered: 'a.txt', size: 5, sha256: 'a'.repeat(64) };
const present = {
  present: true as const,
  path: 'photos/b.jpg',
  offered: 'photos/b.jpg',
  size: 2048,
  sha256: 'b'.repeat(64),
};

/** Emits one of every resume event, in the order a transfer that heals once would. */
function emitAll(events: Emitter<ReceiverEvents>, offered = 'c.bin'): void {
  events.emit('resume-found', {
    files: 3,
    heldBytes: Math.round(2.1 * 2 ** 30),
    totalBytes: 4 * 2 ** 30,
  });
  events.emit('start', {
    outDir: '/home/u/Downloads',
    files: 5,
    bytes: 4 * 2 ** 30,
    resumedBytes: Math.round(2.1 * 2 ** 30),
    presentFiles: 1,
  });
  events.emit('file-saved', saved);
  events.emit('file-present', present);
  events.emit('file-restarted', { offered, reason: 'changed' });
  events.emit('connection-lost', {
    code: 'ERR_CONNECTION_CLOSED',
    message: 'the peer reset the connection',
    retryMs: 60_000,
  });
  events.emit('reconnecting', { attempt: 1, delayMs: 250 });
  events.emit('resumed', { files: 2, heldBytes: 412 * 2 ** 20 });
  events.emit('partial-kept', {
    dir: '/home/u/Downloads/.ferry-partial-0123456789abcdef0123456789abcdef',
    files: 3,
    heldBytes: 100,
  });
}

const result: ReceiveResult = {
  outDir: '/home/u/Downloads',
  saved: [saved],
  present: [present],
  failed: [],
  declined: false,
};

describe('U4: the receiver shows what happens on a resume, in 80 columns', () => {
  it('U4: one line for each resume event says what happens next; the summary counts "already there" apart', () => {
    const events = new Emitter<ReceiverEvents>();
    const stdout = new FakeOutput(true);
    Object.assign(stdout, { columns: 80 });
    const summarise = renderReceiver(events, { stdout, stderr: new FakeOutput(), env: {} }, false);
    emitAll(events);
    summarise(result, false);
    // A redrawn status line is cleared before the next line: each counts as a line of its own.
    const text = stdout.text.replace(/\r?\u001b\[[0-9;]*[A-Za-z]/g, '\n');
    // Wrapped lines read as one, to check their words.
    const flat = text.replace(/\n +/g, ' ');
    expect(flat).toContain(
      '3 files partly received (2.10 GiB of 4.00 GiB) here by an interrupted transfer',
    );
    expect(flat).toContain(
      'Saving 5 files (4.00 GiB) to /home/u/Downloads; resuming, 2.10 GiB already here is not sent again; 1 may be there already, checked first',
    );
    expect(flat).toContain(
      'Starting over: c.bin changed since the interrupted transfer, or the part kept',
    );
    expect(flat).toContain('Lost the connection to the sender (the peer reset the connection,');
    expect(flat).toContain('reconnecting for up to 60 s...');
    expect(flat).toContain(
      'Reconnecting (attempt 1) in 0.3 s; Ctrl-C stops and keeps what arrived.',
    );
    expect(flat).toContain('Reconnected: resuming 2 files, 412 MiB not sent again.');
    expect(flat).toContain(
      '3 files partly received are kept in /home/u/Downloads/.ferry-partial-0123456789abcdef0123456789abcdef: run the same command again to resume, or ferry-receive --clean /home/u/Downloads to remove them.',
    );
    expect(flat).toContain(
      'Saved 1 file (5 B) to /home/u/Downloads, 1 already there, each verified',
    );
    // "Already there" files are counted, not listed, without --verbose.
    expect(flat).not.toContain('photos/b.jpg');
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('D2: a receive that finds every file already there says nothing was saved, and why', () => {
    const events = new Emitter<ReceiverEvents>();
    const stdout = new FakeOutput();
    const summarise = renderReceiver(events, { stdout, stderr: new FakeOutput(), env: {} }, false);
    events.emit('partial-kept', {
      dir: '/d/.ferry-partial-0123456789abcdef0123456789abcdef',
      files: 1,
      heldBytes: 9,
    });
    summarise(
      { outDir: '/d', saved: [], present: [present, present], failed: [], declined: false },
      false,
    );
    expect(stdout.lines).toEqual([
      '1 file partly received is kept in /d/.ferry-partial-0123456789abcdef0123456789abcdef: run the same command again to resume, or ferry-receive --clean /d to remove it.',
      'Nothing to save: all 2 files are already there in /d, each verified with SHA-256.',
    ]);
  });

  it('U4: --verbose lists each file already there', () => {
    const events = new Emitter<ReceiverEvents>();
    const stdout = new FakeOutput();
    renderReceiver(events, { stdout, stderr: new FakeOutput(), env: {} }, false, true);
    events.emit('file-present', present);
    expect(stdout.lines).toEqual(['Already there: photos/b.jpg (2.00 KiB); nothing written.']);
  });

  it('B5: a name from the sender is escaped before it is shown', () => {
    const events = new Emitter<ReceiverEvents>();
    const stdout = new FakeOutput();
    renderReceiver(events, { stdout, stderr: new FakeOutput(), env: {} }, false);
    events.emit('file-restarted', { offered: 'evil\u001b[2J\u0007.txt', reason: 'changed' });
    expect(stdout.text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(stdout.text).toContain('Starting over: evil');
  });

  it('S6: with --json every resume event is a documented JSON line', () => {
    const events = new Emitter<ReceiverEvents>();
    const stdout = new FakeOutput();
    const summarise = renderReceiver(events, { stdout, stderr: new FakeOutput(), env: {} }, true);
    emitAll(events);
    summarise(result, false);
    const names = stdout.lines.map((line) => (JSON.parse(line) as { event: string }).event);
    expect(names).toEqual([
      'resume-found',
      'start',
      'file-saved',
      'file-present',
      'file-restarted',
      'connection-lost',
      'reconnecting',
      'resumed',
      'partial-kept',
      'done',
    ]);
    for (const line of stdout.lines)
      expect(jsonEventProblem(RECEIVER_JSON_EVENTS, line)).toBeUndefined();
    expect(JSON.parse(stdout.lines.at(-1)!)).toMatchObject({ files: 1, present: 1, failed: 0 });
  });
});
