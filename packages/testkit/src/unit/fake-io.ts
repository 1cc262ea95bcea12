import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { onCleanup } from '../cleanup.ts';
import { within } from './waits.ts';

/** A logger that prints nothing. */
export const silentLogger = pino({ level: 'silent' });

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

  /** Resolves with the first complete line matching `test`, bounded by `WAIT_MS`. */
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

let configs = 0;

/** The io an app's `main()` takes, with captured stdout and stderr. */
export function fakeIo(options: { stdoutTTY?: boolean } = {}) {
  // Identity and remembered peers go to a folder of this test, never the user's own.
  const config = path.join(os.tmpdir(), `ferry-test-config-${process.pid}-${++configs}`);
  onCleanup('config folder', () => rm(config, { recursive: true, force: true }));
  return {
    stdout: new FakeOutput(options.stdoutTTY ?? false),
    stderr: new FakeOutput(),
    env: { FERRY_CONFIG_DIR: config },
  };
}

/** Parses `--json` output into event objects. */
export function jsonEvents(output: FakeOutput): ({ event: string } & Record<string, unknown>)[] {
  return output.lines.map(
    (line) => JSON.parse(line) as { event: string } & Record<string, unknown>,
  );
}
