import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { FrameType, PairingCodes } from '@ferry/protocol';
import { derivePasswordScalar, loadOrCreateIdentity, TrustStore } from '@ferry/protocol/node';
import { scanOffer } from '@ferry/engine';
import { createSender } from '../../sender/src/sender.ts';
import { EXIT, main } from '../src/main.ts';
import type { Prompter } from '../src/ui/prompts.ts';
import {
  jsonEvents,
  FakeOutput,
  listTree,
  onCleanup,
  runCleanup,
  runReceive,
  sha256,
  silentLogger,
  sourceFiles,
  startRealSender,
  startFakeSender,
  startServer,
  tempDir,
  unusedPort,
  within,
} from './helpers.ts';

afterEach(runCleanup);

/** A prompter that must not be asked anything. */
const NEVER_ASKED: Prompter = {
  chooseItems: () => Promise.reject(new Error('chooseItems must not be called')),
  chooseFolder: () => Promise.reject(new Error('chooseFolder must not be called')),
  askCode: () => Promise.reject(new Error('askCode must not be called')),
};

describe('main (ferry-receive) usage', () => {
  it('prints the usage for --help and exits 0', async () => {
    const run = await runReceive(['--help']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.text).toContain('Usage: ferry-receive');
  });

  it('the help names the default folder the program uses: ~/Downloads, never the current one', async () => {
    const run = await runReceive(['--help']);
    expect(run.stdout.text).toContain('default is ~/Downloads');
    expect(run.stdout.text).not.toContain('current one');
  });

  it('prints the version for --version and exits 0', async () => {
    const run = await runReceive(['--version']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.text).toMatch(/^ferry-receive \S+\n$/);
  });

  it('exits 2 for an unknown flag, naming it', async () => {
    const run = await runReceive(['--bogus', '127.0.0.1']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('--bogus');
  });

  it('U12: --port, which ferry-send has, says to put the port in the address', async () => {
    const run = await runReceive(['--port', '5', 'x']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('unknown option --port; put the port in the address: host:port');
    expect(run.stderr.text).toContain('Usage: ferry-receive');
  });

  it('M5: without an address, and no sender on the network, says so and what to do in short lines, and exits 1', async () => {
    const run = await runReceive(['--yes']);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr.lines).toEqual([
      'ferry-receive: No sender found on this network in 2 s.',
      'If ferry-send is not running yet, start it and run ferry-receive again.',
      'If it is, a subnet, firewall or Wi-Fi may hide it: type an address it shows,',
      'e.g. ferry-receive 192.168.1.20:7878 or ferry-receive [fd00::5e1]:7878',
    ]);
    for (const line of run.stderr.lines) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('exits 2, naming --yes, when stdin is not a terminal, and does not connect anywhere', async () => {
    const port = await unusedPort();
    const run = await runReceive([`127.0.0.1:${port}`], { stdinTTY: false });
    // A connection attempt would have failed with 1 (connection refused).
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('--yes');
  });

  it('does not open a connection when it must refuse to prompt', async () => {
    let connections = 0;
    const server = await startServer((socket) => {
      connections++;
      socket.destroy();
    });
    const run = await runReceive(['--out', await tempDir(), server.address]);
    expect(run.code).toBe(EXIT.usage);
    expect(connections).toBe(0);
  });

  it('exits 2 for --json without --yes, even on a terminal, with a JSON error event naming --yes', async () => {
    const port = await unusedPort();
    const run = await runReceive(['--json', `127.0.0.1:${port}`], { stdinTTY: true, prompter: NEVER_ASKED });
    expect(run.code).toBe(EXIT.usage);
    const events = jsonEvents(run.stdout);
    expect(events).toEqual([expect.objectContaining({ event: 'error', code: 'ERR_USAGE' })]);
    expect(String(events[0]?.message)).toContain('--yes');
  });

  it('F8: exits 1 with a hint when nothing listens at the address', async () => {
    const port = await unusedPort();
    const run = await runReceive(['--yes', '--out', await tempDir(), `127.0.0.1:${port}`]);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr.text).not.toBe('');
  });

  it('U3: without a terminal, an --out folder that does not exist exits 2 with a hint, before connecting', async () => {
    let connections = 0;
    const server = await startServer((socket) => {
      connections++;
      socket.destroy();
    });
    const missing = path.join(await tempDir(), 'missing');
    const run = await runReceive(['--yes', '--out', missing, server.address]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('does not exist');
    expect(run.stderr.text).toContain('Create it first');
    expect(connections).toBe(0);
  });
});

describe('main (ferry-receive) transfers from the real sender', () => {
  it('receives files and folders byte for byte with --yes --out', async () => {
    const big = randomBytes(2 * 1024 * 1024 + 3);
    const root = await tempDir();
    await mkdir(path.join(root, 'album/sub'), { recursive: true });
    await mkdir(path.join(root, 'album/empty'));
    await writeFile(path.join(root, 'album/one.txt'), 'one');
    await writeFile(path.join(root, 'album/sub/big.bin'), big);
    await writeFile(path.join(root, 'album/sub/zero'), '');
    await writeFile(path.join(root, 'single.txt'), 'single');
    const { log, address } = await startRealSender([path.join(root, 'album'), path.join(root, 'single.txt')]);
    const out = await tempDir();
    const run = await runReceive(['--yes', '--out', out, address]);
    expect(run.code).toBe(EXIT.ok);
    expect(await listTree(out)).toEqual([
      'album/', 'album/empty/', 'album/one.txt', 'album/sub/', 'album/sub/big.bin', 'album/sub/zero', 'single.txt',
    ]);
    expect((await readFile(path.join(out, 'album/sub/big.bin'))).equals(big)).toBe(true);
    expect(await readFile(path.join(out, 'album/one.txt'), 'utf8')).toBe('one');
    expect(await readFile(path.join(out, 'album/sub/zero'), 'utf8')).toBe('');
    expect(await readFile(path.join(out, 'single.txt'), 'utf8')).toBe('single');
    expect(await log.waitFor('session-complete')).toMatchObject({ files: 4, failed: 0 });
  });

  it('receives only the item the prompter chose, into the folder it chose', async () => {
    const files = await sourceFiles({ 'a.txt': 'alpha', 'b.txt': 'bravo' });
    const { address } = await startRealSender(files);
    const out = await tempDir();
    const asked: string[][] = [];
    const prompter: Prompter = {
      chooseItems: async (offer) => {
        asked.push(offer.items.map((item) => item.name));
        return [0];
      },
      chooseFolder: async () => out,
      askCode: async () => null,
    };
    const run = await runReceive([address], { stdinTTY: true, prompter });
    expect(run.code).toBe(EXIT.ok);
    expect(asked).toEqual([['a.txt', 'b.txt']]);
    expect(await listTree(out)).toEqual(['a.txt']);
    expect(await readFile(path.join(out, 'a.txt'), 'utf8')).toBe('alpha');
  });

  it('U6: choosing no items exits 0 with a clear line; the sender sees ERR_DECLINED; nothing written', async () => {
    const files = await sourceFiles({ 'a.txt': 'alpha' });
    const { log, address } = await startRealSender(files);
    const out = await tempDir();
    const prompter: Prompter = { chooseItems: async () => [], chooseFolder: async () => out, askCode: async () => null };
    const run = await runReceive([address], { stdinTTY: true, prompter });
    expect(run.code).toBe(EXIT.ok);
    expect((await log.waitFor('session-failed')).code).toBe('ERR_DECLINED');
    expect(await listTree(out)).toEqual([]);
    expect(run.stdout.lines.at(-1)).toBe('You chose no items, so nothing was saved.');
    expect(run.stderr.text).toBe('');
  });

  it('U5: treats a cancelled item prompt (null) as an interruption: the sender sees ERR_CANCELLED, exit 130, nothing written', async () => {
    const files = await sourceFiles({ 'a.txt': 'alpha' });
    const { log, address } = await startRealSender(files);
    const out = await tempDir();
    const prompter: Prompter = { chooseItems: async () => null, chooseFolder: async () => out, askCode: async () => null };
    const run = await runReceive([address], { stdinTTY: true, prompter });
    expect(run.code).toBe(EXIT.interrupted);
    expect((await log.waitFor('session-failed')).code).toBe('ERR_CANCELLED');
    expect(log.all('request')).toEqual([]);
    expect(await listTree(out)).toEqual([]);
  });

  it('U5: treats a cancelled folder prompt as an interruption: ERR_CANCELLED for the sender, exit 130', async () => {
    const files = await sourceFiles({ 'a.txt': 'alpha' });
    const { log, address } = await startRealSender(files);
    const prompter: Prompter = { chooseItems: async () => [0], chooseFolder: async () => null, askCode: async () => null };
    const run = await runReceive([address], { stdinTTY: true, prompter });
    expect(run.code).toBe(EXIT.interrupted);
    expect(run.stdout.lines.at(-1)).toBe('Cancelled; nothing was saved.');
    expect((await log.waitFor('session-failed')).code).toBe('ERR_CANCELLED');
  });

  it('saves into the default folder with --yes and no --out', async () => {
    const files = await sourceFiles({ 'a.txt': 'alpha' });
    const { address } = await startRealSender(files);
    const fallback = await tempDir();
    const run = await runReceive(['--yes', address], { defaultFolder: fallback });
    expect(run.code).toBe(EXIT.ok);
    expect(await listTree(fallback)).toEqual(['a.txt']);
  });

  it('with --verbose, prints each saved file and its sha256 on a non-terminal stdout', async () => {
    const files = await sourceFiles({ 'a.txt': 'alpha', 'b.txt': 'bravo!' });
    const { address } = await startRealSender(files);
    const out = await tempDir();
    const run = await runReceive(['--yes', '--verbose', '--out', out, address]);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.lines).toContain(`Saved 2 files (11 B) to ${out}:`);
    const line = (name: string) => run.stdout.lines.find((l) => l.includes(path.join(out, name)));
    expect(line('a.txt')).toContain(`sha256:${sha256('alpha')}`);
    expect(line('b.txt')).toContain(`sha256:${sha256('bravo!')}`);
    expect(run.stdout.text).not.toContain('\x1b');
  });

  it('with --json, ends with a done event listing each file, its path and sha256', async () => {
    const files = await sourceFiles({ 'a.txt': 'alpha', 'b.txt': 'bravo!' });
    const { address } = await startRealSender(files);
    const out = await tempDir();
    const run = await runReceive(['--json', '--yes', '--out', out, address]);
    expect(run.code).toBe(EXIT.ok);
    const events = jsonEvents(run.stdout);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['connected', 'offer', 'start', 'file-saved', 'done']));
    expect(events.at(-1)).toMatchObject({
      event: 'done',
      out,
      declined: false,
      bytes: 11,
      files: 2,
      failed: 0,
      failures: [],
    });
    expect(events.at(-1)?.saved).toEqual([
        { path: path.join(out, 'a.txt'), offered: 'a.txt', size: 5, sha256: sha256('alpha') },
        { path: path.join(out, 'b.txt'), offered: 'b.txt', size: 6, sha256: sha256('bravo!') },
    ]);
    expect(run.stderr.text).toBe('');
  });

  it('H5: receiving the same file twice yields x.txt and x (1).txt, and the first is unchanged', async () => {
    const [source] = await sourceFiles({ 'x.txt': 'first' });
    if (!source) throw new Error('no source file');
    const first = await startRealSender([source]);
    const out = await tempDir();
    expect((await runReceive(['--yes', '--out', out, first.address])).code).toBe(EXIT.ok);
    // Same size, new content, offered anew (a sender aborts a source changed since its offer).
    await writeFile(source, 'again');
    const { address } = await startRealSender([source]);
    const second = await runReceive(['--json', '--yes', '--out', out, address]);
    expect(second.code).toBe(EXIT.ok);
    expect(await listTree(out)).toEqual(['x (1).txt', 'x.txt']);
    expect(await readFile(path.join(out, 'x.txt'), 'utf8')).toBe('first');
    expect(await readFile(path.join(out, 'x (1).txt'), 'utf8')).toBe('again');
    expect(jsonEvents(second.stdout).at(-1)).toMatchObject({ saved: [{ path: path.join(out, 'x (1).txt'), offered: 'x.txt' }] });
  });

  it('H5: receiving a folder twice, the second time with a file of another size, puts the second copy in "name (1)"', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'docs'));
    await writeFile(path.join(root, 'docs/a.txt'), 'A');
    const out = await tempDir();
    expect((await runReceive(['--yes', '--out', out, (await startRealSender([path.join(root, 'docs')])).address])).code).toBe(EXIT.ok);
    await writeFile(path.join(root, 'docs/a.txt'), 'AB');
    expect((await runReceive(['--yes', '--out', out, (await startRealSender([path.join(root, 'docs')])).address])).code).toBe(EXIT.ok);
    expect(await listTree(out)).toEqual(['docs (1)/', 'docs (1)/a.txt', 'docs/', 'docs/a.txt']);
    expect(await readFile(path.join(out, 'docs/a.txt'), 'utf8')).toBe('A');
  });

  it('D2: receiving the same folder twice finds every file already there: nothing is written, no partial folder stays', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'docs'));
    await writeFile(path.join(root, 'docs/a.txt'), 'A');
    const { address } = await startRealSender([path.join(root, 'docs')]);
    const out = await tempDir();
    expect((await runReceive(['--yes', '--out', out, address])).code).toBe(EXIT.ok);
    const before = await stat(path.join(out, 'docs/a.txt'));
    const second = await runReceive(['--json', '--yes', '--out', out, address]);
    expect(second.code).toBe(EXIT.ok);
    expect(await listTree(out)).toEqual(['docs/', 'docs/a.txt']);
    expect((await stat(path.join(out, 'docs/a.txt'))).mtimeMs).toBe(before.mtimeMs);
    expect(jsonEvents(second.stdout).at(-1)).toMatchObject({ saved: [], present: 1, failed: 0 });
  });
});

