import { addressGroup, DISCOVERY, utf8Length } from '@ferry/protocol';
import { parseTxt, SERVICE_NAME } from './txt.ts';
import type { FoundSender } from './types.ts';

/** One resource record of an mDNS response, as much of it as finding senders reads. */
export type MdnsRecord =
  | { readonly type: 'PTR'; readonly name: string; readonly ttl: number; readonly data: string }
  | {
      readonly type: 'SRV';
      readonly name: string;
      readonly ttl: number;
      readonly data: { readonly target: string; readonly port: number };
    }
  | {
      readonly type: 'TXT';
      readonly name: string;
      readonly ttl: number;
      readonly data: readonly Uint8Array[];
    }
  | {
      readonly type: 'A' | 'AAAA';
      readonly name: string;
      readonly ttl: number;
      readonly data: string;
    };

/** Why announcements were not kept, counted (logged at debug, never one line per record). */
export interface Dropped {
  /** Over `maxSenders` in this browse. */
  full: number;
  /** Over `maxPerSource` from one address. */
  perSource: number;
  /** An instance name that is empty or over 63 bytes. */
  name: number;
  /** A TXT record that breaks §14. */
  txt: number;
  /** An SRV record with port 0. */
  srv: number;
  /** Addresses over `maxAddresses`, or link-local IPv6 ones heard over IPv4 (no zone known). */
  addresses: number;
}

interface Entry {
  readonly instance: string;
  readonly fqdn: string;
  readonly source: string;
  target?: string;
  port?: number;
  txt?: ReturnType<typeof parseTxt>;
  bad: boolean;
  gone: boolean;
  addresses: string[];
  found?: FoundSender;
  /** Asked for its SRV and TXT, and for its host's addresses: each once. */
  askedRecords: boolean;
  askedAddresses: boolean;
}

const SUFFIX = `.${SERVICE_NAME}`;

/**
 * What one browse learned, in the only table of it there is. Every structure is capped
 * (PROTOCOL.md §14): at most `maxSenders` instances, `maxPerSource` of them from one source
 * address, `maxAddresses` per instance; an instance counts against its caps once admitted,
 * even if a goodbye or a bad record later removes it, so a flood cannot churn through them.
 */
export class SenderTable {
  private readonly entries = new Map<string, Entry>();
  private readonly perSource = new Map<string, number>();
  private readonly order: Entry[] = [];
  readonly dropped: Dropped = { full: 0, perSource: 0, name: 0, txt: 0, srv: 0, addresses: 0 };

  /**
   * Takes the records of one response from `source`; returns the senders it completed. `zone`
   * is the interface it came in on (a name, or an index on Windows) when it came over IPv6: a
   * link-local IPv6 address is then kept with it (`fe80::…%eth0`), and dropped without one.
   */
  ingest(records: readonly MdnsRecord[], source: string, zone?: string): FoundSender[] {
    const touched = new Set<Entry>();
    for (const record of records) {
      if (record.type !== 'PTR' || record.name.toLowerCase() !== SERVICE_NAME) continue;
      const fqdn = record.data;
      if (!fqdn.toLowerCase().endsWith(SUFFIX)) continue;
      const instance = fqdn.slice(0, -SUFFIX.length);
      const existing = this.entries.get(keyOf(fqdn, source));
      if (record.ttl === 0) {
        // A goodbye (RFC 6762 §10.1): at worst a forged one hides a sender from this list (M4).
        if (existing) existing.gone = true;
        continue;
      }
      if (existing) {
        // Announced again after a goodbye: back in the list.
        existing.gone = false;
        touched.add(existing);
        continue;
      }
      if (instance === '' || utf8Length(instance) > DISCOVERY.maxNameBytes) {
        this.dropped.name++;
        continue;
      }
      if (this.entries.size >= DISCOVERY.maxSenders) {
        this.dropped.full++;
        continue;
      }
      const group = sourceGroup(source);
      const fromSource = this.perSource.get(group) ?? 0;
      if (fromSource >= DISCOVERY.maxPerSource) {
        this.dropped.perSource++;
        continue;
      }
      this.perSource.set(group, fromSource + 1);
      const entry: Entry = {
        instance,
        fqdn,
        source,
        bad: false,
        gone: false,
        addresses: [],
        askedRecords: false,
        askedAddresses: false,
      };
      this.entries.set(keyOf(fqdn, source), entry);
      this.order.push(entry);
      touched.add(entry);
    }
    for (const record of records) {
      if (record.type !== 'SRV' && record.type !== 'TXT') continue;
      const entry = this.entries.get(keyOf(record.name, source));
      if (!entry || record.ttl === 0) continue;
      touched.add(entry);
      if (record.type === 'SRV') {
        if (
          !Number.isInteger(record.data.port) ||
          record.data.port < 1 ||
          record.data.port > 65_535
        ) {
          this.dropped.srv++;
          entry.bad = true;
          continue;
        }
        entry.target = record.data.target.replace(/\.$/, '');
        entry.port = record.data.port;
      } else {
        const txt = parseTxt(record.data);
        if (!txt) {
          this.dropped.txt++;
          entry.bad = true;
          continue;
        }
        entry.txt = txt;
      }
    }
    for (const record of records) {
      if ((record.type !== 'A' && record.type !== 'AAAA') || record.ttl === 0) continue;
      const host = record.name.toLowerCase().replace(/\.$/, '');
      for (const entry of this.order) {
        if (entry.source !== source || entry.target?.toLowerCase() !== host) continue;
        touched.add(entry);
        // A link-local IPv6 address is only usable with the interface it was heard on.
        const linkLocal = isLinkLocal(record.data);
        const address = linkLocal && zone !== undefined ? `${record.data}%${zone}` : record.data;
        if (entry.addresses.includes(address)) continue;
        if (entry.addresses.length >= DISCOVERY.maxAddresses || (linkLocal && zone === undefined)) {
          this.dropped.addresses++;
          continue;
        }
        entry.addresses.push(address);
        if (entry.found) entry.found = describe(entry);
      }
    }
    const found: FoundSender[] = [];
    for (const entry of touched) {
      if (
        entry.found ||
        entry.bad ||
        entry.gone ||
        !entry.txt ||
        entry.port === undefined ||
        entry.addresses.length === 0
      )
        continue;
      entry.found = describe(entry);
      // The same sender heard again from another address (over IPv4 and IPv6): listed once.
      if (!this.listedBefore(entry)) found.push(entry.found);
    }
    return found;
  }

