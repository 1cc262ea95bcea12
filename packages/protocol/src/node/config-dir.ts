import { chmod, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Ferry's per-user configuration folder. FERRY_CONFIG_DIR overrides; otherwise Linux/BSD:
 * $XDG_CONFIG_HOME/ferry or ~/.config/ferry; macOS: ~/Library/Application Support/Ferry;
 * Windows: %APPDATA%\Ferry (fallback <home>\AppData\Roaming\Ferry). Relative XDG values are
 * ignored per the XDG spec. `platform` picks the path rules, so tests can check all three.
 */
export function configDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  const override = env['FERRY_CONFIG_DIR'];
  if (override) return override;
  if (platform === 'win32') {
    const appData = env['APPDATA'];
    // An unset or relative APPDATA would put the key wherever the shell happens to be.
    if (appData && path.win32.isAbsolute(appData)) return path.win32.join(appData, 'Ferry');
    return path.win32.join(home, 'AppData', 'Roaming', 'Ferry');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Ferry');
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg && path.posix.isAbsolute(xdg)) return path.posix.join(xdg, 'ferry');
  return path.posix.join(home, '.config', 'ferry');
}

/** Creates the folder (recursive) with mode 0o700 if missing; returns it. An existing folder is left as it is. */
export async function ensureConfigDir(dir: string): Promise<string> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask; say exactly what we mean for the folder we made.
  if (created !== undefined && process.platform !== 'win32') await chmod(dir, 0o700);
  return dir;
}

/**
 * A file in the configuration folder cannot be read, created or trusted. The message names
 * the file and says what to do; it never contains a key.
 */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  /** The file (or folder) concerned. */
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}
