import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Absolute paths of the two CLIs, run as real processes. */
export const SEND_BIN = fileURLToPath(new URL('../../sender/bin/ferry-send.mjs', import.meta.url));
export const RECEIVE_BIN = fileURLToPath(
  new URL('../../receiver/bin/ferry-receive.mjs', import.meta.url),
);

/** A JSON event with the monotonic time the bench saw it. */
export interface SeenEvent {
  readonly at: number;
  readonly event: string;
  readonly [field: string]: unknown;
}

/** A child process whose stdout JSON lines are collected and can be awaited. */
export class EventProcess {
  readonly child: ChildProcess;
  readonly events: SeenEvent[] = [];
  readonly exited: Promise<number | null>;
  peakRssKb = 0;
  /**
   * CPU time (user + system) used so far, in seconds, sampled with the RSS: steadier than wall
   * time on a busy host. The last sample comes at most 50 ms before the exit.
   */
  cpuSeconds = 0;
  #stderr = '';
  #waiters: { event: string; resolve: (e: SeenEvent) => void }[] = [];
  #rssTimer: NodeJS.Timeout;

  /**
   * Runs Node with `args`. `wrap` turns that command line into another that runs it, such as
   * `ip netns exec <ns> node …`; it must exec Node in place, so the pid sampled is Node's.
   */
  constructor(
    args: readonly string[],
    env: NodeJS.ProcessEnv = process.env,
    wrap: (file: string, args: readonly string[]) => [string, string[]] = (file, rest) => [
      file,
      [...rest],
    ],
  ) {
    const [file, wrapped] = wrap(process.execPath, args);
    this.child = spawn(file, wrapped, { stdio: ['ignore', 'pipe', 'pipe'], env });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const seen = { at: performance.now(), ...(JSON.parse(line) as { event: string }) };
      this.events.push(seen);
      for (const waiter of this.#waiters.filter((w) => w.event === seen.event))
        waiter.resolve(seen);
      this.#waiters = this.#waiters.filter((w) => w.event !== seen.event);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    // VmHWM is the peak resident set size so far; sampled until the process exits.
    this.#rssTimer = setInterval(() => this.#sampleRss(), 50);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        clearInterval(this.#rssTimer);
        resolve(code);
      });
    });
  }

  /** Resolves with the first event of this name (already seen or still to come). */
  waitFor(event: string, timeoutMs = 600_000): Promise<SeenEvent> {
    const seen = this.events.find((e) => e.event === event);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${event} event; stderr: ${this.#stderr}`)),
        timeoutMs,
      );
      this.#waiters.push({
        event,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code}) before ${event}; stderr: ${this.#stderr}`));
      });
    });
  }

  /** Waits for exit and insists on status 0. */
  async success(): Promise<void> {
    const code = await this.exited;
    if (code !== 0)
      throw new Error(`${this.child.spawnargs.join(' ')} exited ${code}: ${this.#stderr}`);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  #sampleRss(): void {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      if (kb > this.peakRssKb) this.peakRssKb = kb;
      const fields = statFields(this.child.pid!);
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (Number.isFinite(ticks)) this.cpuSeconds = ticks / 100;
    } catch {
      // The process is gone, or this is not Linux.
    }
  }
}

/**
 * The fields of /proc/PID/stat after the command name (which may hold spaces and ends at the
 * last ')'): index 1 is the parent's pid, 11 and 12 the user and system time in clock ticks
 * (100 a second on Linux). Throws when the process is gone or this is not Linux.
 */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * The CPU-seconds (user + system) used so far by the descendants of this process whose command
 * line contains `name`; 0 where /proc cannot be read.
 */
export function descendantsCpuSeconds(name: string): number {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parents.set(Number(entry), Number(statFields(Number(entry))[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  let seconds = 0;
  const visit = (parent: number): void => {
    for (const [pid, of] of parents) {
      if (of !== parent) continue;
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name)) {
          const fields = statFields(pid);
          seconds += (Number(fields[11]) + Number(fields[12])) / 100;
        }
      } catch {
        // Gone meanwhile.
      }
      visit(pid);
    }
  };
  visit(process.pid);
  return seconds;
}

/** Runs a shell command line to completion; returns the elapsed milliseconds. */
export function timeShell(command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`${command} exited ${code}: ${stderr}`));
    });
  });
}

/** Starts a shell command in the background. */
export function startShell(command: string): { exited: Promise<number | null>; kill(): void } {
  const child = spawn('sh', ['-c', command], {
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    exited,
    kill: () => {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    },
  };
}

/** Whether a command is on the PATH. */
export function commandExists(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
