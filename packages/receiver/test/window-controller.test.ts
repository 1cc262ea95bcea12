/**
 * The receiving window's controller against a window in memory (its `set` and `action`, every
 * slice checked against the state schema) and the real sender core on loopback: the phases
 * find → connecting → code → choose → transferring → done or failed, the actions of each, pause
 * and resume, Try again after a cut, and refusals in plain words.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createFakeNetwork } from '@ferry/discovery/testing';
import { loadOrCreateIdentity } from '@ferry/protocol/node';
import { startCutRelay } from '@ferry/testkit/cut-relay';
import { RECEIVE_SLICES } from '@ferry/window/state/receive';
import { FakeWindow as MemoryWindow } from '@ferry/window/testing';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../src/receiver.ts';
import { createReceiveController, type RunSpec, targetOf } from '../src/window/controller.ts';
import {
  FakeOutput,
  onCleanup,
  runCleanup,
  sha256,
  silentLogger,
  startRealSender,
  tempDir,
  unusedPort,
  within,
  startEncryptedSender,
} from './helpers.ts';

afterEach(runCleanup);

const MiB = 1024 * 1024;

/** The receiving window's slices in memory (see `@ferry/window/testing`), with waits on them. */
class FakeWindow extends MemoryWindow {
  constructor() {
    super(RECEIVE_SLICES, { collectInvalid: true });
  }

  /** Resolves once `test` holds for the slices, failing with them after WAIT_MS. */
  until(what: string, test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    let stop = () => {};
    const waiting = new Promise<void>((resolve) => {
      stop = this.onChange(() => {
        if (test()) resolve();
      });
    });
    return within(waiting, what, () =>
      JSON.stringify(Object.fromEntries(this.slices), null, 1).slice(0, 4000),
    ).finally(stop);
  }

  phase(phase: string): Promise<void> {
    return this.until(
      `phase ${phase}`,
      () => this.get<{ phase: string }>('phase')?.phase === phase,
    );
  }
}

interface Setup {
  encryption?: boolean;
  identityDir?: string;
  retryMs?: number;
  browser?: ReturnType<ReturnType<typeof createFakeNetwork>['browser']>;
}

/** A controller on a FakeWindow whose runs are real receiver cores; the receivers it made. */
async function controller(setup: Setup = {}) {
  const window = new FakeWindow();
  const abort = new AbortController();
  const home = await tempDir();
  const defaultFolder = path.join(home, 'Downloads');
  const receivers: Receiver[] = [];
  const opened: string[] = [];
  const identity = setup.encryption
    ? await loadOrCreateIdentity(setup.identityDir ?? (await tempDir()))
    : undefined;
  const makeReceiver = (spec: RunSpec) => {
    const receiver = createReceiver({
      security: identity
        ? {
            encryption: true,
            identity,
            askCode: spec.askCode,
            resumeWith: spec.resumeWith,
            announcedKey: spec.target.announcedKey,
          }
        : { encryption: false },
      host: spec.target.host,
      port: spec.target.port,
      name: 'bob',
      logger: process.env.DEBUG_LOG ? pino({ level: 'debug' }, pino.destination(2)) : silentLogger,
      retryMs: setup.retryMs ?? 0,
      backoff: { firstMs: 20, maxMs: 80 },
      decide: spec.decide,
      signal: spec.signal,
    });
    receivers.push(receiver);
    return receiver;
  };
  const control = createReceiveController({
    window,
    logger: silentLogger,
    makeReceiver,
    browser: setup.browser,
    io: { stdout: new FakeOutput(), stderr: new FakeOutput(), env: {} },
    json: false,
    home,
    defaultFolder,
    openFolder: async (dir) => {
      opened.push(dir);
    },
    signal: abort.signal,
  });
  onCleanup('window controller', async () => {
    abort.abort();
    await control.idle().catch(() => {});
  });
  return { window, control, receivers, opened, home, defaultFolder, abort };
}

async function sources(
  files: Record<string, Buffer | string>,
): Promise<{ dir: string; paths: string[] }> {
  const dir = await tempDir();
  const paths: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
    if (!name.includes('/')) paths.push(path.join(dir, name));
  }
  return { dir, paths };
}

