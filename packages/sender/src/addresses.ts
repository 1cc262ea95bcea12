import os from 'node:os';

/** An address a receiver can use to reach this sender. */
export interface LanAddress {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  /** The interface's name; left out when no interface has this address. */
  readonly interface?: string;
}

/**
 * The addresses worth showing for a sender bound to `host`: every non-internal IPv4 and
 * routable IPv6 address when bound to all interfaces, or just `host` when bound to one. A
 * link-local IPv6 address is shown only where there is nothing else (a host on IPv6 alone,
 * without a router): it needs a zone, so it is written with its interface, `fe80::1%eth0`.
 */
export function lanAddresses(
  host: string | undefined,
  interfaces = os.networkInterfaces(),
): LanAddress[] {
  const all: LanAddress[] = [];
  const linkLocal: LanAddress[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv6' && /^fe[89ab]/i.test(info.address))
        linkLocal.push({ address: `${info.address}%${name}`, family: 'IPv6', interface: name });
      else all.push({ address: info.address, family: info.family, interface: name });
    }
  }
  if (host === undefined || host === '0.0.0.0' || host === '::') {
    if (host === '0.0.0.0') return all.filter((a) => a.family === 'IPv4');
    return all.length > 0 ? all : linkLocal;
  }
  const family = host.includes(':') ? 'IPv6' : 'IPv4';
  const known = all.find((a) => a.address === host);
  return [
    known ? { address: host, family, interface: known.interface } : { address: host, family },
  ];
}

/** `host:port`, bracketing IPv6 addresses. */
export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export { addressGroup } from '@ferry/protocol';
