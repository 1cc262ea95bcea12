/**
 * A shaped link between two machines made of Linux network namespaces: hosts `a` and `b`, each
 * joined by a veth pair to a middle namespace. Each host shapes what it sends with `tc`'s `tbf`
 * (the bandwidth); the middle holds every frame for the one-way delay before passing it on, with
 * a small raw-socket forwarder (delay-forwarder.py), because this kernel has no `netem`. Nothing
 * in it reaches any other network. Needs root, iproute2, ethtool and Debian's python3;
 * {@link shapedLinkProblems} says what is missing.
 *
 * The frames the forwarder copies must be complete, so the hosts compute checksums themselves
 * and send no segmentation-offloaded frames: the MTU is raised instead (64 KB frames cost the
 * forwarder the least at 1 Gbit/s), which also keeps its packet rate low.
 *
 * Names start with `ferryt<pid>-`, like `@ferry/testkit/netns`, whose sweep removes what a
 * killed run left.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.ts';
import {
  killInside,
  NETNS_PREFIX,
  netnsProblems,
  SYSTEM_PYTHON,
  sweepStaleNamespaces,
} from './netns.ts';

const run = promisify(execFile);
const FORWARDER = fileURLToPath(new URL('./delay-forwarder.py', import.meta.url));

/** `ethtool -K` settings that leave checksums and segmentation to each host's kernel. */
const NO_OFFLOADS = ['tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'];

export interface ShapedLinkOptions {
  /** The bandwidth each way, in Mbit/s (10^6 bits per second), counting Ethernet headers. */
  readonly rateMbit: number;
  /** The delay each way, in ms: the round-trip time is about twice this. */
  readonly delayMs: number;
  /** The MTU of every interface on the link; 65000 by default. */
  readonly mtu?: number;
}

/** One end of the link. */
export interface ShapedHost {
  /** `a` or `b`. */
  readonly label: string;
  readonly ns: string;
  /** Its one IPv4 address, `10.78.<link>.1` (a) or `.2` (b). */
  readonly ipv4: string;
  /** The command line that runs `file args` in this host: `ip netns exec <ns> file args`. */
  command(file: string, args: readonly string[]): [string, string[]];
  /** Runs `file args` here to its end; resolves with its stdout, rejects on failure. */
  exec(file: string, args: readonly string[]): Promise<string>;
  /** Whether something listens on TCP `port` here. */
  listening(port: number): Promise<boolean>;
}

export interface ShapedLink {
  readonly options: Required<ShapedLinkOptions>;
  readonly a: ShapedHost;
  readonly b: ShapedHost;
  /** `ping` from a to b: the round-trip times, in ms, of `count` pings 0.2 s apart. */
  ping(count?: number): Promise<{ minMs: number; avgMs: number; maxMs: number }>;
  /** CPU-seconds (user + system) the forwarder has used so far. */
  forwarderCpuSeconds(): number;
  /** Kills the forwarder and whatever runs in the namespaces, deletes them; safe twice. */
  destroy(): Promise<void>;
}

let links = 0;

/** What stops this machine from making a shaped link, one line each (empty when nothing). */
export function shapedLinkProblems(): string[] {
  const problems = netnsProblems().filter(
    (problem) => !problem.includes('zeroconf') && !problem.includes('nft'),
  );
  for (const [file, args, pkg] of [
    ['tc', ['-V'], 'iproute2'],
    ['ethtool', ['--version'], 'ethtool'],
    [SYSTEM_PYTHON, ['--version'], 'python3'],
    ['ping', ['-V'], 'iputils-ping'],
  ] as const) {
    try {
      execFileSyncQuiet(file, args);
    } catch {
      problems.push(`\`${file}\` is not installed (apt-get install ${pkg})`);
    }
  }
  return problems;
}

