/** One `--json` line a Ferry CLI printed. */
export type JsonEvent = { readonly event: string } & Readonly<Record<string, unknown>>;

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
}

interface Waiter {
  check(): boolean;
  fail(reason: string): void;
}

/**
 * Everything a process printed, with waits that resolve on output or exit. A wait that times
 * out, or whose process exits first, rejects with all the output captured so far, so a failing
 * test shows what the process said instead of just "timed out".
 */
export class OutputLog {
  readonly label: string;
  stdout = '';
  stderr = '';
  /** The stdout lines that parsed as JSON objects with an `event` field, in order. */
  readonly events: JsonEvent[] = [];
  exit: ExitInfo | undefined;
  #partial = '';
  #waiters = new Set<Waiter>();
  #listeners: ((event: JsonEvent) => void)[] = [];

  constructor(label: string) {
    this.label = label;
  }

  appendStdout(text: string): void {
    this.stdout += text;
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#parseLine(line);
    this.#notify();
  }

  appendStderr(text: string): void {
    this.stderr += text;
    this.#notify();
  }

  markExited(exit: ExitInfo): void {
    if (this.#partial) this.#parseLine(this.#partial);
    this.#partial = '';
    this.exit = exit;
    this.#notify();
    for (const waiter of [...this.#waiters])
      waiter.fail(`the process exited (${formatExit(exit)}) first`);
  }

  /**
   * Resolves with the first defined value `probe` returns, re-checked on every output and on
   * exit; rejects (with all output) after `timeoutMs` or when the process exits first.
   */
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const first = probe();
      if (first !== undefined) {
        resolve(first);
        return;
      }
      const waiter: Waiter = {
        check: () => {
          const value = probe();
          if (value === undefined) return false;
          done();
          resolve(value);
          return true;
        },
        fail: (reason) => {
          done();
          reject(new Error(this.report(`${reason} while waiting for ${what}`)));
        },
      };
      const timer = setTimeout(
        () => waiter.fail(`timed out after ${timeoutMs / 1000} s`),
        timeoutMs,
      );
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      if (this.exit) {
        waiter.fail(`the process had already exited (${formatExit(this.exit)})`);
        return;
      }
      this.#waiters.add(waiter);
    });
  }

  /** The first event named `name` (and matching `match`), waiting for it if needed. */
  waitForEvent(
    name: string,
    timeoutMs: number,
    match: (event: JsonEvent) => boolean = () => true,
  ): Promise<JsonEvent> {
    return this.waitFor(
      `the "${name}" event`,
      () => this.events.find((e) => e.event === name && match(e)),
      timeoutMs,
    );
  }

  /** Waits for the process to end; rejects with all output if it does not within `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<ExitInfo> {
    // markExited() re-checks every waiter before failing the rest, so this one resolves.
    return this.waitFor('the process to exit', () => this.exit, timeoutMs);
  }

  /** Re-checks every wait now: for waits whose probe also looks at state outside this output. */
  recheck(): void {
    this.#notify();
  }

  /** Calls `listener` with every JSON event parsed from now on, as soon as it is parsed. */
  onEvent(listener: (event: JsonEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** A failure message with the whole captured output. */
  report(headline: string): string {
    const state = this.exit ? formatExit(this.exit) : 'still running';
    return [
      `${this.label}: ${headline}`,
      `state: ${state}`,
      '--- stdout ---',
      this.stdout || '(nothing)',
      '--- stderr ---',
      this.stderr || '(nothing)',
      '--- end ---',
    ].join('\n');
  }

  #parseLine(line: string): void {
    if (!line.startsWith('{')) return;
    try {
      const value = JSON.parse(line) as unknown;
      if (
        value &&
        typeof value === 'object' &&
        typeof (value as { event?: unknown }).event === 'string'
      ) {
        this.events.push(value as JsonEvent);
        for (const listener of this.#listeners) listener(value as JsonEvent);
      }
    } catch {
      // Not a JSON line (text mode, or a log line); it stays in `stdout` for reports.
    }
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }
}

/** `code 1` or `signal SIGKILL`. */
export function formatExit(exit: ExitInfo): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}
