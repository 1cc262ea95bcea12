import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { z } from 'zod';
import { UsageError } from './errors.ts';

/** The flags an app accepts, in `node:util` parseArgs form. */
export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses argv (without node and script) strictly, with positionals allowed; any parser
 * complaint becomes a UsageError.
 */
export function parseCommandLine<const F extends FlagSpec>(argv: readonly string[], options: F) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `--log-level` for the config key `logLevel`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The UsageError for a config that failed its schema: the first issue, named after its flag
 * unless it concerns one of the `positional` keys.
 */
export function configUsageError(error: z.ZodError, positional: readonly string[]): UsageError {
  const issue = error.issues[0]!;
  const key = String(issue.path[0]);
  const flag = positional.includes(key) ? '' : `${flagName(key)}: `;
  return new UsageError(`${flag}${issue.message}`);
}
