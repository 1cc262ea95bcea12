/**
 * A small network of Linux network namespaces for tests of real multicast: a "switch" namespace
 * holding one bridge per segment, and host namespaces joined to a bridge by veth pairs, each with
 * `lo` up, an IPv4 address 10.77.<segment>.<host>/24 and an IPv6 link-local address. Nothing in
 * it reaches any other network: the switch has no uplink. Needs root and iproute2 (and nftables
 * for {@link NetnsHost.dropMulticast}); {@link netnsProblems} says what is missing.
 *
 * Every namespace name starts with `ferryt<pid>-`, the pid of the process that made it, so runs
 * in parallel never collide and {@link sweepStaleNamespaces} can remove what a killed run left.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.ts';
import {
  type CliProcess,
  cliEnv,
  type LoggedSpawnOptions,
  type SpawnOptions,
  spawnCli,
  spawnLogged,
} from './cli-process.ts';

const run = promisify(execFile);

/** The start of every namespace name a test run makes. */
export const NETNS_PREFIX = 'ferryt';

/** The python with Debian's python3-zeroconf (not one from pyenv that shadows it on the PATH). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** One layer-2 segment: a bridge in the switch namespace and its IPv4 subnet. */
export interface NetnsSegment {
  /** 1, 2, …: the third byte of its addresses. */
  readonly index: number;
  /** `10.77.<index>.0/24`. */
  readonly subnet: string;
  /** False for a segment whose hosts have IPv6 link-local addresses only. */
  readonly ipv4: boolean;
}

/** One interface of a host. */
export interface NetnsInterface {
  /** `eth0`, `eth1`, … inside the host's namespace. */
  readonly name: string;
  readonly segment: NetnsSegment;
  /** `10.77.<segment>.<host>`; `''` on a segment without IPv4. */
  readonly ipv4: string;
  /** Its `fe80::…` address (without `%interface`). */
  readonly ipv6LinkLocal: string;
}

/** A machine on the network: one namespace with one interface per segment it joined. */
export interface NetnsHost {
  /** `h1`, `h2`, …: its number is the last byte of its IPv4 addresses. */
  readonly label: string;
  /** The namespace's name. */
  readonly ns: string;
  readonly interfaces: readonly NetnsInterface[];
  /** The IPv4 address of its first interface. */
  readonly ipv4: string;
  /**
   * Runs a Ferry CLI launcher in this host (see {@link spawnCli}); `wrapper` is set here. Programs
   * run in a host see its label (`h1`) as their host name.
   */
  spawnCli(script: string, args: readonly string[], options?: SpawnOptions): CliProcess;
  /** Runs any program in this host, its output captured like a CLI's. */
  spawn(file: string, args: readonly string[], options?: Partial<LoggedSpawnOptions>): CliProcess;
  /** Runs `file args` in this host to its end; resolves with its stdout, rejects on failure. */
  exec(file: string, args: readonly string[], input?: string): Promise<string>;
  /** Drops every UDP packet to or from port 5353 (mDNS) in and out of this host, with nftables. */
  dropMulticast(): Promise<void>;
}

/** The network; {@link createNetnsNetwork} removes it after the test file (or call destroy). */
export interface NetnsNetwork {
  /** `ferryt<pid>-<n>`: every namespace of this network starts with it. */
  readonly prefix: string;
  readonly segments: readonly NetnsSegment[];
  readonly hosts: readonly NetnsHost[];
  /** A new segment (bridge), empty until a host joins it; `ipv4: false`: IPv6 link-local only. */
  addSegment(options?: { readonly ipv4?: boolean }): Promise<NetnsSegment>;
  /** A new host joined to `segment` (the first one by default). */
  addHost(segment?: NetnsSegment): Promise<NetnsHost>;
  /** Gives `host` one more interface, on `segment`, while whatever runs there keeps running. */
  connect(host: NetnsHost, segment: NetnsSegment): Promise<NetnsInterface>;
  /** Kills what runs in the namespaces and deletes them; safe to call twice. */
  destroy(): Promise<void>;
}

let networks = 0;

/**
 * What stops this machine from running namespace tests, one line each (empty when nothing):
 * not root, no `ip`, no `nft`, no python3-zeroconf for {@link SYSTEM_PYTHON}.
 */
export function netnsProblems(): string[] {
  const problems: string[] = [];
  if (process.platform !== 'linux')
    return [`network namespaces need Linux, not ${process.platform}`];
  if (process.getuid?.() !== 0) problems.push('not running as root (network namespaces need it)');
  if (!runs('ip', ['-V'])) problems.push('`ip` (iproute2) is not installed');
  if (!runs('unshare', ['--version'])) problems.push('`unshare` (util-linux) is not installed');
  if (!runs('nft', ['--version'])) problems.push('`nft` (nftables) is not installed');
  if (!runs(SYSTEM_PYTHON, ['-c', 'import zeroconf']))
    problems.push(`python3-zeroconf is not installed for ${SYSTEM_PYTHON}`);
  return problems;
}

