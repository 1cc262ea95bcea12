/** Exit codes shared by both apps (the README lists them). */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** One of the exit codes in EXIT. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
