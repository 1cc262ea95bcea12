/**
 * Ferry on shaped links, and one sender with many receivers.
 *
 * Shaped links (`@ferry/testkit/shaped-link`): two namespaces joined through a third that delays
 * every frame, each shaping what it sends with `tbf`. On each link, in the same rounds, the real
 * CLIs (sender in `a`, receiver in `b`) against `nc` and `tar | nc` from `a` to `b`: a big file
 * and many small files. Ferry is timed from the receiver's `start` event to its `done` (start-up
 * and pairing left out); `nc` from starting the sending side to the listening side's exit. Every
 * transfer comes after a `sync`, and each copy is checked for its size.
 *
 * Many receivers: one `ferry-send` on loopback and 8 `ferry-receive` taking the same file at
 * once, against one receiver alone; every copy's SHA-256 compared with the file's.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PAIRING } from '@ferry/protocol';
import {
  createShapedLink,
  type ShapedHost,
  type ShapedLink,
  shapedLinkProblems,
} from '@ferry/testkit/shaped-link';
import {
  keptCopyDir,
  median,
  warmPageCache,
  writeRandomFile,
  writeSmallFiles,
} from './data.ts';
import { EventProcess, RECEIVE_BIN, SEND_BIN } from './procs.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
/** The bar on shaped links: Ferry's median at least this fraction of nc's (or tar | nc's). */
export const SHAPED_BAR_RATIO = 0.95;
/** The bar of many receivers: the sender's peak RSS below this. */
export const MANY_RECEIVERS_RSS_BAR_MB = 200;

export interface ShapedOptions {
  readonly rounds: number;
  /** A folder for the files and copies; emptied of what this writes. */
  readonly dir: string;
  /** The small files: how many, of 4 KiB each. */
  readonly smallFiles: number;
  /** The big file on the 100 Mbit/s link, in MiB (1 GiB on the 1 Gbit/s link). */
  readonly slowMiB: number;
  /** Whether OpenBSD nc is installed (without it there is nothing to compare with). */
  readonly hasNc: boolean;
}

interface LinkCase {
  readonly title: string;
  readonly rateMbit: number;
  readonly delayMs: number;
  /**
   * 64 KB frames cost the forwarder least at 1 Gbit/s; at 100 Mbit/s a 64 KB frame takes 5 ms
   * to send, and 9000-byte frames gave nc a steadier rate (measured when this was built).
   */
  readonly mtu: number;
  readonly bigBytes: number;
}

interface Row {
  readonly method: string;
  readonly ms: number[];
  readonly cpuS: number[];
}

/** Both links, one after the other. */
export async function reportShaped(options: ShapedOptions): Promise<void> {
  const startedAt = performance.now();
  console.log(
    `Shaped links: two namespaces through a delaying middle one, tbf on each side (median of ${options.rounds})`,
  );
  const problems = shapedLinkProblems();
  if (!options.hasNc) problems.push('OpenBSD nc is not installed (apt-get install netcat-openbsd)');
  if (problems.length > 0) {
    console.log(`  left out: ${problems.join('; ')}\n`);
    return;
  }
  const cases: LinkCase[] = [
    { title: '1 Gbit/s, 1 ms each way', rateMbit: 1000, delayMs: 1, mtu: 65000, bigBytes: GiB },
    {
      title: '100 Mbit/s, 20 ms each way',
      rateMbit: 100,
      delayMs: 20,
      mtu: 9000,
      bigBytes: options.slowMiB * MiB,
    },
  ];
  const small = path.join(options.dir, 'shaped-small');
  await writeSmallFiles(small, options.smallFiles, 4096);
  const configs = {
    sender: path.join(options.dir, 'shaped-sender-config'),
    receiver: path.join(options.dir, 'shaped-receiver-config'),
  };
  try {
    for (const linkCase of cases) {
      const big = path.join(options.dir, 'shaped-big.bin');
      await writeRandomFile(big, linkCase.bigBytes);
      const { rateMbit, delayMs, mtu } = linkCase;
      const link = await createShapedLink({ rateMbit, delayMs, mtu });
      try {
        await reportLink(link, linkCase, big, small, configs, options);
      } finally {
        await link.destroy();
        await fs.rm(big, { force: true });
      }
    }
  } finally {
    await fs.rm(small, { recursive: true, force: true });
  }
  console.log(
    `  the shaped links took ${((performance.now() - startedAt) / 1000).toFixed(0)} s in all; load average now ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}\n`,
  );
}