describe('the receiving window controller', () => {
  it('takes the chosen items into the folder picked, phase by phase, and shows each saved file with its digest', async () => {
    const { dir } = await sources({
      'a.txt': 'alpha\n',
      'photos/b.bin': randomBytes(70_000),
      'c.txt': 'not taken',
    });
    const sender = await startRealSender([
      path.join(dir, 'a.txt'),
      path.join(dir, 'photos'),
      path.join(dir, 'c.txt'),
    ]);
    const { window, control, opened } = await controller();
    control.start(targetOf('127.0.0.1', sender.port));
    await window.phase('choose');
    const offer = window.get<{
      items: { name: string; files: number; bytes: number }[];
      files: number;
    }>('offer');
    expect(offer.items.map((item) => [item.name, item.files, item.bytes])).toEqual([
      ['a.txt', 1, 6],
      ['photos', 1, 70_000],
      ['c.txt', 1, 9],
    ]);
    expect(window.get<{ address: string }>('peer')).toMatchObject({
      encrypted: false,
      name: 'real-sender',
    });
    const out = await tempDir();
    const report = (await window.call('inspect', { items: [0, 1], out })) as {
      files: number;
      enoughSpace: boolean;
    };
    expect(report).toMatchObject({ files: 2, bytes: 70_006, enoughSpace: true, outDir: out });
    expect(window.get('choice')).toEqual({ items: [0, 1], out });
    await window.call('accept', { items: [0, 1], out });
    await window.phase('done');
    const result = window.get<{
      saved: { offered: string; sha256: string; size: number }[];
      outDir: string;
    }>('result');
    expect(result.outDir).toBe(out);
    expect(result.saved.map((file) => file.offered).sort()).toEqual(['a.txt', 'photos/b.bin']);
    for (const file of result.saved)
      expect(file.sha256).toBe(sha256(await readFile(path.join(dir, file.offered))));
    expect((await readdir(out)).sort()).toEqual(['a.txt', 'photos']);
    const progress = window.get<{ done: number; bytes: number; counts: { saved: number } }>(
      'progress',
    );
    expect(progress).toMatchObject({
      done: 70_006,
      bytes: 70_006,
      counts: { saved: 2, present: 0, failed: 0 },
    });
    await window.call('open-folder');
    expect(opened).toEqual([out]);
    // The process stays up: the window can receive again.
    await window.call('again');
    await window.phase('find');
    expect(window.get('result')).toBeNull();
    expect(window.invalid).toEqual([]);
  });

  it('two accepts sent at once: the first is taken, the second refused, and the transfer keeps the first choice', async () => {
    const { dir } = await sources({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    const sender = await startRealSender([path.join(dir, 'a.txt'), path.join(dir, 'b.txt')]);
    const { window, control } = await controller();
    control.start(targetOf('127.0.0.1', sender.port));
    await window.phase('choose');
    const first = await tempDir();
    const second = await tempDir();
    const answers = await Promise.allSettled([
      window.call('accept', { items: [0], out: first }),
      window.call('accept', { items: [1], out: second }),
    ]);
    expect(answers[0]!.status).toBe('fulfilled');
    expect(answers[1]).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'ERR_NOT_NOW',
        message: 'These files are being accepted already: wait a moment.',
      },
    });
    await window.phase('done');
    expect(window.get<{ outDir: string }>('result').outDir).toBe(first);
    expect(await readdir(first)).toEqual(['a.txt']);
    expect(await readdir(second)).toEqual([]);
    expect(window.invalid).toEqual([]);
  });

  it('asks for the pairing code in the window, refuses what is not a code without echoing it, and pairs with the right one', async () => {
    const { paths } = await sources({ 'a.txt': 'paired\n' });
    const sender = await startEncryptedSender(paths);
    const { window, control } = await controller({ encryption: true });
    control.start(targetOf('127.0.0.1', sender.port));
    await window.phase('code');
    expect(window.get<{ fingerprint: string }>('pairing').fingerprint).toMatch(
      /^[0-9A-F]{4}( [0-9A-F]{4}){3}$/,
    );
    const refused = await window.refusal('code', { code: 'not-a-code 42' });
    expect(refused.code).toBe('ERR_BAD_CODE');
    expect(refused.message).not.toContain('42');
    await window.call('code', { code: sender.code() });
    await window.phase('choose');
    expect(window.get('pairing')).toBeNull();
    expect(window.get('peer')).toMatchObject({ encrypted: true, method: 'code', name: 'alice' });
    const out = await tempDir();
    await window.call('accept', { items: [0], out });
    await window.phase('done');
    expect(await readFile(path.join(out, 'a.txt'), 'utf8')).toBe('paired\n');
    expect(window.invalid).toEqual([]);
  });

  it('F5: pause and resume in the window close the connection and take the transfer up again with the ticket; the file is byte-identical', async () => {
    const data = randomBytes(16 * MiB);
    const { paths } = await sources({ 'big.bin': data });
    const sender = await startEncryptedSender(paths);
    const { window, control, receivers } = await controller({ encryption: true });
    control.start(targetOf('127.0.0.1', sender.port));
    await window.phase('code');
    await window.call('code', { code: sender.code() });
    await window.phase('choose');
    const out = await tempDir();
    // Paused from the first progress on, as a click would.
    const paused = new Promise<unknown>((resolve) => {
      const off = receivers.at(-1)!.on('progress', () => {
        off();
        resolve(window.call('pause'));
      });
    });
    await window.call('accept', { items: [0], out });
    await within(paused, 'the pause action');
    await window.until(
      'the progress to show paused',
      () => window.get<{ state: string } | null>('progress')?.state === 'paused',
    );
    expect((await window.refusal('pause')).code).toBe('ERR_CANNOT_PAUSE');
    await window.call('resume');
    await window.phase('done');
    expect(sha256(await readFile(path.join(out, 'big.bin')))).toBe(sha256(data));
    expect(sender.log.all('authenticated').map((event) => event.method)).toEqual([
      'code',
      'resume',
    ]);
    expect(window.invalid).toEqual([]);
  });

  it('F5: a cut with reconnecting off fails in plain words with the partial data kept; Try again resumes with the same choice and no code', async () => {
    const data = randomBytes(16 * MiB);
    const { paths } = await sources({ 'big.bin': data });
    const sender = await startEncryptedSender(paths);
    // The first connection only asks for the code; the second is cut mid-file.
    const relay = await startCutRelay(sender.port, [Number.POSITIVE_INFINITY, 12 * MiB]);
    const { window, control } = await controller({ encryption: true, retryMs: 0 });
    control.start(targetOf('127.0.0.1', relay.port));
    await window.phase('code');
    await window.call('code', { code: sender.code() });
    await window.phase('choose');
    const out = await tempDir();
    await window.call('accept', { items: [0], out });
    await window.phase('failed');
    const error = window.get<{
      retry: boolean;
      next: string;
      kept: { files: number } | null;
      message: string;
    }>('error');
    expect(error.retry).toBe(true);
    expect(error.kept).toMatchObject({ files: 1 });
    expect(error.next).toContain('Try again');
    await window.call('retry');
    await window.phase('done');
    expect(sha256(await readFile(path.join(out, 'big.bin')))).toBe(sha256(data));
    // The retry proved the ticket: no second code, and the same item and folder without asking.
    expect(sender.log.all('authenticated').map((event) => event.method)).toEqual([
      'code',
      'resume',
    ]);
    expect(relay.connections.length).toBe(3);
    expect(window.invalid).toEqual([]);
  });

  it('lists the senders found on the network and connects to one by its number', async () => {
    const { paths } = await sources({ 'a.txt': 'found\n' });
    const sender = await startRealSender(paths);
    const network = createFakeNetwork();
    await network.announcer({ address: '127.0.0.1', hostname: 'loopback' }).start({
      name: '<img src=x onerror=alert(1)>',
      port: sender.port,
      encrypted: false,
      chat: false,
    });
    const { window, control } = await controller({ browser: network.browser() });
    control.start();
    await window.until(
      'the search to end',
      () => window.get<{ searching: boolean }>('senders')?.searching === false,
    );
    const senders = window.get<{ found: { number: number; name: string; address: string }[] }>(
      'senders',
    );
    expect(senders.found).toEqual([
      expect.objectContaining({
        number: 1,
        name: '<img src=x onerror=alert(1)>',
        address: `127.0.0.1:${sender.port}`,
      }),
    ]);
    await window.call('connect', { number: 1 });
    await window.phase('choose');
    expect(window.get<{ address: string }>('phase').address).toBe(`127.0.0.1:${sender.port}`);
    expect((await window.refusal('connect', { number: 1 })).code).toBe('ERR_NOT_NOW');
    expect(window.invalid).toEqual([]);
  });

  it('says in plain words what failed and what to do next: nobody listening, a folder that cannot be used, a bad address', async () => {
    const { window, control } = await controller();
    control.start();
    expect((await window.refusal('connect', { address: 'not an address:x:y' })).code).toBe(
      'ERR_BAD_ADDRESS',
    );
    await window.call('connect', { address: `127.0.0.1:${await unusedPort()}` });
    await window.phase('failed');
    const error = window.get<{ message: string; next: string; retry: boolean }>('error');
    expect(error.message).toMatch(
      /^Connection refused by 127\.0\.0\.1:\d+: no ferry-send is listening there\.$/,
    );
    expect(error.next).toMatch(/Check the address/);
    expect(error.retry).toBe(true);
    const { paths } = await sources({ 'a.txt': 'x' });
    const sender = await startRealSender(paths);
    await window.call('again');
    await window.call('connect', { address: `127.0.0.1:${sender.port}` });
    await window.phase('choose');
    const missing = path.join(await tempDir(), 'nope');
    expect(await window.refusal('inspect', { items: [0], out: missing })).toMatchObject({
      code: 'ERR_FOLDER',
    });
    expect(await window.refusal('accept', { items: [5], out: await tempDir() })).toMatchObject({
      code: 'ERR_BAD_REQUEST',
    });
    expect(window.invalid).toEqual([]);
  });

  it('declining says nothing was received; cancelling while choosing goes back to the start and tells the sender', async () => {
    const { paths } = await sources({ 'a.txt': 'x' });
    const sender = await startRealSender(paths);
    const { window, control } = await controller();
    control.start(targetOf('127.0.0.1', sender.port));
    await window.phase('choose');
    await window.call('decline');
    await window.phase('done');
    expect(window.get('result')).toMatchObject({ declined: true, saved: [] });
    await window.call('again');
    await window.call('connect', { address: `127.0.0.1:${sender.port}` });
    await window.phase('choose');
    await window.call('cancel');
    await window.phase('find');
    expect(window.get('offer')).toBeNull();
    await within(
      sender.log.waitFor('session-failed').then(() => undefined),
      'the sender to be told',
    );
    expect(window.invalid).toEqual([]);
  });

  it('quit resolves, whatever is under way', async () => {
    const { window, control } = await controller();
    control.start();
    await window.call('quit');
    await within(control.quit, 'quit');
  });
});
