/**
 * U10 against the real `ferry-send`: a file it cannot read used to be offered anyway and fail
 * only at the end, on the receiver. Root reads every file whatever its mode, so when the tests
 * run as root the sender runs as `nobody` (through `setpriv`) and the file is root's, mode 0600:
 * unreadable for real, as for any user who does not own it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnCli } from '@ferry/testkit/cli-process';
import {
  assertExit,
  finishReceiver,
  hashTree,
  makeTempDir,
  receiveAll,
  SEND_BIN,
  startSender,
  WAIT,
  writeFileAt,
} from '@ferry/testkit/harness';
import { describe, expect, it } from 'vitest';

const NOBODY = 65_534;

describe('U10: unreadable files', () => {
  it('U10: ferry-send lists an unreadable file in a folder as skipped, with the reason, and the receiver gets the rest', async () => {
    const src = await makeTempDir('u10-src');
    await writeFileAt(src, 'docs/ok.txt', 'ok\n');
    const secret = await writeFileAt(src, 'docs/secret.txt', 'no\n');
    await fs.chmod(src, 0o755);
    await fs.chmod(path.join(src, 'docs'), 0o755);
    await fs.chmod(path.join(src, 'docs/ok.txt'), 0o644);
    await fs.chmod(secret, 0o600);
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) await fs.chmod(secret, 0o000);
    // As root: the launcher builds its bundle now, as root, so that `nobody` only reads it.
    if (asRoot) assertExit(await finishReceiver(spawnCli(SEND_BIN, ['--version']), WAIT.startMs), 0);
    const wrapper = asRoot
      ? {
          file: 'setpriv',
          prefix: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'],
          label: 'as nobody',
        }
      : undefined;
    if (asRoot) {
      // The premise: that user really cannot read the file.
      expect(() =>
        execFileSync('setpriv', [...wrapper!.prefix, 'cat', secret], { stdio: 'pipe' }),
      ).toThrow();
    }
    const sender = await startSender([path.join(src, 'docs')], ['--no-encryption'], { wrapper });
    expect(sender.listening.skipped).toEqual([
      { path: 'docs/secret.txt', reason: 'file not readable: permission denied' },
    ]);
    expect(sender.listening.files).toBe(1);
    const out = await makeTempDir('u10-out');
    const run = await receiveAll(sender, out, { args: ['--no-encryption'] });
    assertExit(run, 0);
    expect(Object.keys(await hashTree(out)).sort()).toEqual(['docs', 'docs/ok.txt']);
    await sender.stop();
  });
});
