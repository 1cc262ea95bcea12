import type { Socket } from 'node:dgram';
import os from 'node:os';
import { DISCOVERY } from '@ferry/protocol';
import type { Answer } from 'dns-packet';
import type { MulticastDNS } from 'multicast-dns';
import type { Logger } from 'pino';
import { type MdnsRecord, SenderTable } from './table.ts';
import { SERVICE_NAME } from './txt.ts';
import type { BrowseOptions, Browser, FoundSender } from './types.ts';

/** Options of {@link createBrowser}. */
export interface BrowserOptions {
  /**
   * Ask one responder by unicast on a socket the caller bound (tests on loopback), instead of
   * mDNS on every interface. The socket stays the caller's; the browse only reads from it.
   */
  readonly unicast?: {
    readonly socket: Socket;
    readonly to: { readonly address: string; readonly port: number };
  };
}

/** Could not look for senders at all (no socket could be opened). */
export class BrowseError extends Error {
  override name = 'BrowseError';
}

interface Endpoint {
  readonly mdns: MulticastDNS;
  readonly to?: { readonly address: string; readonly port: number };
  /** An IPv6 socket's interface (`eth0`; its index on Windows): the zone of what it hears. */
  readonly zone?: string;
}

/**
 * Finds senders with `multicast-dns`: a PTR query for `_ferry._tcp.local` on every interface
 * that is up and not loopback, over IPv4 (224.0.0.251) and IPv6 (ff02::fb, one socket per
 * interface), again at `requeryMs`, with questions for what an
 * answer left out; the answers and additional records of every response feed one capped
 * {@link SenderTable}, the only place anything of them is kept.
 */
