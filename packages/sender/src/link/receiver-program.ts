import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { buildProgram } from '@ferry/cli/build-single';
import type { Logger } from 'pino';

/** Set to true by the single-file build (`pnpm build`); not defined anywhere else. */
declare const FERRY_SINGLE_FILE: boolean | undefined;

/** The file name of the single-file receiving program. */
export const RECEIVER_PROGRAM = 'ferry-receive.mjs';

/** Where the receiving program may come from: see {@link findReceiverProgram}. */
export interface ReceiverProgramPlaces {
  /** The running program's own file when it runs as a single file, else undefined. */
  readonly singleFile: string | undefined;
  /** A file of the running program: the repository, if any, is looked for above it. */
  readonly from: string;
}

/** Where this program runs from. */
function runningPlaces(): ReceiverProgramPlaces {
  const self = fileURLToPath(import.meta.url);
  const singleFile = typeof FERRY_SINGLE_FILE !== 'undefined' && FERRY_SINGLE_FILE === true;
  return { singleFile: singleFile ? self : undefined, from: self };
}

let pending: Promise<string | undefined> | undefined;

/**
 * The path of the single-file `ferry-receive.mjs` to hand another machine, or undefined when
 * there is none. Calls at the same time share one look (and one build).
 */
export function receiverProgram(logger?: Logger): Promise<string | undefined> {
  pending ??= findReceiverProgram(runningPlaces(), logger).finally(() => {
    pending = undefined;
  });
  return pending;
}

/**
 * In order: `ferry-receive.mjs` beside the running single file (the single-file distribution);
 * else the repository's `packages/receiver/dist/ferry-receive.mjs`, built when missing or stale
 * (the launcher's rule: older than a file it was built from); else undefined.
 */
export async function findReceiverProgram(
  places: ReceiverProgramPlaces,
  logger?: Logger,
): Promise<string | undefined> {
  if (places.singleFile !== undefined) {
    const beside = path.join(path.dirname(places.singleFile), RECEIVER_PROGRAM);
    if (await isFile(beside)) return beside;
  }
  const root = await findRepository(path.dirname(places.from));
  if (root === undefined) return undefined;
  const receiverDir = path.join(root, 'packages', 'receiver');
  try {
    // Loaded from where it lies, never bundled: it needs esbuild from the repository.
    const script = pathToFileURL(path.join(root, 'packages', 'cli', 'build-single.mjs')).href;
    const builder = (await import(script)) as { buildProgram: typeof buildProgram };
    return await builder.buildProgram(receiverDir, { ifStale: true });
  } catch (error) {
    logger?.warn({ err: error }, 'receiving program could not be built');
    return undefined;
  }
}

/** The nearest folder at or above `start` that holds Ferry's repository, if any. */
async function findRepository(start: string): Promise<string | undefined> {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (await isRepository(dir)) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

async function isRepository(dir: string): Promise<boolean> {
  if (!(await isFile(path.join(dir, 'packages', 'cli', 'build-single.mjs')))) return false;
  try {
    const manifest = path.join(dir, 'packages', 'receiver', 'package.json');
    const { name } = JSON.parse(await readFile(manifest, 'utf8')) as { name?: unknown };
    return name === '@ferry/receiver';
  } catch {
    return false;
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
