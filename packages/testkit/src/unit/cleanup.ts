import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { disposeAll, onCleanup } from '../cleanup.ts';

export { onCleanup } from '../cleanup.ts';

/** Runs every registered disposer, newest first, pass or fail; call it from `afterEach`. */
export async function runCleanup(): Promise<void> {
  await disposeAll();
}

/** A fresh temporary folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-test-'));
  onCleanup(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}
