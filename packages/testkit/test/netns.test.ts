/**
 * The namespace network the discovery tests run on: if hosts could not reach each other, or
 * multicast did not cross the bridge, or the firewall did not drop it, those tests would prove
 * nothing; and the python3-zeroconf tool they check Ferry against. Needs root, iproute2, nftables
 * and python3-zeroconf: fails (never skips) without them.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeAll } from '../src/cleanup.ts';
import {
  assertNetnsReady,
  createNetnsNetwork,
  listNamespaces,
  NETNS_PREFIX,
  type NetnsHost,
  sweepStaleNamespaces,
} from '../src/netns.ts';
import { floodSent, zeroconfBrowse, zeroconfFlood, zeroconfRegister } from '../src/zeroconf.ts';

const PROBE = fileURLToPath(new URL('./fixtures/net-probe.mjs', import.meta.url));
const WAIT_MS = 10_000;

beforeAll(() => assertNetnsReady());
afterAll(disposeAll);

function probe(host: NetnsHost, ...args: string[]) {
  return host.spawn(process.execPath, [PROBE, ...args], { label: `net-probe in ${host.label}` });
}

// Bounds for a busy 2-core machine: each test starts a dozen processes.
describe('createNetnsNetwork', { timeout: 60_000 }, () => {
  it('joins hosts on one bridge: TCP over IPv4 and IPv6 link-local, multicast to all', async () => {
    const network = await createNetnsNetwork();
    const [a, b, c] = [await network.addHost(), await network.addHost(), await network.addHost()];
    expect([a.ipv4, b.ipv4, c.ipv4]).toEqual(['10.77.1.1', '10.77.1.2', '10.77.1.3']);
    expect(a.interfaces[0]!.ipv6LinkLocal).toMatch(/^fe80::/);
    const hostname = b.spawn('cat', ['/proc/sys/kernel/hostname']);
    await hostname.waitForExit(WAIT_MS);
    expect(hostname.log.stdout).toBe('h2\n');

    const v4 = probe(b, 'listen-tcp');
    const { port } = await v4.waitForEvent('listening', WAIT_MS);
    await probe(a, 'send-tcp', b.ipv4, String(port), 'over v4').waitForExit(WAIT_MS);
    expect((await v4.waitForEvent('got', WAIT_MS)).from).toBe('::ffff:10.77.1.1');

    const v6 = probe(b, 'listen-tcp');
    const v6Port = (await v6.waitForEvent('listening', WAIT_MS)).port;
    const target = `${b.interfaces[0]!.ipv6LinkLocal}%eth0`;
    await probe(a, 'send-tcp', target, String(v6Port), 'over v6').waitForExit(WAIT_MS);
    expect((await v6.waitForEvent('got', WAIT_MS)).text).toBe('over v6');

    const listeners = [b, c].map((host) => probe(host, 'listen-udp', '5353', '224.0.0.251'));
    for (const listener of listeners) await listener.waitForEvent('listening', WAIT_MS);
    await probe(a, 'send-udp', '224.0.0.251', '5353', 'hello').waitForExit(WAIT_MS);
    for (const listener of listeners) {
      const got = await listener.waitForEvent('got', WAIT_MS);
      expect(got).toMatchObject({ text: 'hello', from: '10.77.1.1' });
    }
  });

  it('drops mDNS in and out of a host whose multicast is dropped, and nothing else', async () => {
    const network = await createNetnsNetwork();
    const [a, dropping, open] = [
      await network.addHost(),
      await network.addHost(),
      await network.addHost(),
    ];
    await dropping.dropMulticast();
    const droppingMdns = probe(dropping, 'listen-udp', '5353', '224.0.0.251');
    const droppingOther = probe(dropping, 'listen-udp', '5999');
    const openMdns = probe(open, 'listen-udp', '5353', '224.0.0.251');
    for (const p of [droppingMdns, droppingOther, openMdns])
      await p.waitForEvent('listening', WAIT_MS);

    await probe(a, 'send-udp', '224.0.0.251', '5353', 'announce').waitForExit(WAIT_MS);
    await openMdns.waitForEvent('got', WAIT_MS);
    // Sent after the multicast, over the same bridge port: once it is in, the multicast would be.
    await probe(a, 'send-udp', dropping.ipv4, '5999', 'marker').waitForExit(WAIT_MS);
    await droppingOther.waitForEvent('got', WAIT_MS);
    expect(droppingMdns.events.filter((e) => e.event === 'got')).toEqual([]);

    // Nor does anything it sends to 5353 leave it.
    await probe(dropping, 'send-udp', '224.0.0.251', '5353', 'from dropping').waitForExit(WAIT_MS);
    const openOther = probe(open, 'listen-udp', '5999');
    await openOther.waitForEvent('listening', WAIT_MS);
    await probe(dropping, 'send-udp', open.ipv4, '5999', 'marker').waitForExit(WAIT_MS);
    await openOther.waitForEvent('got', WAIT_MS);
    expect(openMdns.events.filter((e) => e.text === 'from dropping')).toEqual([]);
  });

  it('adds a second segment to a running host: hosts there reach it, hosts on the first do not', async () => {
    const network = await createNetnsNetwork();
    const [a, b] = [await network.addHost(), await network.addHost()];
    const second = await network.addSegment();
    const far = await network.addHost(second);
    const added = await network.connect(a, second);
    const listener = probe(a, 'listen-udp', '5353', '224.0.0.251', added.ipv4);
    await listener.waitForEvent('listening', WAIT_MS);
    expect(added).toMatchObject({ name: 'eth1', ipv4: '10.77.2.1' });
    expect(far.ipv4).toBe('10.77.2.3');

    const tcp = probe(a, 'listen-tcp');
    const { port } = await tcp.waitForEvent('listening', WAIT_MS);
    await probe(far, 'send-tcp', added.ipv4, String(port), 'across').waitForExit(WAIT_MS);
    expect((await tcp.waitForEvent('got', WAIT_MS)).from).toBe('::ffff:10.77.2.3');
    await probe(far, 'send-udp', '224.0.0.251', '5353', 'on the new segment').waitForExit(WAIT_MS);
    expect(await listener.waitForEvent('got', WAIT_MS)).toMatchObject({ from: '10.77.2.3' });
    // The segments are separate links: b has no route to 10.77.2.0/24 but its default one,
    // which leads to the first bridge only.
    const unreachable = probe(b, 'send-tcp', far.ipv4, String(port), 'x');
    const exit = await unreachable.waitForExit(WAIT_MS);
    expect(exit.code).not.toBe(0);
  });

  it('leaves no namespace behind after destroy, and sweeps those of a run that is gone', async () => {
    const network = await createNetnsNetwork();
    const host = await network.addHost();
    const running = probe(host, 'listen-tcp');
    await running.waitForEvent('listening', WAIT_MS);
    expect(listNamespaces().filter((ns) => ns.startsWith(network.prefix))).toHaveLength(2);
    await network.destroy();
    expect(listNamespaces().filter((ns) => ns.startsWith(network.prefix))).toEqual([]);
    expect((await running.waitForExit(WAIT_MS)).signal).toBe('SIGKILL');

    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = `${NETNS_PREFIX}${gone}-1-sw`;
    const live = `${NETNS_PREFIX}${process.pid}-999-sw`;
    for (const ns of [stale, live]) spawnSync('ip', ['netns', 'add', ns]);
    try {
      expect(sweepStaleNamespaces()).toContain(stale);
      expect(listNamespaces()).not.toContain(stale);
      expect(listNamespaces()).toContain(live);
    } finally {
      for (const ns of [stale, live]) spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    }
  });
});

describe('zeroconf tool', { timeout: 60_000 }, () => {
  it('registers a service in one host that a browse in another resolves, then says goodbye', async () => {
    const network = await createNetnsNetwork();
    const [a, b] = [await network.addHost(), await network.addHost()];
    const registered = await zeroconfRegister(b, {
      name: 'Zoë "one"',
      port: 7878,
      addresses: [b.ipv4],
      txt: ['v=1', 'enc=1', 'mode=send', 'fp=0123456789abcdef'],
    });
    const browse = zeroconfBrowse(a);
    const found = await browse.waitForEvent('found', WAIT_MS);
    expect(found).toMatchObject({
      name: 'Zoë "one"',
      port: 7878,
      addresses: [b.ipv4],
      txt: { v: '1', enc: '1', mode: 'send', fp: '0123456789abcdef' },
    });
    registered.signal('SIGTERM');
    await browse.waitForEvent('removed', WAIT_MS, (event) => event.name === 'Zoë "one"');
    expect((await registered.waitForExit(WAIT_MS)).code).toBe(0);
  });

  it('floods announcements of distinct fake senders that a browse sees', async () => {
    const network = await createNetnsNetwork();
    const [a, b] = [await network.addHost(), await network.addHost()];
    const browse = zeroconfBrowse(a);
    await browse.waitForEvent('browsing', WAIT_MS);
    const flood = await zeroconfFlood(b, { count: 2000, rate: 4000 });
    expect(floodSent(flood)).toBeGreaterThanOrEqual(2000);
    await browse.waitForEvent('found', WAIT_MS, (event) => String(event.name).startsWith('fake-'));
    flood.signal('SIGTERM');
    expect((await flood.waitForExit(WAIT_MS)).code).toBe(0);
  });
});
