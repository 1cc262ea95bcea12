import { type ChildProcess, spawn } from 'node:child_process';
import { onCleanup } from './cleanup.ts';
import { type ExitInfo, type JsonEvent, OutputLog } from './output-log.ts';

/** Options of {@link spawnCli}. */
export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** `ignore` (the default) gives the process /dev/null, which is not a terminal. */
  readonly stdin?: 'ignore' | 'pipe';
}

/** A Ferry CLI running as a real process, with its output captured. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly log: OutputLog;
  readonly events: readonly JsonEvent[];
  /** True until the process has exited and its output is drained. */
  readonly running: boolean;
  waitForEvent(
    name: string,
    timeoutMs: number,
    match?: (event: JsonEvent) => boolean,
  ): Promise<JsonEvent>;
  waitForExit(timeoutMs: number): Promise<ExitInfo>;
  /** Sends `signal` if the process still runs. */
  signal(signal: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();

// Last resort if the test worker itself goes away: no orphaned senders holding ports.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The environment every CLI runs with: no colours, so text output is stable. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.FORCE_COLOR;
  return env;
}

/**
 * Starts `node <script> ...args` (the launchers compile the TypeScript themselves). The process is
 * SIGKILLed after the test if it still runs.
 */
export function spawnCli(
  script: string,
  args: readonly string[],
  options: SpawnOptions = {},
): CliProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd,
    env: options.env ?? cliEnv(),
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${script}`);
  const name = script
    .split('/')
    .at(-1)!
    .replace(/\.mjs$/, '');
  const log = new OutputLog(`${name} (pid ${child.pid}) ${args.join(' ')}`);
  live.add(child);
  child.stdout!.setEncoding('utf8').on('data', (text: string) => log.appendStdout(text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => log.appendStderr(text));
  // 'close', not 'exit': by then every byte the process printed has been read.
  child.once('close', (code, signal) => {
    live.delete(child);
    log.markExited({ code, signal });
  });
  onCleanup(`${name} pid ${child.pid}`, async () => {
    if (log.exit) return;
    child.kill('SIGKILL');
    await log.waitForExit(10_000);
  });
  return {
    child,
    pid: child.pid,
    log,
    events: log.events,
    get running() {
      return log.exit === undefined;
    },
    waitForEvent: (eventName, timeoutMs, match) => log.waitForEvent(eventName, timeoutMs, match),
    waitForExit: (timeoutMs) => log.waitForExit(timeoutMs),
    signal: (sig) => {
      if (!log.exit && child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
  };
}
