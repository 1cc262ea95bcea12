/**
 * Finding a sender: the time from starting `ferry-receive --list --json` to its first
 * `sender-found` line, with a sender announced on another host of a namespace network (real
 * multicast over a bridge, see `@ferry/testkit/netns`). Needs root, iproute2 and nftables.
 */
import path from 'node:path';
import { createNetnsNetwork, netnsProblems } from '@ferry/testkit/netns';
import { startReceiverIn, startSenderIn } from '../src/netns-ferry.ts';
import { median, writeRandomFile } from './data.ts';

/** The bar (PROTOCOL.md §14): a sender is listed within a second, at the median. */
export const DISCOVERY_BAR_MS = 1000;
/** A listing that found nothing: how long to wait before calling the round failed. */
const ROUND_LIMIT_MS = 30_000;

/** Rounds of one listing each, after one untimed listing that builds and warms the receiver. */
export async function reportDiscovery(rounds: number, dir: string): Promise<void> {
  console.log(
    `Finding a sender: ferry-receive --list --json to its first sender-found line, on a namespace network (${rounds} rounds)`,
  );
  const problems = netnsProblems().filter((problem) => !problem.includes('zeroconf'));
  if (problems.length > 0) {
    console.log(`  left out: ${problems.join('; ')} (npm run check installs what is missing)\n`);
    return;
  }
  const network = await createNetnsNetwork();
  try {
    const [senderHost, receiverHost] = [await network.addHost(), await network.addHost()];
    const file = path.join(dir, 'announced.bin');
    await writeRandomFile(file, 1024);
    await startSenderIn(senderHost, 'bench', [file]);
    const times: number[] = [];
    const startups: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      // The same program's start-up and exit alone, for scale: most of a listing's time is Node's.
      const versionStarted = performance.now();
      await startReceiverIn(receiverHost, ['--version']).waitForExit(ROUND_LIMIT_MS);
      if (round > 0) startups.push(performance.now() - versionStarted);
      const started = performance.now();
      const receiver = startReceiverIn(receiverHost, ['--list', '--json']);
      let firstMs: number | undefined;
      receiver.log.onEvent((event) => {
        if (event.event === 'sender-found' && firstMs === undefined)
          firstMs = performance.now() - started;
      });
      const exit = await receiver.waitForExit(ROUND_LIMIT_MS);
      if (exit.code !== 0 || firstMs === undefined) {
        console.log(
          `  round ${round}: ${receiver.log.report('found no sender').split('\n').join('\n    ')}`,
        );
        continue;
      }
      if (round === 0) {
        console.log(`  warm-up listing (untimed): ${ms(firstMs)}`);
        continue;
      }
      times.push(firstMs);
    }
    if (times.length === 0) {
      console.log(`  bar: median < ${DISCOVERY_BAR_MS} ms: FAIL (no round found the sender)\n`);
      return;
    }
    console.log(`  round by round: ${times.map(ms).join(', ')}`);
    console.log(`  median: ${ms(median(times))}, Node's start-up included`);
    console.log(
      `  ferry-receive --version, start to exit, for scale (median): ${ms(median(startups))}`,
    );
    const pass = times.length === rounds && median(times) < DISCOVERY_BAR_MS;
    console.log(`  bar: median < ${DISCOVERY_BAR_MS} ms: ${pass ? 'PASS' : 'FAIL'}\n`);
  } finally {
    await network.destroy();
  }
}

function ms(value: number): string {
  return `${value.toFixed(0)} ms`;
}
