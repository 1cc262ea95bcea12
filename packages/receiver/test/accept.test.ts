/**
 * What happens between the offer and the request: folders counted and limited (K4), PINGs while
 * busy (K5), paths the destination cannot hold (K9), the folder checked when chosen (U3), and
 * the report before accepting (U9).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  FrameType,
  LIMITS,
  type OfferEntry,
  type ValidatedEntry,
  validateOffer,
} from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countFolders,
  FOLDER_DISK_BYTES,
  type PathLimits,
  planDestination,
} from '@ferry/engine';
import { EXIT } from '../src/main.ts';
import type { Prompter } from '../src/ui/prompts.ts';
import {
  clearReceiver,
  type FakePeer,
  jsonEvents,
  listTree,
  runCleanup,
  runReceive,
  sha256,
  startFakeSender,
  tempDir,
  within,
} from './helpers.ts';

afterEach(runCleanup);

function sendFile(peer: FakePeer, id: number, content: string): void {
  peer.send(FrameType.FILE_START, { id, offset: 0, size: Buffer.byteLength(content) });
  if (content !== '') peer.data(content);
  peer.send(FrameType.FILE_END, { id, sha256: sha256(content) });
}

/** Serves `entries`, then the requested files (content: the path), then END; returns the requested ids. */
function serve(entries: OfferEntry[]) {
  const requested: number[] = [];
  const pingsBeforeRequest: number[] = [];
  const script = async (peer: FakePeer) => {
    await peer.offer(entries);
    let pings = 0;
    for (;;) {
      const frame = await peer.next();
      if (frame === null) return;
      if (frame.type === FrameType.PING) pings++;
      if (frame.type === FrameType.REQUEST) break;
      if (frame.type === FrameType.ERROR) return;
    }
    pingsBeforeRequest.push(pings);
    const request = peer.frames.find((f) => f.type === FrameType.REQUEST)?.message as {
      files: { id: number }[];
    };
    for (const { id } of request.files) {
      requested.push(id);
      const entry = entries[id]!;
      sendFile(peer, id, 'x'.repeat(entry.kind === 'file' ? entry.size : 0));
    }
    peer.send(FrameType.END, {});
    for (
      let frame = await peer.next();
      frame && frame.type !== FrameType.DONE;
      frame = await peer.next()
    ) {}
  };
  return { script, requested, pingsBeforeRequest };
}

function validated(entries: OfferEntry[]): ValidatedEntry[] {
  return [...validateOffer(entries).entries];
}

const file = (p: string, size = 1): OfferEntry => ({ kind: 'file', path: p, size });
const dir = (p: string): OfferEntry => ({ kind: 'dir', path: p });

describe('K4: folders count', () => {
  it('K4: counts every folder an offer creates once: dir entries and the folders paths imply', async () => {
    expect(
      await countFolders(
        validated([file('a/b/c.txt'), file('a/b/d.txt'), dir('a/e'), dir('f'), file('g.txt')]),
      ),
    ).toBe(4);
    expect(await countFolders(validated([dir('x/y/z')]))).toBe(3);
    expect(await countFolders(validated([file('top.txt')]))).toBe(0);
  });

  it('K4: stops counting one past the limit it is given', async () => {
    const deep = validated([file(`${Array.from({ length: 60 }, (_, i) => `d${i}`).join('/')}/f`)]);
    expect(await countFolders(deep, 10)).toBe(11);
  });

  it('K4: folders are in the free-space estimate, 4 KiB each, and files in whole 4 KiB blocks', async () => {
    const out = await tempDir();
    const plan = await planDestination(
      out,
      validated([file('a/b/one.bin', 1), file('a/two.bin', 4097), dir('c')]),
    );
    expect(plan.folders).toBe(3);
    expect(FOLDER_DISK_BYTES).toBe(4096);
    expect(plan.neededBytes).toBe(4096 + 8192 + 3 * 4096);
  });

  it('K4: the offer shows its folder count, in text and in --json', async () => {
    const entries = [dir('a'), dir('a/b'), dir('a/b/c'), file('x/y.txt')];
    const text = await startFakeSender(serve(entries).script);
    const out = await tempDir();
    const run = await runReceive(['--yes', '--out', out, text.address]);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.text).toContain('Total: 1 file, 1 B, 4 folders, in 2 items.');
    const json = await startFakeSender(serve(entries).script);
    const run2 = await runReceive(['--yes', '--json', '--out', await tempDir(), json.address]);
    expect(jsonEvents(run2.stdout).find((e) => e.event === 'offer')).toMatchObject({ folders: 4 });
  });

  it(`K4: an offer implying more than maxFolders (${LIMITS.maxFolders}) folders is refused whole with ERR_UNSAFE_OFFER; nothing is created`, async () => {
    // 3,400 files, each 60 folders deep on a path of its own: 204,000 folders from a 1.5 MB offer.
    const entries = Array.from({ length: 3_400 }, (_, n) =>
      file(`${Array.from({ length: 60 }, (_, d) => `${n}_${d}`).join('/')}/f`),
    );
    const sender = await startFakeSender(serve(entries).script);
    const out = await tempDir();
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    expect(run.code).toBe(EXIT.failure);
    const frames = await sender.frames();
    expect(frames.at(-1)).toEqual({
      type: FrameType.ERROR,
      message: expect.objectContaining({ code: 'ERR_UNSAFE_OFFER' }),
    });
    expect(frames.some((f) => f.type === FrameType.REQUEST)).toBe(false);
    expect(await listTree(out)).toEqual([]);
  });
});

