import { printJson } from './json-lines.ts';
import { UsageError } from './errors.ts';
import type { Io } from './io.ts';

/** The window's flags, in parseArgs form: spread them into an app's flags. */
export const UI_FLAGS = {
  ui: { type: 'boolean' },
  'no-open': { type: 'boolean' },
  'ui-port': { type: 'string' },
} as const;

/** The window's lines of an app's usage text (each within 80 columns). */
export const UI_USAGE = `      --ui              open Ferry's window: this app in a browser on this
                        computer (on 127.0.0.1 only); other options still apply
      --no-open         with --ui: print the window's address, open no browser
      --ui-port <n>     with --ui: the window's port (default 0: a free one)`;

/** What the window's flags ask for. */
export interface UiOptions {
  /** Start the window. */
  readonly ui: boolean;
  /** Open the default browser at its address. */
  readonly open: boolean;
  /** Its port on 127.0.0.1 (0: a free one). */
  readonly port: number;
}

/** Reads the window's flags from parsed values; throws UsageError. */
export function uiOptions(values: {
  ui?: boolean | undefined;
  'no-open'?: boolean | undefined;
  'ui-port'?: string | undefined;
}): UiOptions {
  const ui = values.ui === true;
  for (const flag of ['no-open', 'ui-port'] as const) {
    if (values[flag] !== undefined && !ui)
      throw new UsageError(`--${flag} is for the window: add --ui`);
  }
  let port = 0;
  const given = values['ui-port'];
  if (given !== undefined) {
    port = /^\d{1,5}$/.test(given) ? Number(given) : Number.NaN;
    if (!(port >= 0 && port <= 65535)) {
      throw new UsageError(
        '--ui-port must be a whole number from 0 to 65535 (0 picks a free port)',
      );
    }
  }
  return { ui, open: values['no-open'] !== true, port };
}

/**
 * Tells the user where the window is: its address with its key, on a line of its own (it fits
 * 80 columns), and what to do; with --json, the `window` event.
 */
export function announceWindow(io: Io, json: boolean, url: string): void {
  if (json) {
    printJson(io.stdout, 'window', { url });
    return;
  }
  io.stdout.write(
    `Ferry's window:\n  ${url}\nOpen it in a browser on this computer. Ctrl-C here closes it.\n`,
  );
}