async function reportLink(
  link: ShapedLink,
  linkCase: LinkCase,
  big: string,
  small: string,
  configs: { sender: string; receiver: string },
  options: ShapedOptions,
): Promise<void> {
  const rtt = await link.ping(10);
  console.log(
    `  ${linkCase.title} (MTU ${linkCase.mtu}): ping RTT min ${rtt.minMs.toFixed(2)} ms, avg ${rtt.avgMs.toFixed(2)} ms (${2 * linkCase.delayMs} ms of delay)`,
  );
  const cpuBefore = link.forwarderCpuSeconds();
  const out = path.join(options.dir, 'shaped-out');
  const bigRows: Row[] = [
    { method: 'Ferry (encrypted)', ms: [], cpuS: [] },
    { method: 'Ferry --no-encryption', ms: [], cpuS: [] },
    { method: 'nc', ms: [], cpuS: [] },
  ];
  const smallRows: Row[] = [
    { method: 'Ferry (encrypted)', ms: [], cpuS: [] },
    { method: 'tar | nc', ms: [], cpuS: [] },
  ];
  // Once per link: the VM's first large write after idling is slow (see run.ts), and every
  // transfer here is bound by the link, far below the disk's rate.
  await fresh(out);
  await warmPageCache(out, linkCase.bigBytes);
  for (let round = 0; round < options.rounds; round++) {
    for (const row of bigRows) {
      await fresh(out);
      execFileSync('sync');
      if (row.method === 'nc') {
        row.ms.push(await ncOver(link, `cat > '${out}/copy.bin'`, `cat '${big}'`));
        await expectSize(path.join(out, 'copy.bin'), linkCase.bigBytes);
      } else {
        const run = await ferryOver(link, big, out, configs, row.method.includes('no-encryption'));
        row.ms.push(run.ms);
        row.cpuS.push(run.cpuS);
        await expectSize(path.join(out, path.basename(big)), linkCase.bigBytes);
      }
    }
    for (const row of smallRows) {
      // A folder of its own, kept to the end: see keptCopyDir.
      const copy = await keptCopyDir(options.dir, 'shaped-small-copy');
      execFileSync('sync');
      if (row.method === 'tar | nc') {
        row.ms.push(await ncOver(link, `tar -C '${copy}' -xf -`, `tar -C '${small}' -cf - .`));
      } else {
        const run = await ferryOver(link, small, copy, configs, false);
        row.ms.push(run.ms);
        row.cpuS.push(run.cpuS);
      }
      const count = await countFiles(copy);
      if (count !== options.smallFiles)
        throw new Error(`${row.method}: ${count} files arrived of ${options.smallFiles}`);
    }
  }
  await fs.rm(out, { recursive: true, force: true });
  const bigTitle =
    linkCase.bigBytes >= GiB ? `${linkCase.bigBytes / GiB} GiB` : `${linkCase.bigBytes / MiB} MiB`;
  printRows(`${bigTitle} random file`, linkCase.bigBytes, bigRows);
  printRows(
    `${options.smallFiles.toLocaleString('en')} files of 4 KiB`,
    options.smallFiles * 4096,
    smallRows,
  );
  console.log(
    `    the delaying forwarder used ${(link.forwarderCpuSeconds() - cpuBefore).toFixed(1)} CPU-s for all of these`,
  );
}

/** Each row's median rate, then Ferry's ratios to the baseline (the last row), with the bar. */
function printRows(title: string, bytes: number, rows: Row[]): void {
  console.log(`    ${title}:`);
  for (const row of rows) {
    const cpu = row.cpuS.length > 0 ? `, ${median(row.cpuS).toFixed(1)} CPU-s both ends` : '';
    console.log(
      `      ${row.method.padEnd(22)} ${mbps(bytes, median(row.ms)).padStart(6)} MB/s${cpu}`,
    );
  }
  const baseline = rows.at(-1)!;
  for (const row of rows.slice(0, -1)) {
    const ratio = median(baseline.ms) / median(row.ms);
    const perRound = baseline.ms.map((ms, i) => (ms / row.ms[i]!).toFixed(2)).join(' ');
    const verdict =
      row.method === 'Ferry (encrypted)'
        ? `, bar >= ${SHAPED_BAR_RATIO}: ${ratio >= SHAPED_BAR_RATIO ? 'PASS' : 'FAIL'}`
        : '';
    console.log(
      `      ${row.method} / ${baseline.method}: ${ratio.toFixed(2)} (rounds: ${perRound})${verdict}`,
    );
  }
}

