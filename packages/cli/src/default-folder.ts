import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DestinationError } from '@ferry/engine';
import { ErrorCode } from '@ferry/protocol';

/**
 * The folder used when none is named: `Downloads` in the home folder. Never the home folder
 * itself, the current folder or the root, where an arriving `.bashrc` or `.ssh/` would take
 * effect. It is created (owner-only) the first time it is used.
 */
export function defaultFolderIn(home: string): string {
  return path.join(home, 'Downloads');
}

/**
 * Makes the default folder ready to be saved into: created with mode 0o700 when it is missing
 * (its parent, the home folder, must exist), and refused when it leads back to the home folder
 * or to the root (a `Downloads` symlink to `~` or `/`).
 */
export async function prepareDefaultFolder(folder: string, home: string): Promise<void> {
  await fs.mkdir(folder, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return;
    throw new DestinationError(
      ErrorCode.WRITE_FAILED,
      `cannot create the default folder ${folder} (${error.code})`,
      { cause: error },
    );
  });
  const real = await fs.realpath(folder).catch(() => folder);
  const realHome = await fs.realpath(home).catch(() => path.resolve(home));
  if (real === realHome || real === path.parse(real).root) {
    throw new DestinationError(
      ErrorCode.WRITE_FAILED,
      `the default folder ${folder} leads to ${real}, where arriving names could take effect`,
    );
  }
}

/** `~` and `~/x` are the home folder; other paths are resolved from the current folder. */
export function expandHome(folder: string, home: string = os.homedir()): string {
  if (folder === '~') return home;
  if (folder.startsWith('~/') || folder.startsWith('~\\')) return path.join(home, folder.slice(2));
  return path.resolve(folder);
}
