import { type IPty, spawn } from '@lydell/node-pty';
import { cliEnv, envWithConfigDir } from './cli-process.ts';
import { onCleanup } from './cleanup.ts';
import { type ExitInfo, OutputLog } from './output-log.ts';

// CSI and OSC sequences, and two-byte escapes: what a prompt library draws with.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** Terminal output without escape sequences, for matching prompt text. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** A CLI running on a pseudo-terminal, as if a person sat at it. */
export interface PtyProcess {
  readonly pty: IPty;
  readonly log: OutputLog;
  /** Its FERRY_CONFIG_DIR. */
  readonly configDir: string;
  /** Everything shown so far, escape sequences removed. */
  screen(): string;
  /** Types `text` (use `\r` for Enter). */
  type(text: string): void;
  /** Waits until the screen text, from `from` on, matches `pattern`; returns the offset after the match. */
  waitForText(pattern: RegExp | string, timeoutMs: number, from?: number): Promise<number>;
  waitForExit(timeoutMs: number): Promise<ExitInfo>;
}

/**
 * Starts `node <script> ...args` on a new pseudo-terminal; SIGKILLed after the test if still
 * running. Like spawnCli, it gets a private FERRY_CONFIG_DIR unless one is given.
 */
export function spawnOnPty(
  script: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; configDir?: string },
): PtyProcess {
  const { env, configDir } = envWithConfigDir(
    options.env ?? cliEnv({ TERM: 'xterm-256color' }),
    options.configDir,
  );
  const pty = spawn(process.execPath, [script, ...args], {
    name: 'xterm-256color',
    cols: 120,
    rows: 40,
    cwd: options.cwd,
    env,
  });
  const name = script
    .split('/')
    .at(-1)!
    .replace(/\.mjs$/, '');
  // A terminal has one output stream: everything lands in `stdout`.
  const log = new OutputLog(`${name} on a pty (pid ${pty.pid}) ${args.join(' ')}`);
  pty.onData((data) => log.appendStdout(data));
  pty.onExit(({ exitCode, signal }) => {
    log.markExited({ code: signal ? null : exitCode, signal: signal ? String(signal) : null });
  });
  onCleanup(`${name} pty pid ${pty.pid}`, async () => {
    if (log.exit) return;
    pty.kill('SIGKILL');
    await log.waitForExit(10_000);
  });
  const screen = () => stripAnsi(log.stdout);
  return {
    pty,
    log,
    configDir,
    screen,
    type: (text) => pty.write(text),
    waitForText: (pattern, timeoutMs, from = 0) =>
      log.waitFor(
        `the screen to show ${String(pattern)}`,
        () => {
          const shown = screen().slice(from);
          if (typeof pattern === 'string') {
            const at = shown.indexOf(pattern);
            return at < 0 ? undefined : from + at + pattern.length;
          }
          const match = pattern.exec(shown);
          return match ? from + match.index + match[0].length : undefined;
        },
        timeoutMs,
      ),
    waitForExit: (timeoutMs) => log.waitForExit(timeoutMs),
  };
}