/**
 * One transfer through the real CLIs over the link: `ferry-send --once` in `a`, listening on its
 * address, and `ferry-receive --yes` in `b`, paired with the sender's code unless `clear`.
 */
async function ferryOver(
  link: ShapedLink,
  source: string,
  out: string,
  configs: { sender: string; receiver: string },
  clear: boolean,
): Promise<{ ms: number; cpuS: number }> {
  const flags = clear ? ['--no-encryption'] : [];
  const sender = new EventProcess(
    [
      SEND_BIN,
      '--json',
      '--once',
      '--no-announce',
      '--host',
      link.a.ipv4,
      '--port',
      '0',
      ...flags,
      source,
    ],
    { ...process.env, FERRY_CONFIG_DIR: configs.sender },
    link.a.command,
  );
  try {
    const { port } = await sender.waitFor('listening');
    const code = clear ? undefined : String((await sender.waitFor('code')).code);
    const receiver = new EventProcess(
      [RECEIVE_BIN, '--json', '--yes', ...flags, '--out', out, `${link.a.ipv4}:${port}`],
      {
        ...process.env,
        FERRY_CONFIG_DIR: configs.receiver,
        ...(code ? { FERRY_CODE: code } : {}),
      },
      link.b.command,
    );
    try {
      const start = await receiver.waitFor('start');
      const done = await receiver.waitFor('done');
      await receiver.success();
      await sender.success();
      return { ms: done.at - start.at, cpuS: receiver.cpuSeconds + sender.cpuSeconds };
    } finally {
      receiver.kill();
    }
  } finally {
    sender.kill();
  }
}

let nextPort = 41000;

/**
 * `nc -l` in `b` piped into `listen`; once it listens, `produce` piped into `nc -N` in `a`.
 * Returns the milliseconds from starting the sending side to the listening side's exit.
 */
async function ncOver(link: ShapedLink, listen: string, produce: string): Promise<number> {
  const port = nextPort++;
  const listener = shellIn(link.b, `nc -l ${link.b.ipv4} ${port} | ${listen}`);
  try {
    for (let attempt = 0; !(await link.b.listening(port)); attempt++) {
      if (attempt > 500 || listener.child.exitCode !== null)
        throw new Error(`nc -l ${port} in b does not listen: ${listener.stderr()}`);
    }
    const started = performance.now();
    const producer = shellIn(link.a, `${produce} | nc -N ${link.b.ipv4} ${port}`);
    const [sent, received] = await Promise.all([producer.exited, listener.exited]);
    if (sent !== 0 || received !== 0)
      throw new Error(`nc over the link failed: ${producer.stderr()}${listener.stderr()}`);
    return performance.now() - started;
  } finally {
    listener.kill();
  }
}

/** A shell script run in `host`, in its own process group. */
function shellIn(host: ShapedHost, script: string) {
  const [file, args] = host.command('sh', ['-c', script]);
  const child: ChildProcess = spawn(file, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    exited,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    },
  };
}

