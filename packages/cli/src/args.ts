import { type ParseArgsConfig, parseArgs } from 'node:util';
import { escapeForDisplay, LIMITS } from '@ferry/protocol';
import type { z } from 'zod';
import { UsageError } from './errors.ts';

/** The flags an app accepts, in `node:util` parseArgs form. */
export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses argv (without node and script) strictly, with positionals allowed. Any complaint
 * becomes a UsageError that says in words what is wrong; the parser's own text (which quotes
 * badly and talks about positionals) is never shown.
 */
export function parseCommandLine<const F extends FlagSpec>(
  argv: readonly string[],
  options: F,
  /** What to say instead, for flags this app does not have but users may expect. */
  missing: Readonly<Record<string, string>> = {},
) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch {
    throw new UsageError(describeParseError(argv, options, missing) ?? 'the command line could not be read');
  }
}

/** What is wrong with the first flag the strict parse refused, or undefined if none is found. */
function describeParseError(
  argv: readonly string[],
  options: FlagSpec,
  missing: Readonly<Record<string, string>>,
): string | undefined {
  const { tokens } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: false,
    tokens: true,
    options,
  });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const raw = shown(token.rawName);
    const spec = options[token.name];
    if (!spec) return `unknown option ${raw}${Object.hasOwn(missing, token.name) ? `; ${missing[token.name]}` : suggestion(token.name, options)}`;
    if (spec.type === 'string' && token.value === undefined) return `${raw} needs a value`;
    if (spec.type === 'boolean' && token.value !== undefined) return `${raw} takes no value`;
    if (spec.type === 'string' && !token.inlineValue && token.value?.startsWith('-')) {
      return `${raw} needs a value, but the next argument is ${shown(token.value)}; write ${raw}=VALUE for a value that starts with "-"`;
    }
  }
  return undefined;
}

/** `; did you mean -v (--version)?` for a short flag typed in the wrong case, or a long flag's prefix. */
function suggestion(name: string, options: FlagSpec): string {
  for (const [long, spec] of Object.entries(options)) {
    if (spec.short && spec.short !== name && spec.short.toLowerCase() === name.toLowerCase()) {
      return `; did you mean -${spec.short} (--${long})?`;
    }
  }
  const near = Object.keys(options).filter(
    (long) => name.length >= 3 && long.startsWith(name.toLowerCase()),
  );
  return near.length === 1 ? `; did you mean --${near[0]}?` : '';
}

/** Text typed by the user, made safe to print and kept short. */
function shown(text: string): string {
  const safe = escapeForDisplay(text);
  return safe.length > 40 ? `${safe.slice(0, 37)}...` : safe;
}

/** The hint under a usage error: the usage line, and where to find every option. */
export function usageHint(usage: string, app: string): string {
  return `${usage.split('\n')[0]}\nRun ${app} --help to see every option.`;
}

/** `--log-level` for the config key `logLevel`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** What each shared flag allows, in words; an app adds its own. */
export const FLAG_RULES: Readonly<Record<string, string>> = {
  port: '--port must be a whole number from 0 to 65535 (0 picks a free port)',
  timeout: '--timeout must be a number of seconds from 1 to 3600, like 30 or 2.5',
  logLevel: '--log-level must be one of silent, fatal, error, warn, info, debug, trace',
  name: `--name must be 1 to 64 characters (at most ${LIMITS.maxNameBytes} bytes of UTF-8)`,
  host: '--host must be an address of this machine, like 192.168.1.20 or ::1',
  out: '--out must name a folder',
};

/**
 * The UsageError for a config that failed its schema: the rule of the first flag at fault,
 * in words (from `rules`, then FLAG_RULES), with the value given. A key without a rule keeps
 * the schema's own message, which for the apps' positionals is already written for people.
 */
export function configUsageError(
  error: z.ZodError,
  given: Readonly<Record<string, unknown>>,
  rules: Readonly<Record<string, string>> = {},
): UsageError {
  const issue = error.issues[0]!;
  const key = String(issue.path[0]);
  const rule = rules[key] ?? FLAG_RULES[key];
  if (rule === undefined) return new UsageError(issue.message);
  const value = given[key];
  return new UsageError(typeof value === 'string' ? `${rule}, not "${shown(value)}"` : rule);
}
