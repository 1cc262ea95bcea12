import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { configDir } from '@ferry/protocol/node';

/**
 * What the user's real Ferry config folder holds (its path, then the names and SHA-256 of its
 * files), or null when it does not exist. Every CLI a test starts gets its own FERRY_CONFIG_DIR;
 * comparing this before and after a test file catches one that did not.
 */
export async function snapshotRealConfig(): Promise<string | null> {
  const env = { ...process.env };
  delete env.FERRY_CONFIG_DIR;
  const dir = configDir(env);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const lines: string[] = [dir];
  for (const name of names) {
    const content = await fs.readFile(path.join(dir, name)).catch(() => Buffer.alloc(0));
    lines.push(`${name} ${createHash('sha256').update(content).digest('hex')}`);
  }
  return lines.join('\n');
}