describe('U6: exit codes for a missing pairing code', () => {
  /** The real sender core with encryption on, so a receiver needs its pairing code. */
  async function startEncryptedSender() {
    const dir = await tempDir();
    const offer = await scanOffer(await sourceFiles({ 'a.txt': 'alpha' }));
    const sender = createSender({
      security: {
        encryption: true,
        identity: await loadOrCreateIdentity(dir),
        trust: await TrustStore.open(dir, 'receiver'),
        pairing: new PairingCodes(derivePasswordScalar),
        remember: false,
      },
      offer,
      host: '127.0.0.1',
      port: 0,
      name: 'encrypted-sender',
      logger: silentLogger,
    });
    const listening = new Promise<{ port: number }>((resolve) => sender.on('listening', resolve));
    onCleanup('encrypted sender', () => sender.close(true));
    await sender.listen();
    return `127.0.0.1:${(await listening).port}`;
  }

  it('U6: without a terminal and without a code, exits 2 naming FERRY_CODE and --code-stdin', async () => {
    const address = await startEncryptedSender();
    const out = await tempDir();
    const run = await runReceive(['--yes', '--out', out, address], { encrypted: true, stdinTTY: false });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('FERRY_CODE');
    expect(run.stderr.text).toContain('--code-stdin');
    expect(await listTree(out)).toEqual([]);
  });

  it('U6: cancelling the code prompt exits 130 without the FERRY_CODE hint', async () => {
    const address = await startEncryptedSender();
    const out = await tempDir();
    const prompter: Prompter = { ...NEVER_ASKED, askCode: async () => null };
    const run = await runReceive(['--out', out, address], { encrypted: true, stdinTTY: true, prompter });
    expect(run.code).toBe(EXIT.interrupted);
    expect(run.stderr.text).toBe('ferry-receive: cancelled at the pairing code prompt; nothing was received\n');
  });
});

