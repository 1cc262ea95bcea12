import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Announcer } from '@ferry/discovery';
import { createFakeNetwork } from '@ferry/discovery/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { reachableFromNetwork } from '../src/announce.ts';
import { EXIT, main } from '../src/main.ts';
import {
  fakeIo,
  jsonEvents,
  onCleanup,
  runCleanup,
  silentLogger,
  tempDir,
  within,
} from './helpers.ts';

afterEach(runCleanup);

/** Starts `main()` with an announcer of the test's own; the signal is aborted after the test. */
async function start(argv: string[], announcer: Announcer) {
  const dir = await tempDir();
  const file = path.join(dir, 'offered.txt');
  await writeFile(file, 'payload');
  const io = fakeIo();
  const controller = new AbortController();
  const exit = main([...argv, file], io, controller.signal, { logger: silentLogger, announcer });
  onCleanup('sender main', async () => {
    controller.abort();
    await exit.catch(() => {});
  });
  return {
    io,
    controller,
    exit: () =>
      within(
        exit,
        'main() to return',
        () => `stdout:\n${io.stdout.text}\nstderr:\n${io.stderr.text}`,
      ),
  };
}

describe('ferry-send announces itself (PROTOCOL.md §14)', () => {
  it('M6: after listening, with the key hint and mode=send; --json says announced; the goodbye goes out on stop', async () => {
    const network = createFakeNetwork();
    const run = await start(
      ['--json', '--name', 'alice', '--host', '0.0.0.0', '--port', '0'],
      network.announcer({ address: '10.0.0.5' }),
    );
    const line = await run.io.stdout.waitForLine('the announced event', (l) =>
      l.includes('"announced"'),
    );
    const events = jsonEvents(run.io.stdout);
    const listening = events.find((event) => event.event === 'listening')!;
    expect(JSON.parse(line)).toEqual({ event: 'announced', name: 'alice', port: listening.port });
    const [found] = await network.browser().browse();
    const key = String(listening.fingerprint).replaceAll(' ', '').toLowerCase();
    expect(found).toMatchObject({
      name: 'alice',
      port: listening.port,
      encrypted: true,
      chat: false,
      keyHint: key,
      version: '1',
    });
    run.controller.abort();
    expect(await run.exit()).toBe(EXIT.interrupted);
    expect(await network.browser().browse()).toEqual([]);
  });

  it('M6: prints one line saying how receivers find it', async () => {
    const network = createFakeNetwork();
    const run = await start(
      ['--no-encryption', '--name', 'alice', '--host', '0.0.0.0', '--port', '0'],
      network.announcer({ address: '10.0.0.5' }),
    );
    const line = await run.io.stdout.waitForLine('the announced line', (l) =>
      l.startsWith('Announced'),
    );
    expect(line).toBe(
      'Announced as "alice" on this network: ferry-receive with no address finds it.',
    );
    expect((await network.browser().browse())[0]).toMatchObject({ encrypted: false, keyHint: '' });
  });

  it('M6: a conversation (--chat) is announced with mode=chat, and told to ferry-receive --chat', async () => {
    const network = createFakeNetwork();
    const io = { ...fakeIo(), stdin: new PassThrough() };
    const controller = new AbortController();
    const exit = main(['--chat', '--name', 'alice', '--host', '0.0.0.0', '--port', '0'], io, controller.signal, {
      logger: silentLogger,
      announcer: network.announcer({ address: '10.0.0.5' }),
      defaultFolder: await tempDir(),
    });
    onCleanup('chat main', async () => {
      controller.abort();
      io.stdin.end();
      await exit.catch(() => {});
    });
    const line = await io.stdout.waitForLine('the announced line', (l) => l.includes('Announced'));
    expect(line).toContain('Announced as "alice" on this network: ferry-receive --chat with no address finds it.');
    expect((await network.browser().browse())[0]).toMatchObject({ name: 'alice', chat: true });
  });

  it('M6: --no-announce, and listening on loopback only, announce nothing', async () => {
    for (const argv of [
      ['--no-announce', '--host', '0.0.0.0'],
      ['--host', '127.0.0.1'],
    ]) {
      const network = createFakeNetwork();
      let started = 0;
      const announcer = network.announcer({ address: '10.0.0.5' });
      const counting: Announcer = {
        start: (a) => {
          started++;
          return announcer.start(a);
        },
        stop: () => announcer.stop(),
      };
      const run = await start(['--json', ...argv, '--port', '0'], counting);
      await run.io.stdout.waitForLine('the listening event', (l) => l.includes('"listening"'));
      run.controller.abort();
      expect(await run.exit()).toBe(EXIT.interrupted);
      expect(started).toBe(0);
      expect(jsonEvents(run.io.stdout).map((event) => event.event)).not.toContain('announced');
    }
  });

  it('a failure to announce is not fatal: it says so, and the sender goes on listening', async () => {
    const failing: Announcer = {
      start: () => Promise.reject(new Error('no multicast here')),
      stop: async () => {},
    };
    const run = await start(['--name', 'alice', '--host', '0.0.0.0', '--port', '0'], failing);
    const line = await run.io.stdout.waitForLine('the failure line', (l) =>
      l.startsWith('Could not announce'),
    );
    expect(line).toBe(
      'Could not announce on the network (no multicast here); receivers can still type an address.',
    );
    run.controller.abort();
    expect(await run.exit()).toBe(EXIT.interrupted);
  });

  it('knows which addresses no other machine reaches', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1'])
      expect(reachableFromNetwork(host)).toBe(false);
    for (const host of [undefined, '0.0.0.0', '::', '192.168.1.20', 'fd00::1'])
      expect(reachableFromNetwork(host)).toBe(true);
  });
});
