/**
 * Debian's python3-zeroconf, an mDNS/DNS-SD implementation independent of Ferry's, run in a host
 * of a namespace network (see netns.ts) through `python/zeroconf_tool.py`: it browses, registers
 * (honestly or as an impostor) and floods fake announcements. Every line it prints is a JSON event.
 */
import { fileURLToPath } from 'node:url';
import type { CliProcess } from './cli-process.ts';
import { type NetnsHost, SYSTEM_PYTHON } from './netns.ts';

/** The tool's path. */
export const ZEROCONF_TOOL = fileURLToPath(new URL('../python/zeroconf_tool.py', import.meta.url));

/** A bound on the tool starting (python and zeroconf import in well under a second when idle). */
const START_MS = 20_000;

/** What `register` announces. */
export interface ZeroconfService {
  /** The instance name. */
  readonly name: string;
  readonly port: number;
  /** The A/AAAA records' addresses. */
  readonly addresses: readonly string[];
  /** TXT strings in order, `key=value` (or a bare `key`). */
  readonly txt: readonly string[];
  /** The SRV target host name (`zc-<name>.local.` by default). */
  readonly server?: string;
  /** Announces without probing first, as an impostor would. */
  readonly spoof?: boolean;
}

/**
 * Browses `_ferry._tcp.local.` in `host` for at most `seconds`: `found` events carry `name`,
 * `port`, `server`, `addresses` and `txt` (an object), `removed` events the `name` gone.
 */
export function zeroconfBrowse(host: NetnsHost, seconds = 60): CliProcess {
  return run(host, ['browse', '--seconds', String(seconds)]);
}

/** Registers `service` in `host`; resolves once it is announced. SIGTERM says goodbye. */
export async function zeroconfRegister(
  host: NetnsHost,
  service: ZeroconfService,
): Promise<CliProcess> {
  const args = ['register', '--name', service.name, '--port', String(service.port)];
  for (const address of service.addresses) args.push('--address', address);
  for (const item of service.txt) args.push('--txt', item);
  if (service.server) args.push('--server', service.server);
  if (service.spoof) args.push('--spoof');
  const proc = run(host, args);
  await proc.waitForEvent('registered', START_MS);
  return proc;
}

/** What {@link zeroconfRaw} announces: any name, unchecked; `ttl` 0 for a goodbye. */
export interface RawAnnouncement {
  readonly name: string;
  readonly port: number;
  /** The A record's address; the host's own by default. */
  readonly address?: string;
  readonly txt: readonly string[];
  readonly server?: string;
  readonly ttl?: number;
}

/**
 * Announces one instance from `host` in raw packets, ten a second until stopped, with no check
 * of its name (python3-zeroconf refuses control characters; a hostile peer does not). Resolves
 * once the first is out.
 */
export async function zeroconfRaw(
  host: NetnsHost,
  announcement: RawAnnouncement,
): Promise<CliProcess> {
  const args = ['raw', '--name', announcement.name, '--port', String(announcement.port)];
  args.push('--address', announcement.address ?? host.ipv4);
  for (const item of announcement.txt) args.push('--txt', item);
  if (announcement.server) args.push('--server', announcement.server);
  if (announcement.ttl !== undefined) args.push('--ttl', String(announcement.ttl));
  const proc = run(host, args);
  await proc.waitForEvent('announcing', START_MS);
  return proc;
}

/** Options of {@link zeroconfFlood}. */
export interface FloodOptions {
  /** Distinct fake instances, sent over and over (10,000 by default). */
  readonly count?: number;
  /** The address their A records give; the host's own by default. */
  readonly address?: string;
  /** Announcements a second, about (10,000 by default). */
  readonly rate?: number;
  /** Pads each TXT record to at least this many bytes. */
  readonly txtBytes?: number;
}

/**
 * Sends unsolicited announcements of fake Ferry senders from `host` until stopped; resolves once
 * the first `count` are out. Its `flooding` events (one per 1,000) carry `sent`, the total so far.
 */
export async function zeroconfFlood(
  host: NetnsHost,
  options: FloodOptions = {},
): Promise<CliProcess> {
  const count = options.count ?? 10_000;
  const args = ['flood', '--count', String(count), '--address', options.address ?? host.ipv4];
  if (options.rate) args.push('--rate', String(options.rate));
  if (options.txtBytes) args.push('--txt-bytes', String(options.txtBytes));
  const proc = run(host, args);
  await proc.waitForEvent(
    'flooding',
    START_MS + (count / (options.rate ?? 10_000)) * 1000,
    (event) => typeof event.sent === 'number' && event.sent >= count,
  );
  return proc;
}

/** The total a flooder has sent so far (its last `flooding` event). */
export function floodSent(flood: CliProcess): number {
  const last = flood.events.filter((event) => event.event === 'flooding').at(-1);
  return typeof last?.sent === 'number' ? last.sent : 0;
}

function run(host: NetnsHost, args: string[]): CliProcess {
  return host.spawn(SYSTEM_PYTHON, [ZEROCONF_TOOL, ...args], {
    label: `zeroconf ${args[0]} in ${host.label}`,
  });
}
