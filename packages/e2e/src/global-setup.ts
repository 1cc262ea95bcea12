import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { writeRandomFile } from '@ferry/testkit/files';
import { snapshotRealConfig } from '@ferry/testkit/real-config';

/** The one large random file of a run, shared by every test file that needs one. */
export interface BigFile {
  /** A folder holding only `big.bin`. */
  readonly dir: string;
  readonly path: string;
  readonly size: number;
  /** Computed while the file was written, not by Ferry. */
  readonly sha256: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    bigFile: BigFile;
    /** The real Ferry config folder before the run (see snapshotRealConfig). */
    realConfig: string | null;
  }
}

/** 256 MiB: big enough that a transfer over loopback is surely still running on its first progress event. */
export const BIG_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Writes the big file once per run (about a second) and deletes it after the run. Notes the
 * state of the real Ferry config folder, which every test file checks it left alone.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide('realConfig', await snapshotRealConfig());
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-big-'));
  const file = path.join(dir, 'big.bin');
  try {
    const sha256 = await writeRandomFile(file, BIG_FILE_BYTES);
    project.provide('bigFile', { dir, path: file, size: BIG_FILE_BYTES, sha256 });
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
  return () => fs.rm(dir, { recursive: true, force: true });
}
