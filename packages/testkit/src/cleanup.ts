/**
 * Unconditional cleanup. Whatever a helper starts or creates registers a disposer here; the
 * hooks of the test runner's setup file (e2e's `src/setup.ts`) run the disposers of a test
 * after it (pass or fail), and those of a file's `beforeAll` after the file. Disposers run
 * newest first, so processes die before their folders are deleted.
 */

type Scope = 'test' | 'file';

interface Disposer {
  readonly scope: Scope;
  readonly what: string;
  readonly dispose: () => unknown;
}

let current: Scope = 'file';
const disposers: Disposer[] = [];

/** Registers `dispose` to run after the current test, or after the file outside a test. */
export function onCleanup(what: string, dispose: () => unknown): void {
  disposers.push({ scope: current, what, dispose });
}

/** Called before each test: what is created from now on belongs to the test. */
export function enterTest(): void {
  current = 'test';
}

/** Called after each test: disposes what the test created. */
export async function disposeTest(): Promise<void> {
  current = 'file';
  await disposeWhere((d) => d.scope === 'test');
}

/** Called after the file: disposes everything left. */
export async function disposeAll(): Promise<void> {
  await disposeWhere(() => true);
}

async function disposeWhere(selected: (d: Disposer) => boolean): Promise<void> {
  const errors: unknown[] = [];
  for (let i = disposers.length - 1; i >= 0; i--) {
    const disposer = disposers[i]!;
    if (!selected(disposer)) continue;
    disposers.splice(i, 1);
    try {
      await disposer.dispose();
    } catch (error) {
      errors.push(new Error(`cleanup of ${disposer.what} failed`, { cause: error }));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
}
