import { type MdnsRecord, SenderTable } from './table.ts';
import { type Announcement, instanceName, SERVICE_NAME, txtStrings } from './txt.ts';
import type { AnnouncedAs, Announcer, BrowseOptions, Browser, FoundSender } from './types.ts';

/** A host on the fake network: the address its announcements come from, and its name. */
export interface FakeHost {
  readonly address: string;
  readonly hostname?: string;
}

/** Announcers and browsers that see each other in memory, through the same capped table as the real browser. */
export interface FakeNetwork {
  /** An announcer on `host`; a second announcement of a name already there is renamed `name (2)`. */
  announcer(host: FakeHost): Announcer;
  /** A browser. With `blocked`, it hears nothing (multicast dropped). */
  browser(options?: { readonly blocked?: boolean }): Browser;
  /** Sends raw records, as if from `source` (a hostile host, a flood, a forged goodbye). */
  inject(records: readonly MdnsRecord[], source: string): void;
  /** How many browses have run (each sees what is announced when it starts, then what is injected). */
  readonly browses: number;
}

interface Live {
  readonly packet: MdnsRecord[];
  readonly source: string;
}

/** Options of {@link createFakeNetwork}. */
export interface FakeNetworkOptions {
  /**
   * How long a browse lasts when it is not given `ms`. By default 0: a browse ends as soon as
   * it has heard everything announced or injected so far, so tests never wait on a clock.
   */
  readonly browseMs?: number;
}

/** A network in memory for tests: no sockets, no timers beyond each browse's own `ms`. */
export function createFakeNetwork(network: FakeNetworkOptions = {}): FakeNetwork {
  const announced = new Map<string, Live>();
  const listeners = new Set<(records: readonly MdnsRecord[], source: string) => void>();
  const injected: Live[] = [];
  let browses = 0;
  const broadcast = (records: readonly MdnsRecord[], source: string) => {
    for (const listener of listeners) listener(records, source);
  };
  return {
    announcer(host: FakeHost): Announcer {
      let mine: string | undefined;
      return {
        async start(announcement: Announcement): Promise<AnnouncedAs> {
          const base = instanceName(announcement.name);
          let name = base;
          for (let n = 2; announced.has(name.toLowerCase()); n++)
            name = instanceName(`${base} (${n})`);
          const hostname = `${host.hostname ?? host.address.replace(/[.:]/g, '-')}.local`;
          const fqdn = `${name}.${SERVICE_NAME}`;
          const packet: MdnsRecord[] = [
            { type: 'PTR', name: SERVICE_NAME, ttl: 4500, data: fqdn },
            {
              type: 'SRV',
              name: fqdn,
              ttl: 120,
              data: { target: hostname, port: announcement.port },
            },
            {
              type: 'TXT',
              name: fqdn,
              ttl: 4500,
              data: txtStrings(announcement).map((entry) => Buffer.from(entry)),
            },
            {
              type: host.address.includes(':') ? 'AAAA' : 'A',
              name: hostname,
              ttl: 120,
              data: host.address,
            },
          ];
          mine = name.toLowerCase();
          announced.set(mine, { packet, source: host.address });
          broadcast(packet, host.address);
          return { name };
        },
        async stop(): Promise<void> {
          if (mine === undefined) return;
          const live = announced.get(mine);
          announced.delete(mine);
          mine = undefined;
          const ptr = live?.packet[0];
          if (live && ptr) broadcast([{ ...ptr, ttl: 0 }], live.source);
        },
      };
    },
    browser(options = {}): Browser {
      return {
        browse(browse: BrowseOptions = {}): Promise<FoundSender[]> {
          browses++;
          const table = new SenderTable();
          const take = (records: readonly MdnsRecord[], source: string) => {
            if (options.blocked) return;
            for (const sender of table.ingest(records, source)) browse.onFound?.(sender);
          };
          return new Promise((resolve) => {
            const finish = () => {
              stopTimer();
              listeners.delete(take);
              browse.signal?.removeEventListener('abort', finish);
              resolve(table.results());
            };
            const ms = browse.ms ?? network.browseMs ?? 0;
            let stopTimer = () => {};
            if (ms > 0) {
              const timer = setTimeout(finish, ms);
              stopTimer = () => clearTimeout(timer);
            } else {
              const immediate = setImmediate(finish);
              stopTimer = () => clearImmediate(immediate);
            }
            browse.signal?.addEventListener('abort', finish, { once: true });
            listeners.add(take);
            for (const live of [...announced.values(), ...injected]) take(live.packet, live.source);
          });
        },
      };
    },
    inject(records: readonly MdnsRecord[], source: string): void {
      injected.push({ packet: [...records], source });
      broadcast(records, source);
    },
    get browses() {
      return browses;
    },
  };
}
