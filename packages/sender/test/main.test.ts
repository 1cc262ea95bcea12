import { once } from 'node:events';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeTerminalQr, qrLinesIn } from '@ferry/testkit/qr';
import { createReceiver } from '../../receiver/src/receiver.ts';
import { EXIT, main } from '../src/main.ts';
import {
  fakeIo,
  jsonEvents,
  onCleanup,
  receiveAll,
  runCleanup,
  silentLogger,
  tempDir,
  within,
} from './helpers.ts';

afterEach(runCleanup);

/** Starts `main()` in clear (the receivers here are in clear) with a signal the test aborts. */
function start(argv: string[], io = fakeIo()) {
  const controller = new AbortController();
  const exit = main(['--no-encryption', ...argv], io, controller.signal, {
    logger: silentLogger,
    version: '9.9.9',
  });
  onCleanup('sender main', async () => {
    controller.abort();
    await exit.catch(() => {});
  });
  const exited = () =>
    within(
      exit,
      'main() to return',
      () => `stdout:\n${io.stdout.text}\nstderr:\n${io.stderr.text}`,
    );
  return { io, controller, exit, exited };
}

async function fileToOffer(content = 'payload'): Promise<string> {
  const dir = await tempDir();
  const file = path.join(dir, 'offered.txt');
  await writeFile(file, content);
  return file;
}

