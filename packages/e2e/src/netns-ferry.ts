/**
 * Ferry's CLIs in the hosts of a namespace network (`@ferry/testkit/netns`): senders that listen
 * on every interface and announce themselves, and receivers that look for them. Shared by the
 * discovery tests and the benchmark.
 */
import { readFileSync } from 'node:fs';
import {
  type CliProcess,
  cliEnv,
  type JsonEvent,
  RECEIVE_BIN,
  SEND_BIN,
  WAIT,
} from '@ferry/testkit/harness';
import type { NetnsHost } from '@ferry/testkit/netns';

/** A `ferry-send --json` running in a host, listening on all its interfaces. */
export interface NetnsSender {
  readonly host: NetnsHost;
  readonly name: string;
  readonly process: CliProcess;
  readonly port: number;
  /** `<host's first IPv4>:<port>`, what a user would type. */
  readonly address: string;
  /** `A1B2 C3D4 E5F6 0718`, as `listening` shows it (undefined in clear). */
  readonly fingerprint: string | undefined;
  /** The same 16 hex digits in lower case, as the TXT record's `fp` carries them ('' in clear). */
  readonly keyHint: string;
  /** The pairing code it shows now. */
  code(): string;
  /** SIGINT, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `ferry-send --json --port 0 --name <name> [...extra] -- <paths>` in `host` and waits until
 * it listens, shows its first code (when it encrypts) and, unless `--no-announce` is in `extra`,
 * has announced itself.
 */
export async function startSenderIn(
  host: NetnsHost,
  name: string,
  paths: readonly string[],
  extra: readonly string[] = [],
): Promise<NetnsSender> {
  const args = ['--json', '--port', '0', '--name', name, ...extra, '--', ...paths];
  // A conversation ends with its stdin: keep it open.
  const proc = host.spawnCli(SEND_BIN, args, {
    stdin: extra.includes('--chat') ? 'pipe' : 'ignore',
  });
  const listening = await proc.waitForEvent('listening', WAIT.startMs);
  const fingerprint = listening.fingerprint as string | undefined;
  if (listening.encryption) await proc.waitForEvent('code', WAIT.startMs);
  if (!extra.includes('--no-announce')) {
    const outcome = await proc.log.waitFor(
      'the "announced" event',
      () => proc.events.find((e) => e.event === 'announced' || e.event === 'announce-failed'),
      WAIT.startMs,
    );
    if (outcome.event !== 'announced')
      throw new Error(proc.log.report('it could not announce itself'));
  }
  const port = listening.port as number;
  return {
    host,
    name,
    process: proc,
    port,
    address: `${host.ipv4}:${port}`,
    fingerprint,
    keyHint: fingerprint ? fingerprint.replaceAll(' ', '').toLowerCase() : '',
    code: () => {
      const code = proc.events.findLast((e) => e.event === 'code')?.code;
      if (typeof code !== 'string') throw new Error(proc.log.report('it shows no pairing code'));
      return code;
    },
    stop: async () => {
      proc.signal('SIGINT');
      await proc.waitForExit(WAIT.reactMs);
    },
  };
}

/** Starts `ferry-receive <args>` in `host`, with `code` in FERRY_CODE if given. */
export function startReceiverIn(
  host: NetnsHost,
  args: readonly string[],
  code?: string,
): CliProcess {
  return host.spawnCli(RECEIVE_BIN, args, { env: cliEnv(code ? { FERRY_CODE: code } : {}) });
}

/** One `ferry-receive --list --json` run in a host, to its end. */
export interface Listing {
  readonly process: CliProcess;
  readonly code: number | null;
  /** Its `sender-found` events. */
  readonly found: readonly JsonEvent[];
  /** The receiver's peak resident set size in KiB (sampled), if asked for. */
  readonly peakRssKb: number;
}

/** Runs `ferry-receive --list --json [...extra]` in `host` to its exit. */
export async function listIn(
  host: NetnsHost,
  extra: readonly string[] = [],
  options: { rss?: boolean } = {},
): Promise<Listing> {
  const proc = startReceiverIn(host, ['--list', '--json', ...extra]);
  const rss = options.rss ? samplePeakRss(proc.pid) : undefined;
  try {
    const exit = await proc.waitForExit(WAIT.transferMs);
    const found = proc.events.filter((e) => e.event === 'sender-found');
    return { process: proc, code: exit.code, found, peakRssKb: rss?.peakKb() ?? 0 };
  } finally {
    rss?.stop();
  }
}

/**
 * Samples the peak resident set size (VmHWM, a high-water mark the kernel keeps) of `pid` every
 * 20 ms until stopped or the process is gone. Linux only.
 */
export function samplePeakRss(pid: number): { peakKb(): number; stop(): void } {
  let peak = 0;
  const sample = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      clearInterval(timer);
    }
  };
  const timer = setInterval(sample, 20);
  sample();
  return { peakKb: () => peak, stop: () => clearInterval(timer) };
}
