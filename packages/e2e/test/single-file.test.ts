import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '@ferry/cli/build-single';
import { spawnCli } from '@ferry/testkit/cli-process';
import {
  assertExit,
  cliEnv,
  hashTree,
  makeTempDir,
  receiveAll,
  startSender,
  WAIT,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/harness';
import { assertNetnsReady, createNetnsNetwork } from '@ferry/testkit/netns';
import { spawnOnPty } from '@ferry/testkit/pty';

const SENDER_DIR = fileURLToPath(new URL('../../sender', import.meta.url));
const RECEIVER_DIR = fileURLToPath(new URL('../../receiver', import.meta.url));

/** Node with nothing that could load a module from elsewhere: no NODE_PATH, no --import. */
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  cliEnv({ NODE_PATH: undefined, NODE_OPTIONS: undefined, ...extra });

/**
 * Copies `program` alone into a new folder under the OS temp folder, which has no node_modules
 * in it or above it, as on a machine without Ferry; returns the copy.
 */
async function copyAlone(program: string, label: string): Promise<string> {
  const dir = await makeTempDir(label);
  for (let up = dir; ; up = path.dirname(up)) {
    if (existsSync(path.join(up, 'node_modules')))
      throw new Error(`${up} has a node_modules folder: the test needs a folder without one`);
    if (path.dirname(up) === up) break;
  }
  const copy = path.join(dir, path.basename(program));
  await fs.copyFile(program, copy);
  expect(await fs.readdir(dir)).toEqual([path.basename(program)]);
  return copy;
}

/** What `node <program> <args>` prints, run in the program's own folder; it must exit with 0. */
async function runAlone(program: string, args: readonly string[]): Promise<string> {
  const proc = spawnCli(program, args, { cwd: path.dirname(program), env: env() });
  const exit = await proc.waitForExit(WAIT.startMs);
  if (exit.code !== 0) throw new Error(proc.log.report(`exit code ${exit.code}`));
  return proc.log.stdout;
}

async function versionOf(packageDir: string): Promise<string> {
  const manifest = JSON.parse(await fs.readFile(path.join(packageDir, 'package.json'), 'utf8'));
  return manifest.version as string;
}

describe('the single-file programs built by `pnpm build`', () => {
  let send = '';
  let receive = '';

  beforeAll(async () => {
    // The very build `pnpm build` runs, into each app's dist/.
    send = await copyAlone(await buildProgram(SENDER_DIR), 'single-send');
    receive = await copyAlone(await buildProgram(RECEIVER_DIR), 'single-receive');
  });

  it('are each one file that starts with #!/usr/bin/env node and imports nothing but Node itself', async () => {
    for (const program of [send, receive]) {
      const text = await fs.readFile(program, 'utf8');
      expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
      const imported = [
        ...text.matchAll(/^\s*import\s[^'"]*?from\s*["']([^"']+)["']/gm),
        ...text.matchAll(/\b(?:__require|require)\(\s*["']([^"']+)["']\s*\)/g),
        ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
      ].map((match) => match[1]!);
      expect(imported.length).toBeGreaterThan(0);
      expect(imported.filter((name) => !isBuiltin(name))).toEqual([]);
    }
  });

  it('show their version and help from a folder of their own', async () => {
    expect(await runAlone(send, ['--version'])).toBe(`ferry-send ${await versionOf(SENDER_DIR)}\n`);
    expect(await runAlone(receive, ['--version'])).toBe(
      `ferry-receive ${await versionOf(RECEIVER_DIR)}\n`,
    );
    expect(await runAlone(send, ['--help'])).toMatch(
      /^Usage: ferry-send \[options\] <file\|folder>/,
    );
    expect(await runAlone(receive, ['--help'])).toMatch(
      /^Usage: ferry-receive \[options\] \[<host>/,
    );
  });

  it('transfer a folder byte for byte over loopback, encrypted with the pairing code, each from its own folder', async () => {
    const src = await makeTempDir('src');
    await writeRandomFile(path.join(src, 'photos', 'big.jpg'), 3 * 1024 * 1024 + 17);
    await writeFileAt(src, 'photos/notes/é ü.txt', randomBytes(4097));
    await fs.mkdir(path.join(src, 'photos', 'empty'));
    // With debug logs, so that pino writes from the single file too.
    const sender = await startSender(
      [path.join(src, 'photos')],
      ['--once', '--log-level', 'debug'],
      { program: send, cwd: path.dirname(send), env: env() },
    );
    expect(sender.encryption).toBe(true);
    const out = await makeTempDir('out');

    const run = await receiveAll(sender, out, {
      program: receive,
      cwd: path.dirname(receive),
      env: env(),
    });

    assertExit(run, 0);
    expect(run.events.find((e) => e.event === 'secured')).toMatchObject({ method: 'code' });
    expect(run.last?.event, run.report('the last event is not "done"')).toBe('done');
    expect(await hashTree(out)).toEqual(await hashTree(src));
    await sender.waitForEvent('session-complete');
    const exit = await sender.process.waitForExit(WAIT.reactMs);
    expect(exit.code, sender.process.log.report('ferry-send --once did not exit with 0')).toBe(0);
    const logs = sender.process.log.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { app?: string; msg?: string });
    expect(logs.find((line) => line.msg === 'session complete')).toMatchObject({
      app: 'ferry-send',
    });
  });

  it('pair through --code-stdin too', async () => {
    const src = await makeTempDir('src');
    await writeRandomFile(path.join(src, 'one.bin'), 65_537);
    const sender = await startSender([path.join(src, 'one.bin')], [], {
      program: send,
      cwd: path.dirname(send),
      env: env(),
    });
    const out = await makeTempDir('out');

    const run = await receiveAll(sender.address, out, {
      args: ['--code-stdin'],
      input: `${sender.code()}\n`,
      program: receive,
      cwd: path.dirname(receive),
      env: env(),
    });

    assertExit(run, 0);
    expect(run.events.find((e) => e.event === 'secured')).toMatchObject({ method: 'code' });
    expect(await hashTree(out)).toEqual(await hashTree(src));
    await sender.stop();
  });

  it('ask for the pairing code, the items and the folder on a terminal', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'a.txt', 'first item\n');
    await writeFileAt(src, 'B/inside.bin', randomBytes(5000));
    const sender = await startSender([path.join(src, 'a.txt'), path.join(src, 'B')], [], {
      program: send,
      cwd: path.dirname(send),
      env: env(),
    });
    const home = await makeTempDir('home');
    const out = await makeTempDir('chosen');
    const terminal = spawnOnPty(receive, [sender.address], {
      cwd: path.dirname(receive),
      env: env({ HOME: home, TERM: 'xterm-256color' }),
    });

    const asked = await terminal.waitForText('Pairing code shown by ferry-send:', WAIT.startMs);
    terminal.type(`${sender.code()}\r`);
    const afterItems = await terminal.waitForText(
      'Which items do you want? (space toggles, enter accepts)',
      WAIT.reactMs,
      asked,
    );
    terminal.type('\r');
    await terminal.waitForText('Save to which folder?', WAIT.reactMs, afterItems);
    terminal.type(`${out}\r`);
    const exit = await terminal.waitForExit(WAIT.transferMs);

    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 0, signal: null });
    expect(await hashTree(out)).toEqual(await hashTree(src));
    await sender.stop();
  });

  it('find each other by name over mDNS between two hosts of a network of namespaces, and transfer', async () => {
    assertNetnsReady();
    const network = await createNetnsNetwork();
    const [senderHost, receiverHost] = [await network.addHost(), await network.addHost()];
    const src = await makeTempDir('src');
    const file = path.join(src, 'found.bin');
    await writeRandomFile(file, 100_003);
    const sender = senderHost.spawnCli(
      send,
      ['--json', '--port', '0', '--name', 'alice', '--', file],
      { cwd: path.dirname(send), env: env() },
    );
    const listening = await sender.waitForEvent('listening', WAIT.startMs);
    const { code } = await sender.waitForEvent('code', WAIT.startMs);
    await sender.waitForEvent('announced', WAIT.startMs);
    const out = await makeTempDir('out');

    const receiver = receiverHost.spawnCli(receive, ['--yes', '--json', '--out', out, 'alice'], {
      cwd: path.dirname(receive),
      env: env({ FERRY_CODE: String(code) }),
    });
    const exit = await receiver.waitForExit(WAIT.transferMs);

    expect(exit.code, receiver.log.report('taking from "alice" failed')).toBe(0);
    expect(receiver.events.find((e) => e.event === 'connected')?.address).toBe(
      `${senderHost.ipv4}:${listening.port}`,
    );
    expect(await hashTree(out)).toEqual(await hashTree(src));
    sender.signal('SIGINT');
    await sender.waitForExit(WAIT.reactMs);
  });
});