describe('K5: busy, not silent', () => {
  it('K5: while creating 5,000 folders the receiver sends PINGs and does not time itself out', async () => {
    const entries = [
      dir('t'),
      ...Array.from({ length: 5_000 }, (_, n) => dir(`t/d${n}`)),
      file('t/last.txt', 3),
    ];
    const served = serve(entries);
    const sender = await startFakeSender(served.script);
    const out = await tempDir();
    const receiver = clearReceiver(sender.port, {
      // Far shorter than creating the folders takes: only PINGs and a suspended idle timer get through.
      idleMs: 1_000,
      keepaliveMs: 20,
      decide: async (offer) => ({ items: offer.items.map((_, i) => i), outDir: out }),
    });
    const result = await within(receiver.run(), 'the receiver', () => '', 60_000);
    await sender.done();
    expect(result.failed).toEqual([]);
    expect(result.saved.map((f) => f.offered)).toEqual(['t/last.txt']);
    expect(served.pingsBeforeRequest[0]).toBeGreaterThan(0);
  });
});

/** Components adding up to `bytes` of path (with their slashes), each at most 255 bytes. */
function longPath(bytes: number, leaf = 'f.txt'): string {
  const parts: string[] = [];
  let left = bytes - leaf.length;
  let n = 0;
  while (left > 0) {
    const take = Math.min(255, left - 1);
    parts.push(String(n++ % 10).repeat(take));
    left -= take + 1;
  }
  return [...parts, leaf].join('/');
}

