import { fileURLToPath } from 'node:url';
import { type CliProcess, type SpawnOptions, spawnCli } from './cli-process.ts';
import type { ExitInfo, JsonEvent } from './output-log.ts';

export { cliEnv, type CliProcess } from './cli-process.ts';
export { onCleanup } from './cleanup.ts';
export {
  hashFile,
  hashTree,
  listTree,
  makeTempDir,
  type TreeEntry,
  writeFileAt,
  writeRandomFile,
} from './files.ts';
export type { ExitInfo, JsonEvent } from './output-log.ts';

/** Absolute path of the `ferry-send` launcher. */
export const SEND_BIN = fileURLToPath(new URL('../../sender/bin/ferry-send.mjs', import.meta.url));
/** Absolute path of the `ferry-receive` launcher. */
export const RECEIVE_BIN = fileURLToPath(
  new URL('../../receiver/bin/ferry-receive.mjs', import.meta.url),
);

/** Bounds on waits; generous, because two cores run the CLIs, their compiler and the test at once. */
export const WAIT = {
  /** A CLI starting (its launcher compiles the TypeScript on first run) and printing its first line. */
  startMs: 30_000,
  /** A small transfer, start to exit. */
  transferMs: 60_000,
  /** A transfer of the big file, start to exit. */
  bigTransferMs: 90_000,
  /** A transfer of a file over 4 GiB, start to exit. */
  hugeTransferMs: 180_000,
  /** A process reacting to a signal or a dead peer. */
  reactMs: 20_000,
} as const;

/** A running `ferry-send --json` bound to 127.0.0.1 on a free port. */
export interface RunningSender {
  readonly port: number;
  /** `127.0.0.1:<port>`, what a receiver is given. */
  readonly address: string;
  readonly process: CliProcess;
  /** The `listening` event. */
  readonly listening: JsonEvent;
  readonly events: readonly JsonEvent[];
  waitForEvent(
    name: string,
    match?: (event: JsonEvent) => boolean,
    timeoutMs?: number,
  ): Promise<JsonEvent>;
  /** SIGINT, then waits for the exit. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
}

/** Starts `ferry-send --host 127.0.0.1 --port 0 --json [...extraArgs] <paths>` and waits for `listening`. */
export async function startSender(
  paths: readonly string[],
  extraArgs: readonly string[] = [],
  options: SpawnOptions = {},
): Promise<RunningSender> {
  const proc = spawnCli(
    SEND_BIN,
    ['--host', '127.0.0.1', '--port', '0', '--json', ...extraArgs, '--', ...paths],
    options,
  );
  const listening = await proc.waitForEvent('listening', WAIT.startMs);
  if (proc.events[0] !== listening)
    throw new Error(proc.log.report('the first JSON line is not "listening"'));
  const port = listening.port;
  if (typeof port !== 'number' || port <= 0)
    throw new Error(proc.log.report('"listening" has no port'));
  return {
    port,
    address: `127.0.0.1:${port}`,
    process: proc,
    listening,
    events: proc.events,
    waitForEvent: (name, match, timeoutMs = WAIT.transferMs) =>
      proc.waitForEvent(name, timeoutMs, match),
    stop: async (timeoutMs = WAIT.reactMs) => {
      proc.signal('SIGINT');
      return proc.waitForExit(timeoutMs);
    },
  };
}

/** Starts `ferry-receive <args>` without waiting for it. */
export function startReceiver(args: readonly string[], options: SpawnOptions = {}): CliProcess {
  return spawnCli(RECEIVE_BIN, args, options);
}

/** The whole run of one receiver. */
export interface ReceiverRun extends ExitInfo {
  readonly stdout: string;
  readonly stderr: string;
  readonly events: readonly JsonEvent[];
  readonly process: CliProcess;
  /** The last JSON event (`done` or `error` for a `--json` run). */
  readonly last: JsonEvent | undefined;
  /** A message with all of the receiver's output, for assertions. */
  report(headline: string): string;
}

/** Runs `ferry-receive <args>` to its exit, at most `timeoutMs`. */
export async function runReceiver(
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<ReceiverRun> {
  const proc = startReceiver(args, options);
  return finishReceiver(proc, options.timeoutMs ?? WAIT.transferMs);
}

/** Waits for a started receiver to exit and collects its run. */
export async function finishReceiver(proc: CliProcess, timeoutMs: number): Promise<ReceiverRun> {
  const exit = await proc.waitForExit(timeoutMs);
  return {
    ...exit,
    stdout: proc.log.stdout,
    stderr: proc.log.stderr,
    events: proc.events,
    process: proc,
    last: proc.events.at(-1),
    report: (headline) => proc.log.report(headline),
  };
}

/** `ferry-receive --yes --json --out <outDir> <address>`, run to its exit. */
export function receiveAll(
  address: string,
  outDir: string,
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<ReceiverRun> {
  return runReceiver(['--yes', '--json', '--out', outDir, address], options);
}

/** Throws with the receiver's whole output unless it exited with `code`. */
export function assertExit(run: ReceiverRun, code: number): void {
  if (run.code !== code || run.signal !== null) {
    throw new Error(
      run.report(
        `expected exit code ${code}, got ${run.signal ? `signal ${run.signal}` : `code ${run.code}`}`,
      ),
    );
  }
}
