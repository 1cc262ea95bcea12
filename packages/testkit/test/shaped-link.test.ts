/**
 * The shaped link the benchmark measures Ferry on: if frames larger than a plain Ethernet MTU did
 * not cross the delaying forwarder intact both ways, or the link outlived its run, its figures
 * would mean nothing. Its rate and delay are timings, measured by the benchmark, never here.
 * Needs root, iproute2, ethtool, ping and Debian's python3: fails (never skips) without them.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeAll } from '../src/cleanup.ts';
import { spawnLogged } from '../src/cli-process.ts';
import { listNamespaces } from '../src/netns.ts';
import { createShapedLink, type ShapedHost, shapedLinkProblems } from '../src/shaped-link.ts';

const PROBE = fileURLToPath(new URL('./fixtures/net-probe.mjs', import.meta.url));
const WAIT_MS = 10_000;

beforeAll(() => {
  const problems = shapedLinkProblems();
  if (problems.length > 0)
    throw new Error(`a shaped link cannot be made here:\n  - ${problems.join('\n  - ')}`);
});
afterAll(disposeAll);

function probe(host: ShapedHost, ...args: string[]) {
  const [file, wrapped] = host.command(process.execPath, [PROBE, ...args]);
  return spawnLogged(file, wrapped, { label: `net-probe in ${host.label}`, shownArgs: args });
}

/** About 100 KB of text no two parts of which are alike: several 64 KB frames. */
function stream(tag: string): string {
  return Array.from({ length: 15_000 }, (_, i) => `${tag}${i},`).join('');
}

describe('createShapedLink', { timeout: 60_000 }, () => {
  it('carries TCP streams of several large frames intact both ways, then leaves nothing', async () => {
    const link = await createShapedLink({ rateMbit: 100, delayMs: 5 });
    expect([link.a.ipv4, link.b.ipv4]).toEqual([
      expect.stringMatching(/^10\.78\.\d+\.1$/),
      expect.stringMatching(/^10\.78\.\d+\.2$/),
    ]);
    for (const [from, to] of [
      [link.a, link.b],
      [link.b, link.a],
    ] as const) {
      const listener = probe(to, 'listen-tcp');
      const { port } = await listener.waitForEvent('listening', WAIT_MS);
      const text = stream(from.label);
      await probe(from, 'send-tcp', to.ipv4, String(port), text).waitForExit(WAIT_MS);
      const got = await listener.waitForEvent('got', WAIT_MS);
      expect(got.from).toBe(`::ffff:${from.ipv4}`);
      expect(got.text).toBe(text);
    }
    const rtt = await link.ping(2);
    expect(rtt.minMs).toBeGreaterThan(0);

    const names = [link.a.ns, link.b.ns];
    await link.destroy();
    expect(listNamespaces().filter((ns) => names.includes(ns))).toEqual([]);
    expect(link.forwarderCpuSeconds()).toBe(0);
  });
});