export function createBrowser(logger: Logger, options: BrowserOptions = {}): Browser {
  return {
    async browse(browse: BrowseOptions = {}): Promise<FoundSender[]> {
      const ms = browse.ms ?? DISCOVERY.browseMs;
      const { default: multicastDns } = await import('multicast-dns');
      const table = new SenderTable();
      const endpoints: Endpoint[] = [];
      if (options.unicast) {
        endpoints.push({
          mdns: multicastDns({ socket: options.unicast.socket, bind: false, multicast: false }),
          to: options.unicast.to,
        });
      } else {
        const { ipv4, ipv6 } = interfaceAddresses();
        for (const address of ipv4) {
          try {
            endpoints.push({
              mdns: multicastDns({
                interface: address,
                bind: '0.0.0.0',
                port: 5353,
                reuseAddr: true,
              }),
            });
          } catch (error) {
            logger.debug({ err: error, address }, 'cannot browse on this interface');
          }
        }
        for (const zone of ipv6) {
          try {
            endpoints.push({
              mdns: multicastDns({
                type: 'udp6',
                ip: MDNS_IPV6_GROUP,
                interface: `::%${zone}`,
                bind: '::',
                port: 5353,
                reuseAddr: true,
              }),
              zone,
            });
          } catch (error) {
            logger.debug({ err: error, zone }, 'cannot browse on this interface over IPv6');
          }
        }
      }
      return await new Promise<FoundSender[]>((resolve, reject) => {
        let failed = 0;
        let finished = false;
        const timers: NodeJS.Timeout[] = [];
        const finish = (error?: Error) => {
          if (finished) return;
          finished = true;
          for (const timer of timers) clearTimeout(timer);
          browse.signal?.removeEventListener('abort', onAbort);
          for (const endpoint of endpoints) {
            endpoint.mdns.removeAllListeners('response');
            if (options.unicast) endpoint.mdns.removeAllListeners();
            else endpoint.mdns.destroy();
          }
          const { dropped } = table;
          logger.debug({ kept: table.size, found: table.results().length, dropped }, 'browse done');
          if (error) reject(error);
          else resolve(table.results());
        };
        const onAbort = () => finish();
        const ask = (
          endpoint: Endpoint,
          questions: { name: string; type: 'PTR' | 'SRV' | 'TXT' | 'A' | 'AAAA' }[],
        ) => {
          const done = (error?: Error | null) => {
            if (error) logger.debug({ err: error }, 'an mDNS query could not be sent');
          };
          if (endpoint.to) endpoint.mdns.query({ questions }, endpoint.to, done);
          else endpoint.mdns.query({ questions }, done);
        };
        const askAll = () => {
          for (const endpoint of endpoints) ask(endpoint, [{ name: SERVICE_NAME, type: 'PTR' }]);
        };
        for (const endpoint of endpoints) {
          endpoint.mdns.on(
            'response',
            (
              packet: { answers?: Answer[]; additionals?: Answer[] },
              rinfo: { address: string },
            ) => {
              if (finished) return;
              const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])].flatMap(
                toRecord,
              );
              const source = withZone(rinfo.address, endpoint.zone);
              for (const sender of table.ingest(records, source, endpoint.zone))
                browse.onFound?.(sender);
              const { instances, hosts } = table.missing();
              const questions = [
                ...instances.flatMap((name) => [
                  { name, type: 'SRV' as const },
                  { name, type: 'TXT' as const },
                ]),
                ...hosts.flatMap((name) => [
                  { name, type: 'A' as const },
                  { name, type: 'AAAA' as const },
                ]),
              ];
              if (questions.length > 0) ask(endpoint, questions);
            },
          );
          endpoint.mdns.on('warning', (error: Error) =>
            logger.debug({ err: error }, 'mDNS warning'),
          );
          endpoint.mdns.on('error', (error: Error) => {
            logger.debug({ err: error }, 'mDNS socket failed');
            failed++;
            if (failed === endpoints.length)
              finish(
                new BrowseError(
                  `cannot listen for mDNS answers: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
                ),
              );
          });
        }
        browse.signal?.addEventListener('abort', onAbort, { once: true });
        if (browse.signal?.aborted) return finish();
        timers.push(setTimeout(() => finish(), ms));
        timers.push(setTimeout(askAll, Math.min(DISCOVERY.requeryMs, ms / 2)));
        askAll();
      });
    },
  };
}

/** The mDNS group of IPv6 (RFC 6762 §3): link-local scope, joined on each interface. */
const MDNS_IPV6_GROUP = 'ff02::fb';

/**
 * Of each interface that is up and not loopback: one IPv4 address, and the interface itself as
 * an IPv6 zone (its name; its index on Windows) when it has an IPv6 address.
 */
function interfaceAddresses(): { ipv4: string[]; ipv6: string[] } {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const [name, infos = []] of Object.entries(os.networkInterfaces())) {
    const v4 = infos.find((candidate) => candidate.family === 'IPv4' && !candidate.internal);
    if (v4) ipv4.push(v4.address);
    const v6 = infos.find((candidate) => candidate.family === 'IPv6' && !candidate.internal);
    if (v6) ipv6.push(process.platform === 'win32' ? String(v6.scopeid ?? 0) : name);
  }
  return { ipv4, ipv6 };
}

/** A link-local source address with the interface it came in on, so it can be reached. */
function withZone(address: string, zone: string | undefined): string {
  if (zone === undefined || address.includes('%') || !/^fe[89ab][0-9a-f]:/i.test(address))
    return address;
  return `${address}%${zone}`;
}

/** The records finding senders reads, from a decoded answer; nothing for any other. */
function toRecord(answer: Answer): MdnsRecord[] {
  const ttl = 'ttl' in answer && typeof answer.ttl === 'number' ? answer.ttl : 0;
  const name = typeof answer.name === 'string' ? answer.name : '';
  switch (answer.type) {
    case 'PTR':
      return typeof answer.data === 'string' ? [{ type: 'PTR', name, ttl, data: answer.data }] : [];
    case 'SRV': {
      const data = answer.data as { target?: unknown; port?: unknown };
      if (typeof data?.target !== 'string' || typeof data.port !== 'number') return [];
      return [{ type: 'SRV', name, ttl, data: { target: data.target, port: data.port } }];
    }
    case 'TXT': {
      const data = answer.data as unknown;
      const strings = (Array.isArray(data) ? data : [data]).filter(
        (entry): entry is Uint8Array => entry instanceof Uint8Array,
      );
      return [{ type: 'TXT', name, ttl, data: strings }];
    }
    case 'A':
    case 'AAAA':
      return typeof answer.data === 'string'
        ? [{ type: answer.type, name, ttl, data: answer.data }]
        : [];
    default:
      return [];
  }
}
