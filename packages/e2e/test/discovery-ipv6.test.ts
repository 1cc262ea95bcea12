/**
 * Finding senders over IPv6 multicast (ff02::fb, PROTOCOL.md §14): hosts of a namespace network
 * joined by a segment with IPv6 link-local addresses only, no IPv4 at all. Needs root, iproute2,
 * nftables and python3-zeroconf, like discovery.test.ts: without them these tests fail, saying so.
 */
import path from 'node:path';
import { hashTree, makeTempDir, WAIT, writeRandomFile } from '@ferry/testkit/harness';
import { assertNetnsReady, createNetnsNetwork } from '@ferry/testkit/netns';
import { beforeAll, describe, expect, it } from 'vitest';
import { listIn, startReceiverIn, startSenderIn } from '../src/netns-ferry.ts';

beforeAll(() => assertNetnsReady());

describe('finding senders over IPv6 only', () => {
  it('N: a receiver on a link without IPv4 lists a sender by its link-local address and zone, and takes a file from it, byte-identical', async () => {
    const network = await createNetnsNetwork();
    const segment = await network.addSegment({ ipv4: false });
    const [h1, h2] = [await network.addHost(segment), await network.addHost(segment)];
    const [senderIf, receiverIf] = [h1.interfaces[0]!, h2.interfaces[0]!];
    expect([senderIf.ipv4, receiverIf.ipv4]).toEqual(['', '']);
    const dir = await makeTempDir('src-ipv6');
    const file = path.join(dir, 'alice.bin');
    await writeRandomFile(file, 256 * 1024);
    const alice = await startSenderIn(h1, 'alice', [file]);
    // The sender's address as the receiver must use it: on the receiver's interface.
    const zoned = `${senderIf.ipv6LinkLocal}%${receiverIf.name}`;

    const listing = await listIn(h2);
    expect(listing.code, listing.process.log.report('--list did not exit 0')).toBe(0);
    expect(listing.found).toEqual([
      expect.objectContaining({
        event: 'sender-found',
        name: 'alice',
        port: alice.port,
        addresses: [zoned],
        key: alice.fingerprint,
      }),
    ]);

    const shown = startReceiverIn(h2, ['--list']);
    const shownExit = await shown.waitForExit(WAIT.transferMs);
    expect(shownExit.code, shown.log.report('--list did not exit 0')).toBe(0);
    expect(shown.log.stdout).toContain(`[${zoned}]:${alice.port}`);

    const out = await makeTempDir('out-ipv6');
    const run = startReceiverIn(h2, ['--yes', '--json', '--out', out, 'alice'], alice.code());
    const exit = await run.waitForExit(WAIT.transferMs);
    expect(exit.code, run.log.report('taking from "alice" failed')).toBe(0);
    expect(run.events.find((e) => e.event === 'connected')?.address).toBe(
      `[${zoned}]:${alice.port}`,
    );
    expect(await hashTree(out)).toEqual(await hashTree(dir));
  });

  it('N: a sender on a link without IPv4 lists its link-local address, its interface as the zone', async () => {
    const network = await createNetnsNetwork();
    const segment = await network.addSegment({ ipv4: false });
    const h1 = await network.addHost(segment);
    const senderIf = h1.interfaces[0]!;
    const dir = await makeTempDir('src-ipv6-listed');
    const file = path.join(dir, 'alice.bin');
    await writeRandomFile(file, 1024);
    const alice = await startSenderIn(h1, 'alice', [file]);
    const listening = alice.process.events.find((e) => e.event === 'listening');
    expect(listening?.addresses).toEqual([
      {
        address: `${senderIf.ipv6LinkLocal}%${senderIf.name}`,
        family: 'IPv6',
        interface: senderIf.name,
      },
    ]);
  });
});
