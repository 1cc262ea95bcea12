import { printJson } from './json-lines.ts';
import { escapeForDisplay as esc } from '@ferry/protocol';
import type { Io } from './io.ts';
import { StatusLine } from './status-line.ts';

/** How often progress is shown: redrawn on a terminal, as plain lines, or as JSON events. */
export const PROGRESS_EVERY_MS = { tty: 100, plain: 2_000, json: 500 } as const;

/** `1 file`, `2 files`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** What a `remembered` event from either app's core carries. */
export interface RememberedEvent {
  readonly name: string;
  readonly fingerprint: string;
  readonly result: 'remembered' | 'conflict' | 'failed' | (string & {});
  readonly reason?: string | undefined;
}

/**
 * The lines telling the user whether a peer was remembered. `peer` is what the other side is
 * (`sender` or `receiver`), `app` this program's name for the hint.
 */
export function rememberedLines(
  event: RememberedEvent,
  peer: 'sender' | 'receiver',
  app: string,
  rememberedNote: string,
): string[] {
  const { name, fingerprint, result, reason } = event;
  if (result === 'failed') {
    // The reason is Ferry's own text (any peer name in it is escaped already).
    return [`Could not remember "${esc(name)}" (key ${fingerprint}): ${reason ?? 'unknown error'}`];
  }
  if (result === 'conflict') {
    return [
      `Did not remember "${esc(name)}" (key ${fingerprint}): another key is remembered under that name.`,
      // The hint names no peer-chosen text: a name is not safe to paste into a shell.
      `  If that ${peer} really has a new key, find the old key with ${app} --peers and --forget it first.`,
    ];
  }
  return [`Remembered "${esc(name)}" (key ${fingerprint}): ${rememberedNote}`];
}

/**
 * The warning both apps show when encryption is off; `rest` ends its sentence. One line, which
 * a terminal's width wraps at word boundaries.
 */
export function encryptionOffWarning(rest: string): string[] {
  return [
    `WARNING: encryption is off (--no-encryption). Anyone on this network can read and alter ${rest}`,
  ];
}

/** Reports a failure on stderr (and as a JSON `error` event with --json); returns the exit code. */
export type Fail = (exitCode: number, errorCode: string, message: string, hint?: string) => number;

/** The one error-to-output funnel of an app; `json` says whether --json is in force now. */
export function createFail(app: string, io: Io, json: () => boolean): Fail {
  return (exitCode, errorCode, message, hint) => {
    // An error starts on a line of its own, never at the end of a progress line.
    StatusLine.for(io.stdout).clear();
    if (json()) printJson(io.stdout, 'error', { code: errorCode, message });
    // On a terminal the message and its hint wrap at spaces, never mid-word (U4).
    const stderr = StatusLine.for(io.stderr);
    stderr.print(`${app}: ${message}`);
    if (hint) stderr.print(hint);
    return exitCode;
  };
}