/**
 * Throws, with what is missing and how to get it, unless {@link netnsProblems} is empty: tests
 * that need namespaces fail on a machine without them rather than pass having tested nothing.
 */
export function assertNetnsReady(): void {
  const problems = netnsProblems();
  if (problems.length === 0) return;
  throw new Error(
    [
      'these tests need real network namespaces, and this machine cannot make them:',
      ...problems.map((problem) => `  - ${problem}`),
      'Run them as root on Linux: `npm run check` installs iproute2, nftables and',
      'python3-zeroconf first (scripts/system-deps.mjs), or `apt-get install` them.',
    ].join('\n'),
  );
}

/**
 * Deletes the namespaces named `<prefix><pid>-…` whose pid no longer runs, after killing what
 * still runs in them: what a run that was killed left behind. Returns the names removed.
 */
export function sweepStaleNamespaces(prefix: string = NETNS_PREFIX): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const match = new RegExp(`^${prefix}(\\d+)-`).exec(ns);
    if (!match || isAlive(Number(match[1]))) continue;
    killInside(ns);
    spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    removed.push(ns);
  }
  return removed;
}

/** The names `ip netns list` shows. */
export function listNamespaces(): string[] {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (listed.status !== 0) return [];
  return listed.stdout
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean);
}

/** Makes the switch namespace and the first segment; removed after the test file by cleanup. */
export async function createNetnsNetwork(): Promise<NetnsNetwork> {
  sweepStaleNamespaces();
  const prefix = `${NETNS_PREFIX}${process.pid}-${++networks}`;
  const switchNs = `${prefix}-sw`;
  const made: string[] = [];
  const segments: NetnsSegment[] = [];
  const hosts: NetnsHost[] = [];
  let destroyed = false;

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    // Hosts first: deleting a namespace kills its veth ends, and the switch's with them.
    for (const ns of made.reverse()) {
      killInside(ns);
      await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
    }
  };
  onCleanup(`network namespaces ${prefix}-*`, destroy);

  const addNamespace = async (ns: string): Promise<void> => {
    await run('ip', ['netns', 'add', ns]);
    made.push(ns);
    await ip(ns, 'link', 'set', 'lo', 'up');
  };

  await addNamespace(switchNs);
  // The switch stays silent: no IPv6 of its own (no router or neighbour traffic from it).
  await sysctl(switchNs, {
    'net/ipv6/conf/all/disable_ipv6': 1,
    'net/ipv6/conf/default/disable_ipv6': 1,
  });

  const addSegment = async (options: { readonly ipv4?: boolean } = {}): Promise<NetnsSegment> => {
    const index = segments.length + 1;
    if (index > 254) throw new Error('a namespace network has at most 254 segments');
    // No multicast snooping: every multicast frame floods to every port, like a plain switch.
    await ip(
      switchNs,
      'link',
      'add',
      `br${index}`,
      'type',
      'bridge',
      'forward_delay',
      '0',
      'mcast_snooping',
      '0',
    );
    await ip(switchNs, 'link', 'set', `br${index}`, 'up');
    const segment = { index, subnet: `10.77.${index}.0/24`, ipv4: options.ipv4 !== false };
    segments.push(segment);
    return segment;
  };

  const connect = async (host: NetnsHost, segment: NetnsSegment): Promise<NetnsInterface> => {
    const mutable = host as NetnsHost & { interfaces: NetnsInterface[] };
    const number = Number(host.label.slice(1));
    const name = `eth${host.interfaces.length}`;
    const port = `${host.label}-${name}`;
    await ip(switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', name, 'netns', host.ns);
    await ip(switchNs, 'link', 'set', port, 'master', `br${segment.index}`);
    await ip(switchNs, 'link', 'set', port, 'up');
    const ipv4 = segment.ipv4 ? `10.77.${segment.index}.${number}` : '';
    if (ipv4) await ip(host.ns, 'addr', 'add', `${ipv4}/24`, 'dev', name);
    await ip(host.ns, 'link', 'set', name, 'up');
    // A machine on a LAN has a default route; without one, multicast sent without naming an
    // interface finds no route. Nothing lies beyond the switch, so nothing leaves the network.
    if (host.interfaces.length === 0 && ipv4)
      await ip(host.ns, 'route', 'add', 'default', 'dev', name);
    const ipv6LinkLocal = await linkLocal(host.ns, name);
    const iface = { name, segment, ipv4, ipv6LinkLocal };
    mutable.interfaces.push(iface);
    return iface;
  };

  const addHost = async (segment: NetnsSegment = segments[0]!): Promise<NetnsHost> => {
    const number = hosts.length + 1;
    if (number > 254) throw new Error('a namespace network has at most 254 hosts');
    const label = `h${number}`;
    const ns = `${prefix}-${label}`;
    await addNamespace(ns);
    // Addresses usable at once: no duplicate address detection to wait for on this private link.
    await sysctl(ns, { 'net/ipv6/conf/all/accept_dad': 0, 'net/ipv6/conf/default/accept_dad': 0 });
    const interfaces: NetnsInterface[] = [];
    // Each program also gets a UTS namespace named after the host: on one machine every
    // namespace would share its host name, and mDNS responders would see a conflict where
    // separate machines have none. `exec` all the way, so the pid is the program's own.
    const inHost = [
      'netns',
      'exec',
      ns,
      'unshare',
      '--uts',
      'sh',
      '-c',
      'echo "$0" > /proc/sys/kernel/hostname && exec "$@"',
      label,
    ];
    const wrapper = { file: 'ip', prefix: inHost, label: `in ${label}` };
    const host: NetnsHost = {
      label,
      ns,
      interfaces,
      get ipv4() {
        return interfaces[0]!.ipv4;
      },
      spawnCli: (script, args, options = {}) => spawnCli(script, args, { ...options, wrapper }),
      spawn: (file, args, options = {}) =>
        spawnLogged('ip', [...inHost, file, ...args], {
          env: cliEnv(),
          ...options,
          label: options.label ?? `${file.split('/').at(-1)} in ${label}`,
          shownArgs: options.shownArgs ?? args,
        }),
      exec: async (file, args, input) => execIn(ns, file, args, input),
      dropMulticast: async () => {
        const rules = ['udp dport 5353 drop', 'udp sport 5353 drop'].join('; ');
        await execIn(
          ns,
          'nft',
          ['-f', '-'],
          [
            'table inet ferry_test_drop_mdns {',
            `  chain input { type filter hook input priority 0; policy accept; ${rules}; }`,
            `  chain output { type filter hook output priority 0; policy accept; ${rules}; }`,
            '}',
            '',
          ].join('\n'),
        );
      },
    };
    hosts.push(host);
    await connect(host, segment);
    return host;
  };

  await addSegment();
  return {
    prefix,
    segments,
    hosts,
    addSegment,
    addHost,
    connect,
    destroy,
  };
}

