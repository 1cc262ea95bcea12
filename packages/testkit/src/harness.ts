import { fileURLToPath } from 'node:url';
import { type CliProcess, cliEnv, type SpawnOptions, spawnCli } from './cli-process.ts';
import type { ExitInfo, JsonEvent, OutputLog } from './output-log.ts';

export { cliEnv, type CliProcess, makeConfigDir, type SpawnOptions } from './cli-process.ts';
export { onCleanup } from './cleanup.ts';
export {
  hashFile,
  hashTree,
  listTree,
  makeTempDir,
  type PartialData,
  partialData,
  strayAfterCut,
  type TreeEntry,
  writeFileAt,
  writeRandomFile,
  writeSmallFiles,
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
  /** False for a `--no-encryption` sender, which shows no code. */
  readonly encryption: boolean;
  /** The short form of its key, `A1B2 C3D4 E5F6 0718` (undefined without encryption). */
  readonly fingerprint: string | undefined;
  /** Its FERRY_CONFIG_DIR. */
  readonly configDir: string;
  readonly events: readonly JsonEvent[];
  /**
   * The pairing code it shows now, `1234-5678`: codes change when used or retired, so this is
   * the last `code` event. Throws if it shows none (no encryption, or pairing closed).
   */
  code(): string;
  /**
   * The code it shows now, once no receiver started by this harness holds or has used it: a
   * code pairs one receiver, so a second receiver waits for the next code.
   */
  freshCode(timeoutMs?: number): Promise<string>;
  waitForEvent(
    name: string,
    match?: (event: JsonEvent) => boolean,
    timeoutMs?: number,
  ): Promise<JsonEvent>;
  /** SIGINT, then waits for the exit. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
}

/** Options of {@link startSender}. */
export interface SenderOptions extends SpawnOptions {
  /** The port to listen on; 0 (a free port) by default. */
  readonly port?: number;
  /** The program to run instead of the launcher {@link SEND_BIN} (a single-file build). */
  readonly program?: string;
}

/**
 * Starts `ferry-send --host 127.0.0.1 --port 0 --json [...extraArgs] <paths>` and waits for
 * `listening` and, with encryption (the default), for its first pairing code.
 */
export async function startSender(
  paths: readonly string[],
  extraArgs: readonly string[] = [],
  options: SenderOptions = {},
): Promise<RunningSender> {
  const { port: askedPort = 0, program = SEND_BIN, ...spawnOptions } = options;
  const proc = spawnCli(
    program,
    ['--host', '127.0.0.1', '--port', String(askedPort), '--json', ...extraArgs, '--', ...paths],
    spawnOptions,
  );
  const listening = await proc.waitForEvent('listening', WAIT.startMs);
  // With --ui the window's address comes first.
  const first = proc.events[0]?.event === 'window' ? proc.events[1] : proc.events[0];
  if (first !== listening)
    throw new Error(proc.log.report('the first JSON line is not "listening"'));
  const port = listening.port;
  if (typeof port !== 'number' || port <= 0)
    throw new Error(proc.log.report('"listening" has no port'));
  const encryption = listening.encryption;
  if (typeof encryption !== 'boolean')
    throw new Error(proc.log.report('"listening" does not say whether it encrypts'));
  if (encryption !== !extraArgs.includes('--no-encryption'))
    throw new Error(proc.log.report(`"listening" says encryption: ${encryption}`));
  const fingerprint = listening.fingerprint as string | undefined;
  if (encryption) {
    if (typeof fingerprint !== 'string' || !/^[0-9A-F]{4}( [0-9A-F]{4}){3}$/.test(fingerprint))
      throw new Error(proc.log.report('"listening" has no key fingerprint'));
    const first = await proc.waitForEvent('code', WAIT.startMs);
    if (first.reason !== 'first' || typeof first.code !== 'string' || !isCode(first.code))
      throw new Error(proc.log.report('the first "code" event is not a first code'));
  } else if (fingerprint !== undefined) {
    throw new Error(proc.log.report('"listening" shows a key without encryption'));
  }
  senderLogs.add(proc.log);
  proc.child.once('close', () => senderLogs.delete(proc.log));
  const current = (): string | undefined => {
    let code: string | undefined;
    for (const event of proc.events) {
      if (event.event === 'code') code = event.code as string;
      else if (event.event === 'pairing-closed') code = undefined;
    }
    return code;
  };
  return {
    port,
    address: `127.0.0.1:${port}`,
    process: proc,
    listening,
    encryption,
    fingerprint,
    configDir: proc.configDir,
    events: proc.events,
    code: () => {
      const code = current();
      if (code === undefined) throw new Error(proc.log.report('the sender shows no pairing code'));
      return code;
    },
    freshCode: async (timeoutMs = WAIT.transferMs) => {
      if (!encryption) throw new Error(proc.log.report('a --no-encryption sender has no code'));
      return proc.log.waitFor(
        'a pairing code no receiver holds or has used',
        () => {
          const code = current();
          if (code === undefined) return undefined;
          return usedCodes.has(digits(code)) || heldCodes.has(digits(code)) ? undefined : code;
        },
        timeoutMs,
      );
    },
    waitForEvent: (name, match, timeoutMs = WAIT.transferMs) =>
      proc.waitForEvent(name, timeoutMs, match),
    stop: async (timeoutMs = WAIT.reactMs) => {
      proc.signal('SIGINT');
      return proc.waitForExit(timeoutMs);
    },
  };
}

/** `1234-5678`, as ferry-send shows a code. */
export function isCode(text: string): boolean {
  return /^\d{4}-\d{4}$/.test(text);
}

/** The digits of a code: `1234-5678` becomes `12345678`. */
export function digits(code: string): string {
  return code.replace(/\D/g, '');
}

/** Codes a receiver started here paired with: used up, whichever sender showed them. */
const usedCodes = new Set<string>();
/** Codes given to a receiver that still runs and has not paired yet. */
const heldCodes = new Set<string>();
/** The output logs of running senders, whose `freshCode` waits also depend on the sets above. */
const senderLogs = new Set<OutputLog>();

function codesChanged(): void {
  for (const log of senderLogs) log.recheck();
}

/** Options of the receiver helpers. */
export interface ReceiverOptions extends SpawnOptions {
  /**
   * The pairing code to pass in FERRY_CODE, or the sender whose code to pass (see
   * {@link RunningSender.freshCode}). Without it the receiver gets no code.
   */
  readonly code?: string | RunningSender;
  /** How long the run may take, start to exit (the run helpers only). */
  readonly timeoutMs?: number;
  /** The program to run instead of the launcher {@link RECEIVE_BIN} (a single-file build). */
  readonly program?: string;
}

/**
 * Starts `ferry-receive <args>` without waiting for it. A code given is held while the receiver
 * runs, and counts as used once the receiver paired with it.
 */
export async function startReceiver(
  args: readonly string[],
  options: ReceiverOptions = {},
): Promise<CliProcess> {
  const { code: from, timeoutMs: _unused, program = RECEIVE_BIN, ...spawnOptions } = options;
  const code = typeof from === 'object' ? await from.freshCode() : from;
  if (code === undefined) return spawnCli(program, args, spawnOptions);
  const key = digits(code);
  heldCodes.add(key);
  const env = { ...(spawnOptions.env ?? cliEnv()), FERRY_CODE: code };
  const proc = spawnCli(program, args, { ...spawnOptions, env });
  proc.log.onEvent((event) => {
    if (event.event === 'secured' && event.method === 'code') usedCodes.add(key);
  });
  proc.child.once('close', () => {
    // Text mode prints no events; its "Connected" line says how it was secured.
    if (/\(encrypted; paired with the code/.test(proc.log.stdout)) usedCodes.add(key);
    heldCodes.delete(key);
    codesChanged();
  });
  return proc;
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
  options: ReceiverOptions = {},
): Promise<ReceiverRun> {
  const proc = await startReceiver(args, options);
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

/** Options of {@link receiveAll}. */
export interface ReceiveAllOptions extends ReceiverOptions {
  /** More arguments, put before the address. */
  readonly args?: readonly string[];
}

/**
 * `ferry-receive --yes --json --out <outDir> [...args] <address>`, run to its exit. Given a
 * sender that encrypts, the receiver gets the sender's code (unless `code` says otherwise);
 * given an address, no code.
 */
export function receiveAll(
  from: string | RunningSender,
  outDir: string,
  options: ReceiveAllOptions = {},
): Promise<ReceiverRun> {
  const { args = [], ...rest } = options;
  const address = typeof from === 'string' ? from : from.address;
  const code = typeof from !== 'string' && from.encryption ? from : undefined;
  return runReceiver(['--yes', '--json', '--out', outDir, ...args, address], { code, ...rest });
}

/**
 * `ferry-receive --yes --json [args] --out <outDir> <address>` started from `sender` (with its
 * code when it encrypts), returned once it reports progress: a transfer under way, for a test
 * to interrupt. Offer a file large enough to still be under way then (the run's big file).
 */
export async function receiverMidTransfer(
  sender: RunningSender,
  outDir: string,
  args: readonly string[] = [],
): Promise<CliProcess> {
  const receiver = await startReceiver(
    ['--yes', '--json', ...args, '--out', outDir, sender.address],
    {
      code: sender.encryption ? sender : undefined,
    },
  );
  await receiver.waitForEvent('progress', WAIT.startMs);
  return receiver;
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
