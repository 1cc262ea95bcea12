import type { Announcement } from './txt.ts';

/** A sender's announcement, once it is on the network. */
export interface AnnouncedAs {
  /** The instance name, after a rename if another service on the network had it. */
  readonly name: string;
}

/** Announces one sender until stopped. */
export interface Announcer {
  start(announcement: Announcement): Promise<AnnouncedAs>;
  /** Says goodbye on the network; bounded in time (`DISCOVERY.goodbyeMs`). */
  stop(): Promise<void>;
}

/** A sender found on the network. Every string came from the network: escape it before showing it. */
export interface FoundSender {
  readonly name: string;
  /** The SRV target, without `.local`. */
  readonly host: string;
  /** From A and AAAA records, at most `maxAddresses`, the source address first when listed. */
  readonly addresses: readonly string[];
  readonly port: number;
  /** TXT `v`; only `1` is connected to. */
  readonly version: string;
  readonly encrypted: boolean;
  readonly chat: boolean;
  /** TXT `fp`: 16 lowercase hex digits, '' in clear. A hint only, checked after TLS. */
  readonly keyHint: string;
  /** The address the announcement came from. */
  readonly source: string;
}

/** Options of one browse. */
export interface BrowseOptions {
  /** How long to look (`DISCOVERY.browseMs` by default). */
  readonly ms?: number;
  readonly signal?: AbortSignal | undefined;
  /** Called for each sender as soon as it is resolved. */
  readonly onFound?: ((sender: FoundSender) => void) | undefined;
}

/** Looks for senders on the network. */
export interface Browser {
  /** One browse run: the senders found, in the order found. */
  browse(options?: BrowseOptions): Promise<FoundSender[]>;
}
