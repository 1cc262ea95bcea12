/** Test helpers for the sender: fake io, bounded waits, temp dirs and unconditional cleanup. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';

/** A logger that prints nothing. */
export const silentLogger = pino({ level: 'silent' });

/** Every wait in these tests gives up after this long. */
export const WAIT_MS = 5_000;

const disposers: { what: string; dispose: () => unknown }[] = [];

/** Registers `dispose` to run after the current test, pass or fail (newest first). */
export function onCleanup(what: string, dispose: () => unknown): void {
  disposers.push({ what, dispose });
}

/** Runs every registered disposer; call it from `afterEach`. */
export async function runCleanup(): Promise<void> {
  const errors: unknown[] = [];
  for (let disposer = disposers.pop(); disposer; disposer = disposers.pop()) {
    try {
      await disposer.dispose();
    } catch (error) {
      errors.push(new Error(`cleanup of ${disposer.what} failed`, { cause: error }));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
}

/** A fresh temporary folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-send-test-'));
  onCleanup(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Rejects with `describe()` in the message when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, what: string, describe: () => string = () => '', ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${describe()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A writable stand-in for stdout or stderr that keeps what was written and can be waited on. */
export class FakeOutput {
  text = '';
  readonly isTTY: boolean;
  readonly columns = 100;
  #waiters = new Set<() => void>();

  constructor(isTTY = false) {
    this.isTTY = isTTY;
  }

  write(chunk: string): boolean {
    this.text += chunk;
    for (const waiter of [...this.#waiters]) waiter();
    return true;
  }

  /** The complete lines written so far. */
  get lines(): string[] {
    const lines = this.text.split('\n');
    lines.pop();
    return lines;
  }

  /** Resolves with the first complete line matching `test`, bounded by {@link WAIT_MS}. */
  waitForLine(what: string, test: (line: string) => boolean): Promise<string> {
    const found = () => this.lines.find(test);
    const promise = new Promise<string>((resolve) => {
      const check = () => {
        const line = found();
        if (line === undefined) return;
        this.#waiters.delete(check);
        resolve(line);
      };
      this.#waiters.add(check);
      check();
    });
    return within(promise, what, () => `output so far:\n${this.text}`);
  }
}

/** The io `main()` takes, with captured stdout and stderr. */
export function fakeIo(options: { stdoutTTY?: boolean } = {}) {
  // Identity and remembered peers go to a folder of this test, never the user's own.
  const config = path.join(os.tmpdir(), `ferry-test-config-${process.pid}-${++configs}`);
  onCleanup('config folder', () => rm(config, { recursive: true, force: true }));
  return { stdout: new FakeOutput(options.stdoutTTY ?? false), stderr: new FakeOutput(), env: { FERRY_CONFIG_DIR: config } };
}
let configs = 0;

/** Parses `--json` output into event objects. */
export function jsonEvents(output: FakeOutput): ({ event: string } & Record<string, unknown>)[] {
  return output.lines.map((line) => JSON.parse(line) as { event: string } & Record<string, unknown>);
}

/** Records every event a headless core emits and lets a test wait for one (bounded). */
export class EventLog<Events extends Record<string, unknown>> {
  readonly seen: { name: keyof Events; payload: unknown }[] = [];
  #waiters = new Set<() => void>();

  constructor(emitter: { on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): unknown }, names: readonly (keyof Events)[]) {
    for (const name of names) {
      emitter.on(name, (payload) => {
        this.seen.push({ name, payload });
        for (const waiter of [...this.#waiters]) waiter();
      });
    }
  }

  /** Every payload of `name` so far. */
  all<K extends keyof Events>(name: K): Events[K][] {
    return this.seen.filter((e) => e.name === name).map((e) => e.payload as Events[K]);
  }

  /** Resolves with the `index`-th payload of `name` (0-based), waiting for it if needed. */
  waitFor<K extends keyof Events>(name: K, index = 0): Promise<Events[K]> {
    const promise = new Promise<Events[K]>((resolve) => {
      const check = () => {
        const payload = this.all(name)[index];
        if (payload === undefined) return;
        this.#waiters.delete(check);
        resolve(payload);
      };
      this.#waiters.add(check);
      check();
    });
    return within(promise, `event ${String(name)} #${index}`, () => `events so far: ${JSON.stringify(this.seen)}`);
  }
}