/** One receiver alone, then `count` at once, each round; all from one sender per case. */
export async function reportManyReceivers(options: {
  readonly rounds: number;
  readonly dir: string;
  readonly count: number;
  readonly mib: number;
}): Promise<void> {
  const { count, rounds } = options;
  const bytes = options.mib * MiB;
  console.log(
    `Many receivers: one ferry-send (encrypted) on loopback, ${count} ferry-receive taking the same ${options.mib} MiB file at once (median of ${rounds})`,
  );
  const dir = path.join(options.dir, 'many');
  await fs.mkdir(dir, { recursive: true });
  try {
    const source = path.join(dir, 'shared.bin');
    await writeRandomFile(source, bytes);
    const digest = await sha256(source);
    const senderConfig = path.join(dir, 'sender-config');
    const receiverConfigs = Array.from({ length: count }, (_, i) =>
      path.join(dir, `receiver-config-${i + 1}`),
    );
    await pairAll(senderConfig, receiverConfigs, dir);
    const alone: number[] = [];
    const together: number[] = [];
    const senderRssKb: number[] = [];
    const aloneRssKb: number[] = [];
    const allRunning: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const receivers of [1, count]) {
        const outs = receiverConfigs
          .slice(0, receivers)
          .map((_, i) => path.join(dir, `out-${i + 1}`));
        for (const out of outs) await fresh(out);
        await warmPageCache(dir, bytes);
        execFileSync('sync');
        const run = await oneSenderMany(source, senderConfig, receiverConfigs, outs);
        for (const out of outs) {
          const copy = path.join(out, path.basename(source));
          if ((await sha256(copy)) !== digest)
            throw new Error(`${copy} is not byte-identical to the file sent`);
        }
        (receivers === 1 ? alone : together).push(run.ms);
        if (receivers > 1) allRunning.push(run.allRunningMBps);
        (receivers === 1 ? aloneRssKb : senderRssKb).push(run.senderRssKb);
        for (const out of outs) await fs.rm(out, { recursive: true, force: true });
      }
    }
    const aloneRate = bytes / 1e6 / (median(alone) / 1000);
    const togetherRate = (count * bytes) / 1e6 / (median(together) / 1000);
    console.log(
      `  one receiver alone: ${aloneRate.toFixed(0)} MB/s, sender peak RSS ${mb(Math.max(...aloneRssKb))} MB`,
    );
    console.log(
      `  ${count} at once: ${togetherRate.toFixed(0)} MB/s in all (${(togetherRate / count).toFixed(0)} MB/s each), from the first start to the last done`,
    );
    const steady = allRunning.filter((rate) => Number.isFinite(rate));
    console.log(
      steady.length > 0
        ? `  ${count} at once, while all ${count} were transferring (from the last start to the first done): ${median(steady).toFixed(0)} MB/s in all`
        : `  ${count} at once: the ${count} transfers never all ran at the same time`,
    );
    console.log(
      `  all ${count} copies byte-identical (SHA-256) in every round; aggregate / alone: ${(togetherRate / aloneRate).toFixed(2)}`,
    );
    const peak = Math.max(...senderRssKb) / 1024;
    console.log(
      `  sender peak RSS with ${count} receivers: ${peak.toFixed(0)} MB (rounds: ${senderRssKb.map(mb).join(' ')}), bar < ${MANY_RECEIVERS_RSS_BAR_MB} MB: ${peak < MANY_RECEIVERS_RSS_BAR_MB ? 'PASS' : 'FAIL'}\n`,
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Pairs each receiver's configuration with the sender's, `--remember` on both sides, by taking
 * a tiny file with the code the sender shows next: afterwards all can connect at once without
 * a code, encrypted, as remembered peers do.
 */
async function pairAll(
  senderConfig: string,
  receiverConfigs: readonly string[],
  dir: string,
): Promise<void> {
  const tiny = path.join(dir, 'pairing.txt');
  await fs.writeFile(tiny, 'pairing\n');
  const sender = new EventProcess(
    [SEND_BIN, '--json', '--remember', '--no-announce', '--host', '127.0.0.1', '--port', '0', tiny],
    { ...process.env, FERRY_CONFIG_DIR: senderConfig },
  );
  try {
    const { port } = await sender.waitFor('listening');
    for (const [i, config] of receiverConfigs.entries()) {
      const code = await nthEvent(sender, 'code', i);
      const out = path.join(dir, 'pairing-out');
      await fresh(out);
      const receiver = new EventProcess(
        [
          RECEIVE_BIN,
          '--json',
          '--yes',
          '--remember',
          ...named(i),
          '--out',
          out,
          `127.0.0.1:${port}`,
        ],
        { ...process.env, FERRY_CONFIG_DIR: config, FERRY_CODE: String(code.code) },
      );
      try {
        await receiver.waitFor('done');
        await receiver.success();
      } finally {
        receiver.kill();
      }
    }
  } finally {
    sender.kill();
  }
}

/**
 * Receiver `i`'s name, `r1`, `r2`, …: the sender remembers a receiver as `name@address`, and
 * all of them connect from 127.0.0.1, so with one name each pairing would replace the last.
 */
function named(i: number): string[] {
  return ['--name', `r${i + 1}`];
}

/** The `n`th (from 0) event of this name from `proc`, waiting for it if need be. */
async function nthEvent(proc: EventProcess, event: string, n: number) {
  for (;;) {
    const seen = proc.events.filter((e) => e.event === event);
    if (seen.length > n) return seen[n]!;
    await Promise.race([
      new Promise((resolve) => proc.child.stdout!.once('data', resolve)),
      proc.exited.then((code) => {
        throw new Error(`the sender exited (${code}) before its code number ${n + 1}`);
      }),
    ]);
    // The line is parsed just after the chunk arrives.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * One `ferry-send` offering `source`, and one remembered receiver per folder in `outs` started
 * together. `ms` runs from the first receiver's `start` to the last one's `done`, so it holds
 * the later receivers' start-up; `allRunningMBps` is the rate of all of them together from the
 * last `start` to the first `done` (bytes read from their `progress` events, interpolated), or
 * NaN when they never all ran at once.
 */
async function oneSenderMany(
  source: string,
  senderConfig: string,
  receiverConfigs: readonly string[],
  outs: readonly string[],
): Promise<{ ms: number; senderRssKb: number; allRunningMBps: number }> {
  const sender = new EventProcess(
    [SEND_BIN, '--json', '--no-announce', '--host', '127.0.0.1', '--port', '0', source],
    { ...process.env, FERRY_CONFIG_DIR: senderConfig },
  );
  try {
    const { port } = await sender.waitFor('listening');
    const receivers: EventProcess[] = [];
    try {
      // All come from 127.0.0.1, and a sender lets at most PAIRING.maxPendingPerHost connections
      // of one address wait for pairing (it closes the others): each wave starts once the one
      // before is paired (`secured`), a moment before its transfer starts.
      for (let first = 0; first < outs.length; first += PAIRING.maxPendingPerHost) {
        const wave = outs
          .slice(first, first + PAIRING.maxPendingPerHost)
          .map(
            (out, j) =>
              new EventProcess(
                [
                  RECEIVE_BIN,
                  '--json',
                  '--yes',
                  ...named(first + j),
                  '--out',
                  out,
                  `127.0.0.1:${port}`,
                ],
                { ...process.env, FERRY_CONFIG_DIR: receiverConfigs[first + j]! },
              ),
          );
        receivers.push(...wave);
        await Promise.all(wave.map((r) => r.waitFor('secured')));
      }
      const starts = await Promise.all(receivers.map((r) => r.waitFor('start')));
      const dones = await Promise.all(receivers.map((r) => r.waitFor('done')));
      await Promise.all(receivers.map((r) => r.success()));
      const from = Math.max(...starts.map((s) => s.at));
      const to = Math.min(...dones.map((d) => d.at));
      const moved = receivers.reduce((sum, r) => sum + bytesAt(r, to) - bytesAt(r, from), 0);
      return {
        ms: Math.max(...dones.map((d) => d.at)) - Math.min(...starts.map((s) => s.at)),
        senderRssKb: sender.peakRssKb,
        allRunningMBps: to > from ? moved / 1e6 / ((to - from) / 1000) : Number.NaN,
      };
    } finally {
      for (const receiver of receivers) receiver.kill();
    }
  } finally {
    sender.kill();
  }
}

/**
 * The bytes a receiver had received at time `at`: its `progress` events (every 500 ms with
 * `--json`), 0 at its `start` and all at its `done`, interpolated linearly between them.
 */
function bytesAt(receiver: EventProcess, at: number): number {
  const points = receiver.events
    .filter((e) => e.event === 'start' || e.event === 'progress' || e.event === 'done')
    .map((e) => ({
      at: e.at,
      bytes: e.event === 'start' ? 0 : Number(e.bytes),
    }));
  const after = points.findIndex((p) => p.at >= at);
  if (after <= 0) return after === 0 ? points[0]!.bytes : points.at(-1)!.bytes;
  const [a, b] = [points[after - 1]!, points[after]!];
  return a.bytes + ((b.bytes - a.bytes) * (at - a.at)) / Math.max(b.at - a.at, 1e-9);
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: MiB }), hash);
  return hash.digest('hex');
}

async function expectSize(file: string, bytes: number): Promise<void> {
  const { size } = await fs.stat(file);
  if (size !== bytes) throw new Error(`${file}: ${size} bytes, not ${bytes}`);
}

async function countFiles(dir: string): Promise<number> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).length;
}

async function fresh(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
}

function mbps(bytes: number, ms: number): string {
  const rate = bytes / 1e6 / (ms / 1000);
  return rate.toFixed(rate < 10 ? 1 : 0);
}

function mb(kb: number): string {
  return (kb / 1024).toFixed(0);
}
