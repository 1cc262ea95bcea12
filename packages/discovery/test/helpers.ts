import type { MdnsRecord } from '../src/table.ts';
import { SERVICE_NAME } from '../src/txt.ts';

/** The records of one announcement, as a sender sends them. */
export function announcement(
  name: string,
  options: {
    host?: string;
    port?: number;
    addresses?: string[];
    txt?: string[];
    ttl?: number;
  } = {},
): MdnsRecord[] {
  const fqdn = `${name}.${SERVICE_NAME}`;
  const host = `${options.host ?? 'host'}.local`;
  const ttl = options.ttl ?? 120;
  return [
    { type: 'PTR', name: SERVICE_NAME, ttl, data: fqdn },
    { type: 'SRV', name: fqdn, ttl, data: { target: host, port: options.port ?? 7878 } },
    {
      type: 'TXT',
      name: fqdn,
      ttl,
      data: (options.txt ?? ['v=1', 'enc=1', 'mode=send', 'fp=0123456789abcdef']).map((entry) =>
        Buffer.from(entry),
      ),
    },
    ...(options.addresses ?? ['10.0.0.1']).map(
      (address): MdnsRecord => ({
        type: address.includes(':') ? 'AAAA' : 'A',
        name: host,
        ttl,
        data: address,
      }),
    ),
  ];
}
