import pino, { type Logger } from 'pino';
import type { Io } from './io.ts';
import { StatusLine } from './status-line.ts';

/**
 * An app's logger: pino, silent unless asked, to stderr. Given the app's io, each log line is
 * written with the progress line on stdout out of the way and redrawn after, so a log line
 * never lands on top of it (they share one terminal).
 */
export function createLogger(app: string, level: string, io?: Io): Logger {
  const destination: pino.DestinationStream = io
    ? { write: (line: string) => StatusLine.for(io.stdout).above(() => io.stderr.write(line)) }
    : pino.destination(2);
  return pino({ level, base: { app } }, destination);
}
