/**
 * What the real `ferry-send` prints for people (text mode, no terminal), in the sequence a new
 * user went through: a receiver that first learns it needs a code, a wrong code, then the right
 * one (U11), and the closing line of the transfer (U1).
 */
import { spawnCli } from '@ferry/testkit/cli-process';
import {
  assertExit,
  cliEnv,
  makeTempDir,
  runReceiver,
  SEND_BIN,
  WAIT,
  writeFileAt,
} from '@ferry/testkit/harness';
import { describe, expect, it } from 'vitest';

/** Stops the sender at the end of the test. */
function stop(proc: ReturnType<typeof spawnCli>): Promise<unknown> {
  if (proc.running) proc.child.kill('SIGINT');
  return proc.waitForExit(WAIT.reactMs);
}

describe("ferry-send's screen", () => {
  it("U11: numbers the first receiver #1, and shows the code again after a wrong attempt without the receiver's advice", async () => {
    const src = await makeTempDir('screen-src');
    const file = await writeFileAt(src, 'a.txt', 'alpha\n');
    const sender = spawnCli(SEND_BIN, ['--host', '127.0.0.1', '--port', '0', file]);
    try {
      const lines = () => sender.log.stdout.split('\n');
      const [port, code] = await sender.log.waitFor(
        'the address and the pairing code',
        () => {
          const address = /ferry-receive 127\.0\.0\.1:(\d+)/.exec(sender.log.stdout)?.[1];
          const shown = /^Pairing code: (\d{4}-\d{4})/m.exec(sender.log.stdout)?.[1];
          return address && shown ? [address, shown] : undefined;
        },
        WAIT.startMs,
      );
      const address = `127.0.0.1:${port}`;
      const out = await makeTempDir('screen-out');

      // No code and no terminal: the receiver connects, learns that a code is needed, hangs up.
      const noCode = await runReceiver(['--yes', '--out', out, address], { env: cliEnv() });
      expect(noCode.code, noCode.report('the receiver without a code')).not.toBe(0);

      // A wrong code: one line on the sender, showing the code still valid.
      const wrong = code === '1111-1111' ? '2222-2222' : '1111-1111';
      assertExit(await runReceiver(['--yes', '--out', out, address], { code: wrong }), 1);
      const failure = await sender.log.waitFor(
        'the wrong attempt',
        () => lines().find((line) => line.startsWith('A receiver gave a wrong pairing code')),
        WAIT.reactMs,
      );
      expect(failure).toBe(
        `A receiver gave a wrong pairing code (1 of 3 attempts). Pairing code: ${code}`,
      );

      // The right code: the first receiver that got in is #1.
      const run = await runReceiver(['--yes', '--out', out, address], { code });
      assertExit(run, 0);
      expect(lines().filter((line) => / connected/.test(line))).toEqual([
        expect.stringMatching(/^#1 127\.0\.0\.1:\d+ \(.+\) connected \(paired with the code, key /),
      ]);
      // Advice meant for the receiver's user never shows on the sender.
      expect(sender.log.stdout).not.toContain('check the code the sender shows');
      expect(sender.log.stdout).not.toMatch(/failed: .*ERR_PAIRING_FAILED/);
    } finally {
      await stop(sender);
    }
  });

  it('U1: ends a transfer with a closing line in rounded numbers (the time from the request is pinned by sender/sender)', async () => {
    const src = await makeTempDir('closing-src');
    const file = await writeFileAt(src, 'a.txt', 'alpha\n');
    const sender = spawnCli(SEND_BIN, [
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--no-encryption',
      file,
    ]);
    try {
      const lines = () => sender.log.stdout.split('\n');
      const port = await sender.log.waitFor(
        'the address',
        () => /ferry-receive 127\.0\.0\.1:(\d+)/.exec(sender.log.stdout)?.[1],
        WAIT.startMs,
      );
      const out = await makeTempDir('closing-out');
      const run = await runReceiver([
        '--yes',
        '--no-encryption',
        '--out',
        out,
        `127.0.0.1:${port}`,
      ]);
      assertExit(run, 0);
      const closing = await sender.log.waitFor(
        'the closing line',
        () => lines().find((line) => line.includes(' took ')),
        WAIT.reactMs,
      );
      expect(closing).toMatch(
        /^#1 127\.0\.0\.1:\d+ \(.+\) took 1 file \(6 B\) in (less than 0\.1s|\d+\.\ds at \d+ B\/s)$/,
      );
    } finally {
      await stop(sender);
    }
  });
});
