import { DISCOVERY } from '@ferry/protocol';
import { describe, expect, it } from 'vitest';
import { createFakeNetwork } from '../src/testing.ts';
import { announcement } from './helpers.ts';

const KEY = 'ab'.repeat(32);

describe('createFakeNetwork', () => {
  it('a browser sees what announcers on other hosts announce, with the TXT of §14.2', async () => {
    const network = createFakeNetwork();
    await network
      .announcer({ address: '10.0.0.5', hostname: 'laptop' })
      .start({ name: 'alice', port: 7878, encrypted: true, chat: false, fingerprint: KEY });
    await network
      .announcer({ address: '10.0.0.6' })
      .start({ name: 'bob', port: 7879, encrypted: false, chat: true });
    const found = await network.browser().browse();
    expect(found).toEqual([
      {
        name: 'alice',
        host: 'laptop',
        addresses: ['10.0.0.5'],
        port: 7878,
        version: '1',
        encrypted: true,
        chat: false,
        keyHint: 'abababababababab',
        source: '10.0.0.5',
      },
      {
        name: 'bob',
        host: '10-0-0-6',
        addresses: ['10.0.0.6'],
        port: 7879,
        version: '1',
        encrypted: false,
        chat: true,
        keyHint: '',
        source: '10.0.0.6',
      },
    ]);
  });

  it('renames a second announcement of a name, and a stopped announcer disappears from a new search', async () => {
    const network = createFakeNetwork();
    const first = network.announcer({ address: '10.0.0.5' });
    expect(await first.start({ name: 'alice', port: 1, encrypted: false, chat: false })).toEqual({
      name: 'alice',
    });
    expect(
      await network
        .announcer({ address: '10.0.0.6' })
        .start({ name: 'alice', port: 2, encrypted: false, chat: false }),
    ).toEqual({ name: 'alice (2)' });
    await first.stop();
    expect((await network.browser().browse()).map((s) => s.name)).toEqual(['alice (2)']);
  });

  it('M5: a browser whose multicast is dropped finds nothing', async () => {
    const network = createFakeNetwork();
    await network
      .announcer({ address: '10.0.0.5' })
      .start({ name: 'alice', port: 1, encrypted: false, chat: false });
    expect(await network.browser({ blocked: true }).browse()).toEqual([]);
  });

  it('M2: injected floods go through the same caps as the real browser', async () => {
    const network = createFakeNetwork();
    for (let i = 0; i < 2_000; i++)
      network.inject(announcement(`fake-${i}`, { addresses: ['10.0.0.66'] }), '10.0.0.66');
    await network
      .announcer({ address: '10.0.0.5' })
      .start({ name: 'alice', port: 1, encrypted: false, chat: false });
    const found = await network.browser().browse();
    expect(found).toHaveLength(DISCOVERY.maxPerSource + 1);
    expect(found.map((s) => s.name)).toContain('alice');
  });

  it('reports each sender as it is found, also one announced during the search', async () => {
    const network = createFakeNetwork();
    const controller = new AbortController();
    const seen: string[] = [];
    const search = network.browser().browse({
      ms: 60_000,
      signal: controller.signal,
      onFound: (sender) => {
        seen.push(sender.name);
        if (seen.length === 2) controller.abort();
      },
    });
    await network
      .announcer({ address: '10.0.0.5' })
      .start({ name: 'alice', port: 1, encrypted: false, chat: false });
    await network
      .announcer({ address: '10.0.0.6' })
      .start({ name: 'bob', port: 1, encrypted: false, chat: false });
    expect((await search).map((s) => s.name)).toEqual(['alice', 'bob']);
    expect(seen).toEqual(['alice', 'bob']);
  });
});
