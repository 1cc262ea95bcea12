import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Every path below `dir`, relative and `/`-separated, sorted; folders end in `/`. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((entry) => {
      const relative = path
        .relative(dir, path.join(entry.parentPath, entry.name))
        .split(path.sep)
        .join('/');
      return entry.isDirectory() ? `${relative}/` : relative;
    })
    .sort();
}