/**
 * A new network of three hosts on its first segment, as three machines on one LAN: two to run
 * senders, one to look for them (or any other roles). Removed after the test file.
 */
export async function threeHosts(): Promise<[NetnsHost, NetnsHost, NetnsHost]> {
  const network = await createNetnsNetwork();
  return [await network.addHost(), await network.addHost(), await network.addHost()];
}

async function ip(ns: string, ...args: string[]): Promise<void> {
  try {
    await run('ip', ['-n', ns, ...args]);
  } catch (error) {
    throw new Error(`ip -n ${ns} ${args.join(' ')} failed: ${stderrOf(error)}`, { cause: error });
  }
}

function execIn(
  ns: string,
  file: string,
  args: readonly string[],
  input?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', ns, file, ...args], (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${file} ${args.join(' ')} in ${ns} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
    // A program that exits without reading its input fails on its exit status, not with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** Writes /proc/sys values inside `ns` (each namespace has its own `net/` settings). */
async function sysctl(ns: string, values: Record<string, number>): Promise<void> {
  const script = Object.entries(values)
    .map(([key, value]) => `echo ${value} > /proc/sys/${key}`)
    .join(' && ');
  await execIn(ns, 'sh', ['-c', script]);
}

/** The link-local address of `dev`, which the kernel adds once the link has a carrier. */
async function linkLocal(ns: string, dev: string): Promise<string> {
  // A bounded poll: the address appears within milliseconds of the link coming up.
  for (let attempt = 0; attempt < 250; attempt++) {
    const { stdout } = await run('ip', [
      '-n',
      ns,
      '-6',
      '-o',
      'addr',
      'show',
      'dev',
      dev,
      'scope',
      'link',
    ]);
    const match = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(stdout);
    if (match && !stdout.includes('tentative')) return match[1]!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${dev} in ${ns} got no IPv6 link-local address within 5 s`);
}

/** Kills what still runs inside `ns` (only processes a test started there). */
export function killInside(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of (pids.stdout ?? '').split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function runs(file: string, args: string[]): boolean {
  const result = spawnSync(file, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  return typeof stderr === 'string' && stderr ? stderr.trim() : String(error);
}
