import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cliEnv,
  hashTree,
  makeTempDir,
  RECEIVE_BIN,
  type RunningSender,
  SEND_BIN,
  runReceiver,
  startSender,
  WAIT,
  writeFileAt,
} from '@ferry/testkit/harness';
import { spawnOnPty } from '@ferry/testkit/pty';

const ITEMS_PROMPT = 'Which items do you want? (space toggles, enter accepts)';
const FOLDER_PROMPT = 'Save to which folder?';

/** A sender offering `a.txt` and folder `B` from a fresh source folder. */
async function offerTwoItems() {
  const src = await makeTempDir('src');
  await writeFileAt(src, 'a.txt', 'first item\n');
  await writeFileAt(src, 'B/inside.bin', randomBytes(5000));
  await fs.mkdir(path.join(src, 'B', 'empty'));
  const sender = await startSender([path.join(src, 'a.txt'), path.join(src, 'B')]);
  return { src, sender };
}

/**
 * ferry-receive on a terminal, in a fresh home whose Downloads folder is the default, given the
 * sender's pairing code in FERRY_CODE (so the prompts here are the ones about the offer).
 */
async function receiveOnTerminal(sender: RunningSender) {
  const home = await makeTempDir('home');
  const downloads = path.join(home, 'Downloads');
  await fs.mkdir(downloads);
  const code = await sender.freshCode();
  const env = cliEnv({ HOME: home, TERM: 'xterm-256color', FERRY_CODE: code });
  const terminal = spawnOnPty(RECEIVE_BIN, [sender.address], { cwd: home, env });
  return { terminal, downloads };
}

describe('ferry-receive on a terminal', () => {
  it('asks which items and which folder, then saves there', async () => {
    const { src, sender } = await offerTwoItems();
    const { terminal } = await receiveOnTerminal(sender);
    const out = await makeTempDir('chosen');

    const afterItems = await terminal.waitForText(ITEMS_PROMPT, WAIT.startMs);
    terminal.type('\r');
    await terminal.waitForText(FOLDER_PROMPT, WAIT.reactMs, afterItems);
    terminal.type(`${out}\r`);
    const exit = await terminal.waitForExit(WAIT.transferMs);

    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 0, signal: null });
    expect(await hashTree(out)).toEqual(await hashTree(src));
    expect(terminal.screen()).toMatch(/Saved 2 files \(4.89 KiB\) to /);
  });

  it('saves into the default folder it shows when Enter is pressed at the folder prompt', async () => {
    const { src, sender } = await offerTwoItems();
    const { terminal, downloads } = await receiveOnTerminal(sender);

    const afterItems = await terminal.waitForText(ITEMS_PROMPT, WAIT.startMs);
    terminal.type('\r');
    await terminal.waitForText(downloads, WAIT.reactMs, afterItems);
    terminal.type('\r');
    const exit = await terminal.waitForExit(WAIT.transferMs);

    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 0, signal: null });
    expect(await hashTree(downloads)).toEqual(await hashTree(src));
  });

  it('takes only the items left selected (space toggles the one under the cursor)', async () => {
    const { src, sender } = await offerTwoItems();
    const { terminal } = await receiveOnTerminal(sender);
    const out = await makeTempDir('chosen');

    const afterItems = await terminal.waitForText(ITEMS_PROMPT, WAIT.startMs);
    terminal.type(' ');
    terminal.type('\r');
    await terminal.waitForText(FOLDER_PROMPT, WAIT.reactMs, afterItems);
    terminal.type(`${out}\r`);
    const exit = await terminal.waitForExit(WAIT.transferMs);

    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 0, signal: null });
    const { 'a.txt': _left, ...folderOnly } = await hashTree(src);
    expect(await hashTree(out)).toEqual(folderOnly);
  });

  it('writes nothing when the item prompt is cancelled with Ctrl-C, and tells the sender', async () => {
    const { sender } = await offerTwoItems();
    const { terminal, downloads } = await receiveOnTerminal(sender);

    await terminal.waitForText(ITEMS_PROMPT, WAIT.startMs);
    terminal.type('\x03');
    const exit = await terminal.waitForExit(WAIT.reactMs);

    // Ctrl-C in a prompt (a key press in raw mode, not a signal) still means "interrupted".
    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 130, signal: null });
    expect(terminal.screen()).toMatch(/Cancelled; nothing was saved/);
    expect(await fs.readdir(downloads)).toEqual([]);
    const failed = await sender.waitForEvent('session-failed', undefined, WAIT.reactMs);
    expect(failed).toMatchObject({ code: 'ERR_CANCELLED' });
  });
});

describe('ferry-send on a terminal', () => {
  it('U5: after Ctrl-C, what ferry-send prints starts on a line of its own, not after the echoed ^C', async () => {
    const src = await makeTempDir('src');
    await writeFileAt(src, 'a.txt', 'a');
    const terminal = spawnOnPty(SEND_BIN, ['--port', '0', '--host', '127.0.0.1', path.join(src, 'a.txt')], { cwd: src });
    // The pairing code is the last line ferry-send prints before it waits.
    await terminal.waitForText(/Pairing code: \d{4}-\d{4}[^\n]*\n/, WAIT.startMs);
    // Ctrl-C on a terminal in its usual mode: the line discipline echoes ^C and sends SIGINT.
    terminal.type('\x03');
    const exit = await terminal.waitForExit(WAIT.reactMs);
    expect(exit, terminal.log.report('unexpected exit')).toEqual({ code: 130, signal: null });
    const screen = terminal.screen();
    expect(screen, terminal.log.report('no echoed ^C')).toContain('^C');
    expect(screen).toMatch(/\^C\r?\n+(?:\r?\n)*Stopped\./);
  });
});

describe('ferry-receive without a terminal', () => {
  it.each(['ignore', 'pipe'] as const)(
    'exits 2 at once naming --yes when stdin is %s and --yes is missing',
    async (stdin) => {
      const { sender } = await offerTwoItems();
      const cwd = await makeTempDir('cwd');

      const run = await runReceiver([sender.address], { stdin, cwd, timeoutMs: WAIT.startMs });

      expect(run.code, run.report('unexpected exit')).toBe(2);
      expect(run.stderr).toMatch(/--yes/);
      expect(await fs.readdir(cwd)).toEqual([]);
      // Fails before connecting: the sender never sees it.
      expect(sender.events.filter((e) => e.event === 'connected')).toEqual([]);
    },
  );
});