describe('K9: paths the destination cannot hold', () => {
  it('K9: a valid 4,096-byte path fails alone, before the request; the other files are saved', async () => {
    const long = longPath(LIMITS.maxPathBytes);
    expect(Buffer.byteLength(long)).toBe(LIMITS.maxPathBytes);
    const served = serve([file('ok.txt', 2), file(long, 1)]);
    const sender = await startFakeSender(served.script);
    const out = await tempDir();
    const run = await runReceive(['--yes', '--json', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect(served.requested).toEqual([0]);
    expect(await readFile(path.join(out, 'ok.txt'), 'utf8')).toBe('xx');
    const done = jsonEvents(run.stdout).at(-1);
    expect(done).toMatchObject({
      event: 'done',
      failed: 1,
      failures: [{ offered: long, code: 'ERR_WRITE_FAILED' }],
    });
    expect(jsonEvents(run.stdout).find((e) => e.event === 'report')?.unsavable).toEqual([
      expect.objectContaining({ offered: long, reason: 'path-too-long' }),
    ]);
    expect(await listTree(out)).toEqual(['ok.txt']);
    expect(JSON.stringify(await sender.frames())).not.toContain(out);
  });

  it('K9: an existing 255-byte top-level folder name whose "(1)" is too long fails only its files', async () => {
    const name = 'n'.repeat(255);
    const out = await tempDir();
    await mkdir(path.join(out, name));
    const served = serve([file('ok.txt', 2), file(`${name}/inside.txt`, 1)]);
    const sender = await startFakeSender(served.script);
    const run = await runReceive(['--yes', '--json', '--out', out, sender.address]);
    await sender.done();
    expect(run.code).toBe(EXIT.failure);
    expect(served.requested).toEqual([0]);
    expect(await listTree(out)).toEqual([`${name}/`, 'ok.txt']);
  });

  it('K9: a path the file system refuses while saving fails that file alone, even when the check before missed it', async () => {
    const out = await tempDir();
    // The folder is just short enough to create; the temporary file in it is not.
    const room = 4095 - Buffer.byteLength(out) - 1;
    const parent = longPath(room - 10, 'p'.repeat(9));
    const long = `${parent}/f.txt`;
    const served = serve([file('ok.txt', 2), file(long, 3), file('z.txt', 1)]);
    const sender = await startFakeSender(served.script);
    const unlimited: PathLimits = {
      maxPath: 1_000_000,
      maxName: 255,
      maxFileBytes: undefined,
      units: 'utf8',
      fsName: undefined,
    };
    const receiver = clearReceiver(sender.port, {
      pathLimits: unlimited,
      decide: async (offer) => ({ items: offer.items.map((_, i) => i), outDir: out }),
    });
    const result = await within(receiver.run(), 'the receiver');
    await sender.done();
    expect(served.requested).toEqual([0, 1, 2]);
    expect(result.saved.map((f) => f.offered)).toEqual(['ok.txt', 'z.txt']);
    expect(result.failed).toEqual([
      expect.objectContaining({ offered: long, code: 'ERR_WRITE_FAILED' }),
    ]);
    const acks = (await sender.frames())
      .filter((f) => f.type === FrameType.FILE_ACK)
      .map((f) => f.message);
    expect(acks).toEqual([
      expect.objectContaining({ id: 0, ok: true }),
      expect.objectContaining({ id: 1, ok: false, code: 'ERR_WRITE_FAILED' }),
      expect.objectContaining({ id: 2, ok: true }),
    ]);
  });
});

describe('U9: the report before accepting', () => {
  it('U9: reports free space after, new names for names that exist, hidden names, folders and what cannot be saved', async () => {
    const out = await tempDir();
    await writeFile(path.join(out, 'x.txt'), 'mine');
    const long = longPath(LIMITS.maxPathBytes);
    const sender = await startFakeSender(
      serve([file('x.txt', 2), file('.profile', 1), file('d/e/f.txt', 1), file(long, 1)]).script,
    );
    const run = await runReceive(['--yes', '--json', '--out', out, sender.address]);
    await sender.done();
    const events = jsonEvents(run.stdout);
    const names = events.map((e) => e.event);
    expect(names.indexOf('report')).toBeGreaterThan(names.indexOf('offer'));
    expect(names.indexOf('report')).toBeLessThan(names.indexOf('start'));
    const report = events.find((e) => e.event === 'report')!;
    expect(report).toMatchObject({
      out,
      files: 4,
      folders: 2 + long.split('/').length - 1,
      renamed: [{ offered: 'x.txt', savedAs: 'x (1).txt' }],
      systemNames: [],
      hidden: ['.profile'],
      enoughSpace: true,
      unsavable: [expect.objectContaining({ offered: long, reason: 'path-too-long' })],
    });
    expect(typeof report.freeAfter).toBe('number');
    expect(report.freeAfter).toBe((report.freeBytes as number) - (report.neededBytes as number));
    expect(await readFile(path.join(out, 'x.txt'), 'utf8')).toBe('mine');
  });

  it('U9: the text report comes before "Saving", beside the offer', async () => {
    const out = await tempDir();
    await writeFile(path.join(out, 'x.txt'), 'mine');
    const sender = await startFakeSender(serve([file('x.txt', 2), file('.profile', 1)]).script);
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    const lines = run.stdout.lines;
    const at = (start: string) => lines.findIndex((line) => line.startsWith(start));
    expect(at(`Before saving to ${out}:`)).toBeGreaterThan(at('Total:'));
    expect(at('Saving')).toBeGreaterThan(at(`Before saving to ${out}:`));
    expect(lines).toContain('  new names, because the name exists: x.txt -> x (1).txt');
    expect(lines).toContain('  hidden names at the top level: .profile');
    expect(lines).toContain('  2 files to create');
    expect(lines.some((line) => /^ {2}free space after: /.test(line))).toBe(true);
  });

  it('U9: no "0 folders" when nothing is a folder, and every report line fits 80 columns', async () => {
    const out = await tempDir();
    const sender = await startFakeSender(serve([file('a.txt', 2), file('d/b.txt', 1)]).script);
    const run = await runReceive(['--yes', '--out', out, sender.address]);
    const lines = run.stdout.lines;
    expect(lines).toContain('Total: 2 files, 3 B, 1 folder, in 2 items.');
    expect(lines).toContain('  2 files, 1 folder to create');
    expect(lines.join('\n')).not.toContain('0 folders');
    // The report's lines fit 80 columns (the folder's own path aside).
    const report = lines.slice(lines.indexOf(`Before saving to ${out}:`) + 1, lines.findIndex((l) => l.startsWith('Saving')));
    expect(report.length).toBeGreaterThan(0);
    for (const line of report) expect(line.length).toBeLessThanOrEqual(80);
    const flat = await startFakeSender(serve([file('c.txt', 2)]).script);
    const again = await runReceive(['--yes', '--out', await tempDir(), flat.address]);
    expect(again.stdout.lines).toContain('Total: 1 file, 2 B, in 1 item.');
    expect(again.stdout.lines).toContain('  1 file to create');
  });

  it('U9: names this system cannot store are in the report, with the name each is saved under', async () => {
    const out = await tempDir();
    const sender = await startFakeSender(serve([file('a:b.txt', 1), file('plain.txt', 1)]).script);
    const receiver = clearReceiver(sender.port, {
      platform: 'win32',
      decide: async (offer) => ({ items: offer.items.map((_, i) => i), outDir: out }),
    });
    const reports: unknown[] = [];
    receiver.on('report', (report) => reports.push(report));
    await within(receiver.run(), 'the receiver');
    await sender.done();
    expect(reports).toEqual([
      expect.objectContaining({ systemNames: [{ offered: 'a:b.txt', savedAs: 'a_b.txt' }] }),
    ]);
    expect(await listTree(out)).toEqual(['a_b.txt', 'plain.txt']);
  });

  it('U9: a file larger than the file system holds (4 GiB on FAT) is reported and fails alone', async () => {
    const out = await tempDir();
    const vfat: PathLimits = {
      maxPath: 4095,
      maxName: 255,
      maxFileBytes: 2 ** 32 - 1,
      units: 'utf16',
      fsName: 'vfat',
    };
    const plan = await planDestination(
      out,
      validated([file('small.bin', 2 ** 32 - 1), file('big.iso', 2 ** 32)]),
      { limits: vfat },
    );
    expect(plan.unsavable).toEqual([
      expect.objectContaining({ offered: 'big.iso', reason: 'too-large' }),
    ]);
  });
});

describe('U3: the folder is checked when it is chosen', () => {
  it('U3: a folder that is not usable is asked for again, and a missing one is created when the user agrees', async () => {
    const base = await tempDir();
    const notAFolder = path.join(base, 'file');
    await writeFile(notAFolder, '');
    const missing = path.join(base, 'new', 'inbox');
    const answers = [notAFolder, missing];
    const notices: string[] = [];
    const questions: string[] = [];
    const prompter: Prompter = {
      chooseItems: async (offer) => offer.items.map((_, i) => i),
      chooseFolder: async () => answers.shift() ?? null,
      askCode: async () => null,
      confirm: async (message) => {
        questions.push(message);
        return true;
      },
      notice: (message) => notices.push(message),
    };
    const sender = await startFakeSender(serve([file('a.txt', 2)]).script);
    const run = await runReceive([sender.address], { stdinTTY: true, prompter });
    await sender.done();
    expect(run.code).toBe(EXIT.ok);
    expect(notices).toEqual([expect.stringContaining('is not a folder')]);
    expect(questions).toEqual([expect.stringContaining('does not exist. Create it?')]);
    expect(await readFile(path.join(missing, 'a.txt'), 'utf8')).toBe('xx');
  });

  it('U3: a folder without room for the offer is explained and asked for again, never exited on', async () => {
    // 2^52 bytes: more than any disk this runs on has free.
    const first = await tempDir();
    const answers: (string | null)[] = [first, null];
    const asked: string[] = [];
    const notices: string[] = [];
    const prompter: Prompter = {
      chooseItems: async (offer) => offer.items.map((_, i) => i),
      chooseFolder: async () => {
        const answer = answers.shift() ?? null;
        asked.push(String(answer));
        return answer;
      },
      askCode: async () => null,
      notice: (message) => notices.push(message),
    };
    const sender = await startFakeSender(serve([file('huge.bin', 2 ** 52)]).script);
    const run = await runReceive([sender.address], { stdinTTY: true, prompter });
    await sender.done();
    // Asked a second time after the first folder had no room; the user then cancelled.
    expect(asked).toEqual([first, 'null']);
    expect(notices).toEqual([expect.stringMatching(/^not enough free space in .*: choose another folder\.$/)]);
    expect(run.code).toBe(EXIT.interrupted);
    expect(await listTree(first)).toEqual([]);
    expect((await sender.frames()).map((f) => f.type)).not.toContain(FrameType.REQUEST);
  });

  it('U3: a read-only folder is explained and asked for again', async () => {
    const base = await tempDir();
    const readOnly = path.join(base, 'ro');
    await mkdir(readOnly);
    await chmod(readOnly, 0o555);
    const writable = path.join(base, 'rw');
    await mkdir(writable);
    const answers = [readOnly, writable];
    const notices: string[] = [];
    const prompter: Prompter = {
      chooseItems: async (offer) => offer.items.map((_, i) => i),
      chooseFolder: async () => answers.shift() ?? null,
      askCode: async () => null,
      notice: (message) => notices.push(message),
    };
    const sender = await startFakeSender(serve([file('a.txt', 2)]).script);
    const run = await runReceive([sender.address], { stdinTTY: true, prompter });
    await sender.done();
    expect(run.code).toBe(EXIT.ok);
    // root may write anywhere: then the read-only folder is simply used.
    const root = process.getuid?.() === 0;
    expect(notices).toEqual(root ? [] : [expect.stringContaining('is not writable')]);
    expect(await listTree(root ? readOnly : writable)).toEqual(['a.txt']);
    await chmod(readOnly, 0o755);
  });
});
