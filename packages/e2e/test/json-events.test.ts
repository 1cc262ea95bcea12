/**
 * S6: the real `ferry-send --json` and `ferry-receive --json`, through a transfer and through
 * the ways pairing goes wrong. Every line either prints must be an event the README documents
 * with exactly its fields (the schemas the README's tables are checked against), in the
 * documented order.
 */
import path from 'node:path';
import { jsonEventProblem, RECEIVER_JSON_EVENTS, SENDER_JSON_EVENTS } from '@ferry/cli';
import { describe, expect, it } from 'vitest';
import {
  assertExit,
  hashTree,
  type JsonEvent,
  makeTempDir,
  type RunningSender,
  receiveAll,
  startSender,
  WAIT,
  writeFileAt,
} from '@ferry/testkit/harness';

/** Every stdout line that breaks the schemas, with the line. */
function problems(events: Parameters<typeof jsonEventProblem>[0], stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .flatMap((line) => jsonEventProblem(events, line) ?? []);
}

async function offered(): Promise<{ src: string; items: string[] }> {
  const src = await makeTempDir('src');
  await writeFileAt(src, 'a.txt', 'alpha\n');
  await writeFileAt(src, 'docs/b.txt', 'bravo!\n');
  return { src, items: [path.join(src, 'a.txt'), path.join(src, 'docs')] };
}

function names(events: readonly JsonEvent[], client?: number): string[] {
  return events.filter((e) => client === undefined || e.client === client).map((e) => e.event).filter((e) => e !== 'progress');
}

async function stopped(sender: RunningSender): Promise<string> {
  expect(await sender.stop()).toEqual({ code: 130, signal: null });
  return sender.process.log.stdout;
}

describe('--json events, checked against the README (S6)', () => {
  it('S6: a transfer prints only documented events and fields, in the documented order', async () => {
    const { src, items } = await offered();
    const sender = await startSender(items);
    const out = await makeTempDir('out');
    const run = await receiveAll(sender, out);
    assertExit(run, 0);
    expect(await hashTree(out)).toEqual(await hashTree(src));
    const complete = await sender.waitForEvent('session-complete', (e) => e.client === 1);

    expect(problems(RECEIVER_JSON_EVENTS, run.stdout)).toEqual([]);
    expect(names(run.events)).toEqual(['connected', 'secured', 'offer', 'report', 'start', 'file-saved', 'file-saved', 'done']);
    const start = run.events.find((e) => e.event === 'start')!;
    expect(run.last).toMatchObject({ event: 'done', out: start.out, files: 2, failed: 0, bytes: 13, cancelled: false });
    expect(start).toMatchObject({ files: 2, bytes: 13 });

    const request = sender.events.find((e) => e.event === 'request' && e.client === 1)!;
    expect(complete).toMatchObject({ files: 2, failed: 0, bytes: request.bytes });
    expect(names(sender.events, 1)).toEqual(['connected', 'authenticated', 'hello', 'request', 'file-sent', 'file-sent', 'session-complete']);
    const stdout = await stopped(sender);
    expect(problems(SENDER_JSON_EVENTS, stdout)).toEqual([]);
    expect(sender.process.events.at(-1)).toEqual({ event: 'stopped', reason: 'interrupted' });
  });

  it('S6: a wrong code: pairing-failed names the connection; the receiver ends with a documented error', async () => {
    const { items } = await offered();
    const sender = await startSender(items);
    const wrong = sender.code() === '0000-0000' ? '1111-1111' : '0000-0000';
    const run = await receiveAll(sender, await makeTempDir('out'), { code: wrong });
    assertExit(run, 1);
    expect(problems(RECEIVER_JSON_EVENTS, run.stdout)).toEqual([]);
    expect(names(run.events)).toEqual(['connected', 'error']);
    expect(run.last).toMatchObject({ code: 'ERR_PAIRING_FAILED' });

    const failed = await sender.waitForEvent('pairing-failed', undefined, WAIT.reactMs);
    const connected = sender.events.find((e) => e.event === 'connected')!;
    expect(failed).toMatchObject({ client: connected.client, failed: 1, limit: 3 });
    await sender.waitForEvent('session-failed', (e) => e.client === connected.client, WAIT.reactMs);
    expect(problems(SENDER_JSON_EVENTS, await stopped(sender))).toEqual([]);
  });

  it('S6: no code to give: connected, code-needed, then the error, all documented', async () => {
    const { items } = await offered();
    const sender = await startSender(items);
    // An address alone: the harness gives no code, and --json never prompts.
    const run = await receiveAll(sender.address, await makeTempDir('out'));
    // A question that needs a terminal or a flag: a usage exit (README, exit codes).
    assertExit(run, 2);
    expect(problems(RECEIVER_JSON_EVENTS, run.stdout)).toEqual([]);
    expect(names(run.events)).toEqual(['connected', 'code-needed', 'error']);
    expect(run.last).toMatchObject({ code: 'ERR_CODE_REQUIRED' });
    // Hanging up to ask for the code costs no attempt (S4).
    expect(sender.events.filter((e) => e.event === 'pairing-failed')).toEqual([]);
    expect(problems(SENDER_JSON_EVENTS, await stopped(sender))).toEqual([]);
  });
});
