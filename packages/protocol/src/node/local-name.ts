import os from 'node:os';

/**
 * This machine's user name for display. `os.userInfo()` throws for a uid with no passwd entry
 * (common in containers), so the environment and then a fixed name stand in.
 */
export function localUserName(env: Readonly<Record<string, string | undefined>> = process.env): string {
  try {
    const name = os.userInfo().username;
    if (name) return name;
  } catch {
    // Fall through.
  }
  return env.USER || env.USERNAME || 'ferry';
}