describe('main (ferry-send)', () => {
  it('prints the usage for --help and exits 0', async () => {
    const run = start(['--help']);
    expect(await run.exited()).toBe(EXIT.ok);
    expect(run.io.stdout.text).toContain('Usage: ferry-send');
  });

  it('prints the version for --version and exits 0', async () => {
    const run = start(['--version']);
    expect(await run.exited()).toBe(EXIT.ok);
    expect(run.io.stdout.text).toBe('ferry-send 9.9.9\n');
  });

  it('exits 2 for an unknown flag and names it on stderr, with a hint', async () => {
    const run = start(['--bogus', 'x']);
    expect(await run.exited()).toBe(EXIT.usage);
    expect(run.io.stderr.text).toContain('--bogus');
    expect(run.io.stderr.text).toContain('--help');
    expect(run.io.stdout.text).toBe('');
  });

  it('exits 2 for a file that does not exist', async () => {
    const dir = await tempDir();
    const run = start(['--host', '127.0.0.1', '--port', '0', path.join(dir, 'missing.txt')]);
    expect(await run.exited()).toBe(EXIT.usage);
    expect(run.io.stderr.text).toContain('missing.txt');
  });

  it('prints a usage error as a JSON error event with --json', async () => {
    const run = start(['--json', '--port', 'abc', 'x']);
    expect(await run.exited()).toBe(EXIT.usage);
    expect(jsonEvents(run.io.stdout)).toEqual([
      expect.objectContaining({ event: 'error', code: 'ERR_USAGE' }),
    ]);
  });

  it('with --json, prints a listening event first and exits 130 when interrupted', async () => {
    const file = await fileToOffer('12345');
    const run = start(['--json', '--host', '127.0.0.1', '--port', '0', file]);
    await run.io.stdout.waitForLine('the listening event', (line) => line.includes('"listening"'));
    run.controller.abort();
    expect(await run.exited()).toBe(EXIT.interrupted);
    const events = jsonEvents(run.io.stdout);
    expect(events[0]).toMatchObject({ event: 'listening', host: '127.0.0.1', files: 1, bytes: 5 });
    expect(events[0]?.port).toBeGreaterThan(0);
    expect(events.at(-1)).toEqual({ event: 'stopped', reason: 'interrupted' });
  });

  it('stops listening once interrupted', async () => {
    const file = await fileToOffer();
    const run = start(['--json', '--host', '127.0.0.1', '--port', '0', file]);
    const line = await run.io.stdout.waitForLine('the listening event', (l) =>
      l.includes('"listening"'),
    );
    const { port } = JSON.parse(line) as { port: number };
    run.controller.abort();
    await run.exited();
    const socket = net.connect(port, '127.0.0.1');
    const [error] = (await within(once(socket, 'error'), 'the refused connection')) as [
      NodeJS.ErrnoException,
    ];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('prints, in text mode, the command to run on the other machine', async () => {
    const file = await fileToOffer('abc');
    const run = start(['--host', '127.0.0.1', '--port', '0', file]);
    const line = await run.io.stdout.waitForLine('the ferry-receive line', (l) =>
      l.includes('ferry-receive 127.0.0.1:'),
    );
    expect(line).toMatch(/ferry-receive 127\.0\.0\.1:[1-9]\d*/);
    expect(run.io.stdout.text).toContain('Offering 1 file');
    run.controller.abort();
    expect(await run.exited()).toBe(EXIT.interrupted);
  });

  it('with --qr, prints the first command as a QR code that reads back as that command', async () => {
    const file = await fileToOffer('abc');
    const run = start(['--qr', '--host', '127.0.0.1', '--port', '0', file]);
    const line = await run.io.stdout.waitForLine('the ferry-receive line', (l) =>
      l.includes('ferry-receive 127.0.0.1:'),
    );
    const command = line.trim();
    await run.io.stdout.waitForLine('the waiting line', (l) =>
      l.startsWith('Waiting for receivers'),
    );
    const drawing = qrLinesIn(run.io.stdout.text);
    expect(drawing.length).toBeGreaterThan(10);
    for (const row of drawing) expect([...row].length).toBeLessThanOrEqual(80);
    expect(await decodeTerminalQr(drawing)).toEqual([command]);
    run.controller.abort();
    expect(await run.exited()).toBe(EXIT.interrupted);
  });

  it('with --link, prints the link for the address, its QR code and the plain-HTTP warning; the link serves the file', async () => {
    const file = await fileToOffer('abc');
    const run = start(['--link', '--host', '127.0.0.1', '--port', '0', '--no-announce', file]);
    const line = await run.io.stdout.waitForLine('the link', (l) =>
      /^ {2}http:\/\/127\.0\.0\.1:\d+\/t\/[A-Za-z0-9_-]{22}\/$/.test(l),
    );
    const url = line.trim();
    await run.io.stdout.waitForLine('the warning', (l) => l.startsWith('Plain HTTP:'));
    const drawing = qrLinesIn(run.io.stdout.text);
    for (const row of drawing) expect([...row].length).toBeLessThanOrEqual(80);
    expect(await decodeTerminalQr(drawing)).toEqual([url]);
    const response = await fetch(`${url}f/0/offered.txt`);
    expect([response.status, await response.text()]).toEqual([200, 'abc']);
    await run.io.stdout.waitForLine('the download', (l) => l.startsWith('Download 1 complete'));
    run.controller.abort();
    expect(await run.exited()).toBe(EXIT.interrupted);
  });

  it('with --link --json, prints the link event, each download, and link-ended when it stops', async () => {
    const file = await fileToOffer('abc');
    const run = start([
      '--link',
      '--json',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--no-announce',
      file,
    ]);
    const line = await run.io.stdout.waitForLine('the link event', (l) =>
      l.includes('"event":"link"'),
    );
    const url = (JSON.parse(line) as { urls: string[] }).urls[0]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/t\/[A-Za-z0-9_-]{22}\/$/);
    const response = await fetch(`${url}SHA256SUMS`);
    expect(await response.text()).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  offered.txt\n',
    );
    await fetch(`${url}f/0/offered.txt`).then((r) => r.text());
    await run.io.stdout.waitForLine('the download', (l) => l.includes('"event":"download-done"'));
    run.controller.abort();
    expect(await run.exited()).toBe(EXIT.interrupted);
    const names = jsonEvents(run.io.stdout).map((e) => e.event);
    expect(names).toEqual(
      expect.arrayContaining(['link', 'download-start', 'download-done', 'link-ended']),
    );
    expect(names.indexOf('link-ended')).toBeLessThan(names.indexOf('stopped'));
  });

  it('lists what it skipped, escaping names so no raw control character reaches the terminal', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'share'));
    await writeFile(path.join(dir, 'share', 'fine.txt'), 'fine');
    await writeFile(path.join(dir, 'share', 'evil\u001b[2J.txt'), 'evil');
    await symlink('nowhere', path.join(dir, 'share', 'dangling'));
    const run = start(['--host', '127.0.0.1', '--port', '0', path.join(dir, 'share')]);
    await run.io.stdout.waitForLine('the ferry-receive line', (l) =>
      l.includes('ferry-receive 127.0.0.1:'),
    );
    run.controller.abort();
    await run.exited();
    const skipped = run.io.stdout.lines.filter((l) => l.includes('skipped'));
    expect(skipped).toHaveLength(2);
    expect(skipped.join('\n')).toContain('share/dangling');
    expect(skipped.join('\n')).toContain('evil\\x1b[2J.txt');
    expect(run.io.stdout.text + run.io.stderr.text).not.toContain('\u001b');
  });

  it('returns 130 at once when the signal is already aborted', async () => {
    const file = await fileToOffer();
    const controller = new AbortController();
    controller.abort();
    const io = fakeIo();
    const code = await within(
      main(['--host', '127.0.0.1', '--port', '0', file], io, controller.signal, {
        logger: silentLogger,
      }),
      'main()',
    );
    expect(code).toBe(EXIT.interrupted);
  });

  it('F7: exits 1 with a hint naming --port when the port is already in use', async () => {
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    onCleanup('blocking server', () => new Promise((resolve) => blocker.close(resolve)));
    const { port } = blocker.address() as AddressInfo;
    const file = await fileToOffer();
    const run = start(['--host', '127.0.0.1', '--port', String(port), file]);
    expect(await run.exited()).toBe(EXIT.failure);
    expect(run.io.stderr.text).toContain('--port');
  });

  it('with --once, exits 0 after the first receiver has taken everything', async () => {
    const file = await fileToOffer('once only');
    const run = start(['--json', '--once', '--host', '127.0.0.1', '--port', '0', file]);
    const line = await run.io.stdout.waitForLine('the listening event', (l) =>
      l.includes('"listening"'),
    );
    const { port } = JSON.parse(line) as { port: number };
    const { out, result } = await receiveAll(port);
    expect(result.saved).toHaveLength(1);
    expect(await readFile(path.join(out, 'offered.txt'), 'utf8')).toBe('once only');
    expect(await run.exited()).toBe(EXIT.ok);
    const events = jsonEvents(run.io.stdout).map((e) => e.event);
    expect(events).toContain('session-complete');
    expect(events.at(-1)).toBe('stopped');
  });
});