/** Makes the three namespaces, shapes and starts the forwarder; removed by cleanup or destroy. */
export async function createShapedLink(options: ShapedLinkOptions): Promise<ShapedLink> {
  sweepStaleNamespaces();
  const opts = { mtu: 65000, ...options };
  const index = ++links;
  if (index > 254) throw new Error('at most 254 shaped links in one process');
  const prefix = `${NETNS_PREFIX}${process.pid}-s${index}`;
  const made: string[] = [];
  let forwarder: ChildProcess | undefined;
  let destroyed = false;

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    if (forwarder && forwarder.exitCode === null && forwarder.signalCode === null) {
      const exited = new Promise((resolve) => forwarder!.once('exit', resolve));
      forwarder.kill('SIGKILL');
      await exited;
    }
    for (const ns of made.reverse()) {
      killInside(ns);
      await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
    }
  };
  onCleanup(`shaped link ${prefix}-*`, destroy);

  try {
    const mid = `${prefix}-m`;
    for (const ns of [mid, `${prefix}-a`, `${prefix}-b`]) {
      await run('ip', ['netns', 'add', ns]);
      made.push(ns);
      await ip(ns, 'link', 'set', 'lo', 'up');
      // IPv4 only: no router or neighbour discovery traffic on the measured link.
      await inNs(ns, 'sh', [
        '-c',
        'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6',
      ]);
    }
    // Enough tokens for several full frames and for the timer's granularity at this rate, and a
    // queue that holds 50 ms of traffic before it drops.
    const rateBytes = (opts.rateMbit * 1e6) / 8;
    const burst = Math.max(8 * (opts.mtu + 14), Math.ceil(rateBytes / 250));
    const makeHost = async (label: 'a' | 'b', number: number): Promise<ShapedHost> => {
      const ns = `${prefix}-${label}`;
      const midEnd = `v${label}`;
      // `name` spelled out: `ip link add va …` would read the short name as a keyword.
      await ip(
        mid,
        'link',
        'add',
        'name',
        midEnd,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        ns,
      );
      await ip(mid, 'link', 'set', midEnd, 'mtu', String(opts.mtu), 'up');
      await ip(ns, 'link', 'set', 'eth0', 'mtu', String(opts.mtu), 'up');
      // Checksums and segmentation done by each host's kernel: the forwarder copies frames as
      // they are, and an offloaded frame carries neither.
      await inNs(mid, 'ethtool', ['-K', midEnd, ...NO_OFFLOADS]);
      await inNs(ns, 'ethtool', ['-K', 'eth0', ...NO_OFFLOADS]);
      const ipv4 = `10.78.${index}.${number}`;
      await ip(ns, 'addr', 'add', `${ipv4}/24`, 'dev', 'eth0');
      await inNs(ns, 'tc', [
        'qdisc',
        'add',
        'dev',
        'eth0',
        'root',
        'tbf',
        'rate',
        `${opts.rateMbit}mbit`,
        'burst',
        String(burst),
        'latency',
        '50ms',
      ]);
      return {
        label,
        ns,
        ipv4,
        command: (file, args) => ['ip', ['netns', 'exec', ns, file, ...args]],
        exec: (file, args) => inNs(ns, file, args),
        listening: async (port) => {
          const hex = port.toString(16).toUpperCase().padStart(4, '0');
          const table = await inNs(ns, 'cat', ['/proc/net/tcp']);
          return table.split('\n').some((line) => line.includes(`:${hex} 00000000:0000 0A`));
        },
      };
    };
    const a = await makeHost('a', 1);
    const b = await makeHost('b', 2);

    forwarder = spawn(
      'ip',
      ['netns', 'exec', mid, SYSTEM_PYTHON, FORWARDER, 'va', 'vb', String(opts.delayMs)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    await forwarderReady(forwarder);
    const pid = forwarder.pid!;

    const ping = async (count = 5) => {
      const out = await a.exec('ping', ['-n', '-q', '-c', String(count), '-i', '0.2', b.ipv4]);
      const match = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(out);
      if (!match) throw new Error(`ping from a to b printed no round-trip times:\n${out}`);
      return { minMs: Number(match[1]), avgMs: Number(match[2]), maxMs: Number(match[3]) };
    };
    return {
      options: opts,
      a,
      b,
      ping,
      forwarderCpuSeconds: () => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          return (Number(fields[11]) + Number(fields[12])) / 100;
        } catch {
          return 0;
        }
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** Resolves when the forwarder prints `ready`; rejects with its stderr if it exits first. */
function forwarderReady(child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the delay forwarder did not start: ${stderr}`)),
      10_000,
    );
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      if (line === 'ready') resolve();
      else reject(new Error(`the delay forwarder said ${JSON.stringify(line)}: ${stderr}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the delay forwarder exited (${code}): ${stderr}`));
    });
  });
}

async function ip(ns: string, ...args: string[]): Promise<void> {
  await inNs(ns, 'ip', args);
}

async function inNs(ns: string, file: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', ['netns', 'exec', ns, file, ...args]);
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() || String(error);
    throw new Error(`${file} ${args.join(' ')} in ${ns} failed: ${stderr}`, { cause: error });
  }
}

function execFileSyncQuiet(file: string, args: readonly string[]): void {
  const { status, error } = spawnSync(file, args, { stdio: 'ignore' });
  if (error || status !== 0) throw error ?? new Error(`${file} exited ${status}`);
}
