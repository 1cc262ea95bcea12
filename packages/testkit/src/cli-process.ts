import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './cleanup.ts';
import { type ExitInfo, type JsonEvent, OutputLog } from './output-log.ts';

/** Options of {@link spawnCli}. */
export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * FERRY_CONFIG_DIR: the identity key and remembered peers. Give the same folder to two runs of
   * one side to make it remember; without it (and without FERRY_CONFIG_DIR in `env`) every
   * process gets a fresh private folder, so no test ever touches the real ~/.config/ferry.
   */
  readonly configDir?: string;
  /** `ignore` (the default) gives the process /dev/null, which is not a terminal. */
  readonly stdin?: 'ignore' | 'pipe';
  /** Written to stdin, which is then closed; implies `stdin: 'pipe'`. */
  readonly input?: string;
  /**
   * Runs `file ...prefix <node> <script> ...args` instead of node itself, e.g. inside `unshare`.
   * `prefix` ends where the node command line begins; `label` names the wrapper in messages.
   */
  readonly wrapper?: {
    readonly file: string;
    readonly prefix: readonly string[];
    readonly label: string;
  };
}

/** A Ferry CLI running as a real process, with its output captured. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly log: OutputLog;
  /** Its FERRY_CONFIG_DIR. */
  readonly configDir: string;
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

/**
 * The environment every CLI runs with: no colours, so text output is stable, and no pairing code
 * or config folder inherited from whoever runs the tests (only `extra` may set them).
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  delete env.FERRY_CODE;
  delete env.FERRY_CONFIG_DIR;
  return { ...env, ...extra };
}

/** A new private config folder (mode 0700, like Ferry's own), deleted after the test or file. */
export function makeConfigDir(label = 'config'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ferry-e2e-${label}-`));
  onCleanup(`config folder ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * `env` (default {@link cliEnv}) with FERRY_CONFIG_DIR set: `configDir` if given, else the one
 * `env` names, else a fresh folder made now. Made before the process starts, so its cleanup runs
 * after the process is killed (disposers run newest first).
 */
export function envWithConfigDir(
  env: NodeJS.ProcessEnv | undefined,
  configDir: string | undefined,
): { env: NodeJS.ProcessEnv; configDir: string } {
  const base = env ?? cliEnv();
  const dir = configDir ?? base.FERRY_CONFIG_DIR ?? makeConfigDir();
  return { env: { ...base, FERRY_CONFIG_DIR: dir }, configDir: dir };
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
  const { env, configDir } = envWithConfigDir(options.env, options.configDir);
  const { wrapper } = options;
  const name = script
    .split('/')
    .at(-1)!
    .replace(/\.mjs$/, '');
  return spawnLogged(
    wrapper ? wrapper.file : process.execPath,
    wrapper ? [...wrapper.prefix, process.execPath, script, ...args] : [script, ...args],
    {
      ...options,
      env,
      label: `${name}${wrapper ? ` ${wrapper.label}` : ''}`,
      shownArgs: args,
      configDir,
    },
  );
}

/** Options of {@link spawnLogged}. */
export interface LoggedSpawnOptions {
  readonly cwd?: string;
  /** The whole environment (no config folder is added). */
  readonly env?: NodeJS.ProcessEnv;
  readonly stdin?: 'ignore' | 'pipe';
  readonly input?: string;
  /** What the process is called in messages, before its pid. */
  readonly label: string;
  /** The arguments shown in messages (all of `args` by default). */
  readonly shownArgs?: readonly string[];
  /** Reported as the process's `configDir`; '' by default. */
  readonly configDir?: string;
}

/**
 * Starts any program (`file ...args`) with its output captured like a CLI's: JSON lines with an
 * `event` become events, waits fail with all output. SIGKILLed after the test if it still runs.
 */
export function spawnLogged(
  file: string,
  args: readonly string[],
  options: LoggedSpawnOptions,
): CliProcess {
  const stdin = options.input === undefined ? (options.stdin ?? 'ignore') : 'pipe';
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? cliEnv(),
    stdio: [stdin, 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  const name = options.label;
  const log = new OutputLog(`${name} (pid ${child.pid}) ${(options.shownArgs ?? args).join(' ')}`);
  live.add(child);
  if (child.stdin) {
    // A process that exits without reading its stdin is not a test failure (EPIPE).
    child.stdin.on('error', () => {});
    if (options.input !== undefined) child.stdin.end(options.input);
  }
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
    configDir: options.configDir ?? '',
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