describe('U7: long offers', () => {
  /** A real sender offering one folder of 300 small files, f1 to f300. */
  async function offerManyFiles() {
    const dir = await tempDir();
    const folder = path.join(dir, 'set');
    await mkdir(folder);
    for (let i = 1; i <= 300; i++) await writeFile(path.join(folder, `f${i}`), `file ${i}`);
    return startRealSender([folder]);
  }

  it('U7: summarises the offer in natural order and the saved files without digests', async () => {
    const { address } = await offerManyFiles();
    const out = await tempDir();
    const run = await runReceive(['--yes', '--out', out, address]);
    expect(run.code).toBe(EXIT.ok);
    const lines = run.stdout.lines;
    const listed = lines.filter((line) => /^ {2}set\//.test(line));
    expect(listed).toEqual(['  set/', ...Array.from({ length: 9 }, (_, i) => `  set/f${i + 1}  ${String(`file ${i + 1}`.length)} B`)]);
    expect(lines).toContain('  ... and 291 more (--verbose lists them all)');
    expect(lines.at(-1)).toMatch(/^Saved 300 files \(\d.* KiB\) to .*, each verified with SHA-256\.$/);
    expect(run.stdout.text).not.toContain('sha256:');
    expect(lines.length).toBeLessThan(30);
  });

  it('U7: --verbose lists every entry in natural order, and every saved file with its digest', async () => {
    const { address } = await offerManyFiles();
    const out = await tempDir();
    const run = await runReceive(['--yes', '--verbose', '--out', out, address]);
    expect(run.code).toBe(EXIT.ok);
    const offered = run.stdout.lines.filter((line) => /^ {2}set\/f\d+ {2}\d+ B$/.test(line)).map((line) => line.trim().split(' ')[0]);
    expect(offered).toHaveLength(300);
    expect(offered.indexOf('set/f9')).toBeLessThan(offered.indexOf('set/f80'));
    expect(offered.indexOf('set/f80')).toBeLessThan(offered.indexOf('set/f90'));
    const digests = run.stdout.lines.filter((line) => line.includes('sha256:'));
    expect(digests).toHaveLength(300);
    expect(digests[0]).toBe(`  ${path.join(out, 'set', 'f1')}  6 B  sha256:${sha256('file 1')}`);
  });

  it('lists every entry with --json', async () => {
    const { address } = await offerManyFiles();
    const out = await tempDir();
    const run = await runReceive(['--yes', '--json', '--out', out, address]);
    const offer = jsonEvents(run.stdout).find((event) => event.event === 'offer');
    expect(offer?.entries).toHaveLength(301);
  });
});

describe('U5: interruptions on the receiver', () => {
  it('U5: a sender that stops mid-transfer is named as stopped, with what was kept and what to do', async () => {
    const out = await tempDir();
    const { address } = await startFakeSender(async (peer) => {
      await peer.offer([
        { path: 'a.txt', kind: 'file', size: 5 },
        { path: 'b.txt', kind: 'file', size: 10 },
      ]);
      await peer.expect(FrameType.REQUEST);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      peer.data('alpha');
      peer.send(FrameType.FILE_END, { id: 0, sha256: sha256('alpha') });
      await peer.expect(FrameType.FILE_ACK);
      peer.send(FrameType.FILE_START, { id: 1, offset: 0, size: 10 });
      // One byte of a frame, then the end: the sender was stopped inside a frame.
      peer.socket.end(Buffer.from([FrameType.DATA]));
      await peer.closed;
    });
    const run = await runReceive(['--yes', '--out', out, address]);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr.text).toContain('the sender stopped or the connection was cut: kept the 1 file already saved and verified');
    expect(run.stderr.text).toContain('any partly received file was removed');
    expect(run.stderr.text).toContain('Run ferry-receive again');
    expect(run.stderr.text).not.toContain('transfer failed');
    expect(await listTree(out)).toEqual(['a.txt']);
  });

  it('U5: Ctrl-C during a transfer confirms what was kept and that the partial file was removed', async () => {
    const out = await tempDir();
    let acked!: () => void;
    const firstAcked = new Promise<void>((resolve) => {
      acked = resolve;
    });
    await startFakeSender(async (peer) => {
      await peer.offer([
        { path: 'a.txt', kind: 'file', size: 5 },
        { path: 'b.txt', kind: 'file', size: 10 },
      ]);
      await peer.expect(FrameType.REQUEST);
      peer.send(FrameType.FILE_START, { id: 0, offset: 0, size: 5 });
      peer.data('alpha');
      peer.send(FrameType.FILE_END, { id: 0, sha256: sha256('alpha') });
      await peer.expect(FrameType.FILE_ACK);
      peer.send(FrameType.FILE_START, { id: 1, offset: 0, size: 10 });
      peer.data('brav');
      acked();
      await peer.closed;
    }).then(async ({ address }) => {
      const io = { stdin: Object.assign(Readable.from([]), { isTTY: false }), stdout: new FakeOutput(), stderr: new FakeOutput(), env: { FERRY_CONFIG_DIR: await tempDir() } };
      const controller = new AbortController();
      const exit = main(['--no-encryption', '--yes', '--out', out, address], io, controller.signal, { logger: silentLogger });
      await within(firstAcked, 'the first file to be acknowledged');
      await io.stdout.waitForLine('the first progress line', (l) => l.includes('Saving'));
      controller.abort();
      expect(await within(exit, 'main() to return')).toBe(EXIT.interrupted);
      expect(io.stderr.text).toBe(
        `ferry-receive: interrupted: kept the 1 file already saved and verified in ${out}; any partly received file was removed\n`,
      );
      expect(await listTree(out)).toEqual(['a.txt']);
    });
  });
});