  /**
   * The instances and host names still to ask about directly, each once: an instance whose
   * SRV or TXT has not come, or whose host's addresses have not.
   */
  missing(): { instances: string[]; hosts: string[] } {
    const instances: string[] = [];
    const hosts: string[] = [];
    for (const entry of this.order) {
      if (entry.found || entry.bad || entry.gone) continue;
      if (entry.txt === undefined || entry.port === undefined) {
        if (!entry.askedRecords) instances.push(entry.fqdn);
        entry.askedRecords = true;
      } else if (entry.target !== undefined && entry.addresses.length === 0) {
        if (!entry.askedAddresses) hosts.push(entry.target);
        entry.askedAddresses = true;
      }
    }
    return { instances, hosts };
  }

  /** The senders found and not gone, in the order they were found. */
  results(): FoundSender[] {
    return this.order
      .filter((entry) => entry.found && !entry.gone && !entry.bad && !this.listedBefore(entry))
      .map((entry) => entry.found!);
  }

  /**
   * Whether an entry found before `entry` announces the same: same instance, host, port and TXT,
   * heard from another source address (one sender answering over IPv4 and over IPv6).
   */
  private listedBefore(entry: Entry): boolean {
    const same = identity(entry);
    for (const other of this.order) {
      if (other === entry) return false;
      if (other.found && !other.gone && !other.bad && identity(other) === same) return true;
    }
    return false;
  }

  /** How many instances this browse kept (found or not): never more than `maxSenders`. */
  get size(): number {
    return this.entries.size;
  }
}

/** `fe80::/10`: an IPv6 address that means something on one link only. */
function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * What `maxPerSource` counts per: an IPv4 address on its own, an IPv6 address by its /64 (one
 * machine can take any number of addresses in its prefix), except a link-local one, which counts
 * on its own with its interface: every host of a link shares `fe80::/64`.
 */
export function sourceGroup(source: string): string {
  return isLinkLocal(source) ? source.toLowerCase() : addressGroup(source);
}

/** What makes two entries heard from two sources one sender. */
function identity(entry: Entry): string {
  const txt = entry.txt;
  return [
    entry.fqdn.toLowerCase(),
    entry.target?.toLowerCase(),
    entry.port,
    txt?.version,
    txt?.encrypted,
    txt?.chat,
    txt?.keyHint,
  ].join('\n');
}

function keyOf(fqdn: string, source: string): string {
  return `${fqdn.toLowerCase()}\n${source}`;
}

/**
 * The sender as the receiver shows it: IPv4 addresses before IPv6 ones (an IPv6 link-local
 * address only works with its interface), the source address first within its family.
 */
function describe(entry: Entry): FoundSender {
  const rank = (address: string) =>
    (address.includes(':') ? 2 : 0) + (address === entry.source ? 0 : 1);
  const addresses = [...entry.addresses].sort((a, b) => rank(a) - rank(b));
  return {
    name: entry.instance,
    // The reference sender's host name ends in `-<port>` (PROTOCOL.md §14.1): shown without it.
    host: (entry.target ?? '').replace(/\.local$/i, '').replace(new RegExp(`-${entry.port}$`), ''),
    addresses,
    port: entry.port!,
    version: entry.txt!.version,
    encrypted: entry.txt!.encrypted,
    chat: entry.txt!.chat,
    keyHint: entry.txt!.keyHint,
    source: entry.source,
  };
}