describe('U12: usage errors on stderr', () => {
  it('U12: a missing file is named in words, with the usage line, and exits 2', async () => {
    const dir = await tempDir();
    const run = start(['--host', '127.0.0.1', '--port', '0', path.join(dir, 'nosuch.txt')]);
    expect(await run.exited()).toBe(EXIT.usage);
    expect(run.io.stderr.text).toBe(
      `ferry-send: cannot read ${path.join(dir, 'nosuch.txt')}: no such file or directory\n` +
        'Usage: ferry-send [options] <file|folder>...\nRun ferry-send --help to see every option.\n',
    );
  });

  it('U12: a bad --port shows the rule and the usage line, never zod text', async () => {
    const run = start(['--port', '65536', 'x']);
    expect(await run.exited()).toBe(EXIT.usage);
    expect(run.io.stderr.text).toBe(
      'ferry-send: --port must be a whole number from 0 to 65535 (0 picks a free port), not "65536"\n' +
        'Usage: ferry-send [options] <file|folder>...\nRun ferry-send --help to see every option.\n',
    );
  });
});

describe('U6: a receiver that chooses nothing', () => {
  it('U6: is reported as having taken nothing, not as a failure', async () => {
    const file = await fileToOffer();
    const run = start(['--once', '--host', '127.0.0.1', '--port', '0', file]);
    const line = await run.io.stdout.waitForLine('the ferry-receive line', (l) =>
      l.includes('ferry-receive 127.0.0.1:'),
    );
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    const receiver = createReceiver({
      security: { encryption: false },
      host: '127.0.0.1',
      port,
      logger: silentLogger,
      decide: async () => null,
    });
    expect((await within(receiver.run(), 'the receiver')).declined).toBe(true);
    await run.io.stdout.waitForLine('the took-nothing line', (l) => l.includes('took nothing'));
    expect(run.io.stdout.text).not.toContain('failed');
  });

  it('U11: --once ends with a line saying why it stopped', async () => {
    const file = await fileToOffer();
    const run = start(['--once', '--host', '127.0.0.1', '--port', '0', file]);
    const line = await run.io.stdout.waitForLine('the ferry-receive line', (l) =>
      l.includes('ferry-receive 127.0.0.1:'),
    );
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    await receiveAll(port);
    expect(await run.exited()).toBe(EXIT.ok);
    expect(run.io.stdout.lines.at(-1)).toBe('Stopped after one complete transfer (--once).');
  });
});

describe('U5: a receiver whose user cancels', () => {
  it('U5: a receiver cancelled at its prompt is reported as cancelled, not as a choice', async () => {
    const file = await fileToOffer();
    const run = start(['--once', '--host', '127.0.0.1', '--port', '0', file]);
    const line = await run.io.stdout.waitForLine('the ferry-receive line', (l) =>
      l.includes('ferry-receive 127.0.0.1:'),
    );
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    const receiver = createReceiver({
      security: { encryption: false },
      host: '127.0.0.1',
      port,
      logger: silentLogger,
      decide: async () => 'cancelled',
    });
    expect((await within(receiver.run(), 'the receiver')).declined).toBe(true);
    await run.io.stdout.waitForLine('the cancelled line', (l) =>
      l.includes('took nothing: its user cancelled before choosing'),
    );
    expect(run.io.stdout.text).not.toContain('chose no files');
    expect(run.io.stdout.text).not.toContain('failed');
  });
});

describe('U5: interruptions on the sender', () => {
  it('U5: a Ctrl-C on the sender is not blamed on the receiver it cuts off', async () => {
    const file = await fileToOffer();
    const run = start(['--host', '127.0.0.1', '--port', '0', file]);
    const line = await run.io.stdout.waitForLine('the ferry-receive line', (l) =>
      l.includes('ferry-receive 127.0.0.1:'),
    );
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    // A receiver whose user is still choosing when the sender is stopped.
    const receiver = createReceiver({
      security: { encryption: false },
      host: '127.0.0.1',
      port,
      logger: silentLogger,
      decide: (_offer, _sender, prompts) =>
        new Promise((resolve) => prompts.addEventListener('abort', () => resolve(null))),
    });
    const ended = receiver.run().catch(() => undefined);
    await run.io.stdout.waitForLine('the connected line', (l) => l.includes(' connected'));
    run.controller.abort();
    expect(await run.exited()).toBe(EXIT.interrupted);
    await run.io.stdout.waitForLine('the cut-off line', (l) =>
      l.includes('was cut off when ferry-send stopped'),
    );
    await within(ended, 'the receiver to end');
    expect(run.io.stdout.text).not.toContain('failed');
  });
});
