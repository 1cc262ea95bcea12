import { DISCOVERY } from '@ferry/protocol';
import { describe, expect, it } from 'vitest';
import { SenderTable } from '../src/table.ts';
import { SERVICE_NAME } from '../src/txt.ts';
import { announcement } from './helpers.ts';

describe('SenderTable: what one search keeps', () => {
  it('lists a sender from one response as soon as it has TXT, a port and an address', () => {
    const table = new SenderTable();
    const found = table.ingest(
      announcement('alice', { host: 'laptop', addresses: ['10.0.0.5'] }),
      '10.0.0.5',
    );
    expect(found).toEqual([
      {
        name: 'alice',
        host: 'laptop',
        addresses: ['10.0.0.5'],
        port: 7878,
        version: '1',
        encrypted: true,
        chat: false,
        keyHint: '0123456789abcdef',
        source: '10.0.0.5',
      },
    ]);
    // The same announcement again finds nothing new.
    expect(
      table.ingest(announcement('alice', { host: 'laptop', addresses: ['10.0.0.5'] }), '10.0.0.5'),
    ).toEqual([]);
    expect(table.results()).toHaveLength(1);
  });

  it('resolves a sender from several responses, and asks once for what is missing', () => {
    const table = new SenderTable();
    const [ptr, srv, txt, a] = announcement('alice');
    expect(table.ingest([ptr!], '10.0.0.1')).toEqual([]);
    expect(table.missing()).toEqual({ instances: [`alice.${SERVICE_NAME}`], hosts: [] });
    expect(table.missing()).toEqual({ instances: [], hosts: [] });
    expect(table.ingest([srv!, txt!], '10.0.0.1')).toEqual([]);
    expect(table.ingest([a!], '10.0.0.1')).toHaveLength(1);
  });

  it('shows the host without the -<port> the reference sender adds to its host name', () => {
    const table = new SenderTable();
    const [found] = table.ingest(
      announcement('alice', { host: 'laptop-7878', port: 7878 }),
      '10.0.0.1',
    );
    expect(found?.host).toBe('laptop');
    const [other] = table.ingest(announcement('bob', { host: 'desk-80', port: 7878 }), '10.0.0.2');
    expect(other?.host).toBe('desk-80');
  });

  it('puts the source address first, then IPv4, then IPv6, and drops link-local IPv6 heard without an interface', () => {
    const table = new SenderTable();
    const [found] = table.ingest(
      announcement('alice', { addresses: ['fd00::5', 'fe80::1', '10.0.0.9', '10.0.0.5'] }),
      '10.0.0.5',
    );
    expect(found?.addresses).toEqual(['10.0.0.5', '10.0.0.9', 'fd00::5']);
    expect(table.dropped.addresses).toBe(1);
  });

  it('heard over IPv6 on an interface: keeps link-local addresses with it, IPv4 ones first', () => {
    const table = new SenderTable();
    const [found] = table.ingest(
      announcement('alice', { addresses: ['fe80::1', 'fd00::5', '10.0.0.5'] }),
      'fe80::1%eth0',
      'eth0',
    );
    expect(found?.addresses).toEqual(['10.0.0.5', 'fe80::1%eth0', 'fd00::5']);
    expect(found?.source).toBe('fe80::1%eth0');
    expect(table.dropped.addresses).toBe(0);
  });

  it('lists once a sender heard over IPv4 and over IPv6, and twice one whose records differ', () => {
    const table = new SenderTable();
    const records = announcement('alice', { addresses: ['10.0.0.5', 'fe80::5'] });
    expect(table.ingest(records, '10.0.0.5')).toHaveLength(1);
    expect(table.ingest(records, 'fe80::5%eth0', 'eth0')).toEqual([]);
    expect(table.results().map((sender) => sender.source)).toEqual(['10.0.0.5']);
    // Another key under the same name, from another address: a sender of its own (M1).
    const other = announcement('alice', {
      addresses: ['fe80::6'],
      txt: ['v=1', 'enc=1', 'mode=send', 'fp=fedcba9876543210'],
    });
    expect(table.ingest(other, 'fe80::6%eth0', 'eth0')).toHaveLength(1);
    expect(table.results()).toHaveLength(2);
  });

  it('M2: announcements from many IPv6 addresses of one /64 keep maxPerSource entries, and each link-local source counts alone', () => {
    const table = new SenderTable();
    for (let i = 1; i <= 1000; i++)
      table.ingest(
        announcement(`fake-${i}`, { addresses: [`2001:db8:1:2::${i.toString(16)}`] }),
        `2001:db8:1:2::${i.toString(16)}`,
      );
    expect(table.results()).toHaveLength(DISCOVERY.maxPerSource);
    expect(table.dropped.perSource).toBe(1000 - DISCOVERY.maxPerSource);
    // Every host of a link shares fe80::/64: two of them are two sources.
    table.ingest(announcement('alice', { addresses: ['fe80::a'] }), 'fe80::a%eth0', 'eth0');
    table.ingest(announcement('bob', { addresses: ['fe80::b'] }), 'fe80::b%eth0', 'eth0');
    expect(table.results().map((sender) => sender.name)).toContain('alice');
    expect(table.results().map((sender) => sender.name)).toContain('bob');
  });

  it('M2: keeps at most maxAddresses addresses for one sender', () => {
    const table = new SenderTable();
    const addresses = Array.from({ length: 40 }, (_, i) => `10.0.1.${i + 1}`);
    const [found] = table.ingest(announcement('alice', { addresses }), '10.0.1.1');
    expect(found?.addresses).toHaveLength(DISCOVERY.maxAddresses);
    expect(table.dropped.addresses).toBe(40 - DISCOVERY.maxAddresses);
  });

  it('M2: 10,000 announcements from one address keep maxPerSource entries, and a real sender elsewhere is still listed', () => {
    const table = new SenderTable();
    for (let i = 0; i < 10_000; i++)
      table.ingest(announcement(`fake-${i}`, { addresses: ['10.0.0.66'] }), '10.0.0.66');
    expect(table.size).toBe(DISCOVERY.maxPerSource);
    expect(table.dropped.perSource).toBe(10_000 - DISCOVERY.maxPerSource);
    expect(
      table
        .ingest(announcement('alice', { addresses: ['10.0.0.5'] }), '10.0.0.5')
        .map((s) => s.name),
    ).toEqual(['alice']);
    expect(table.results().map((s) => s.name)).toContain('alice');
  });

  it('M2: 10,000 announcements from as many addresses keep maxSenders entries at most', () => {
    const table = new SenderTable();
    for (let i = 0; i < 10_000; i++) {
      const source = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      table.ingest(announcement(`fake-${i}`, { addresses: [source] }), source);
    }
    expect(table.size).toBe(DISCOVERY.maxSenders);
    expect(table.results()).toHaveLength(DISCOVERY.maxSenders);
    expect(table.dropped.full).toBe(10_000 - DISCOVERY.maxSenders);
  });

  it('M2: one response with many instances is capped the same way', () => {
    const table = new SenderTable();
    const records = Array.from({ length: 500 }, (_, i) => announcement(`fake-${i}`)).flat();
    table.ingest(records, '10.0.0.66');
    expect(table.size).toBe(DISCOVERY.maxPerSource);
  });

  it('M2: drops a sender whose TXT breaks §14.2, whose port is 0, or whose name is over 63 bytes', () => {
    const table = new SenderTable();
    table.ingest(announcement('bad-txt', { txt: ['v=1', 'enc=1', 'mode=send'] }), '10.0.0.1');
    table.ingest(
      announcement('huge-txt', {
        txt: ['v=1', 'enc=1', 'mode=send', 'fp=0123456789abcdef', 'x'.repeat(300)],
      }),
      '10.0.0.2',
    );
    table.ingest(announcement('no-port', { port: 0 }), '10.0.0.3');
    table.ingest(announcement('n'.repeat(64)), '10.0.0.4');
    expect(table.results()).toEqual([]);
    expect(table.dropped).toMatchObject({ txt: 2, srv: 1, name: 1 });
  });

  it('M1: the same name from another address is another sender, listed on its own', () => {
    const table = new SenderTable();
    table.ingest(announcement('alice', { addresses: ['10.0.0.5'] }), '10.0.0.5');
    table.ingest(
      announcement('alice', {
        addresses: ['10.0.0.6'],
        txt: ['v=1', 'enc=1', 'mode=send', 'fp=ffffffffffffffff'],
      }),
      '10.0.0.6',
    );
    expect(table.results().map((s) => [s.name, s.source, s.keyHint])).toEqual([
      ['alice', '10.0.0.5', '0123456789abcdef'],
      ['alice', '10.0.0.6', 'ffffffffffffffff'],
    ]);
  });

  it('M1: records from another address never change a sender already found', () => {
    const table = new SenderTable();
    table.ingest(announcement('alice', { addresses: ['10.0.0.5'] }), '10.0.0.5');
    const [, srv, txt, a] = announcement('alice', {
      port: 9999,
      addresses: ['10.0.0.66'],
      txt: ['v=1', 'enc=1', 'mode=send', 'fp=ffffffffffffffff'],
    });
    // Only SRV, TXT and A, with no PTR: from 10.0.0.66 they belong to no entry.
    table.ingest([srv!, txt!, a!], '10.0.0.66');
    expect(table.results()).toMatchObject([
      { addresses: ['10.0.0.5'], port: 7878, keyHint: '0123456789abcdef' },
    ]);
  });

  it('M4: a goodbye removes a sender only from its own address; announced again, it is back', () => {
    const table = new SenderTable();
    table.ingest(announcement('alice', { addresses: ['10.0.0.5'] }), '10.0.0.5');
    const goodbye = [
      { type: 'PTR' as const, name: SERVICE_NAME, ttl: 0, data: `alice.${SERVICE_NAME}` },
    ];
    table.ingest(goodbye, '10.0.0.66');
    expect(table.results()).toHaveLength(1);
    table.ingest(goodbye, '10.0.0.5');
    expect(table.results()).toHaveLength(0);
    table.ingest(announcement('alice', { addresses: ['10.0.0.5'] }), '10.0.0.5');
    expect(table.results()).toHaveLength(1);
  });

  it('M4: a sender that comes and goes still counts against its address, so churn cannot grow the table', () => {
    const table = new SenderTable();
    for (let i = 0; i < 1000; i++) {
      table.ingest(announcement(`fake-${i}`), '10.0.0.66');
      table.ingest(
        [{ type: 'PTR', name: SERVICE_NAME, ttl: 0, data: `fake-${i}.${SERVICE_NAME}` }],
        '10.0.0.66',
      );
    }
    expect(table.size).toBe(DISCOVERY.maxPerSource);
  });

  it('ignores PTR records of other services and names outside the service', () => {
    const table = new SenderTable();
    table.ingest(
      [
        { type: 'PTR', name: '_http._tcp.local', ttl: 120, data: 'web._http._tcp.local' },
        { type: 'PTR', name: SERVICE_NAME, ttl: 120, data: 'web._http._tcp.local' },
        { type: 'PTR', name: SERVICE_NAME, ttl: 120, data: `.${SERVICE_NAME}`.slice(1) },
      ],
      '10.0.0.1',
    );
    expect(table.size).toBe(0);
  });
});
