import pino, { type Logger } from 'pino';

/** An app's logger: pino to stderr (file descriptor 2), silent unless asked. */
export function createLogger(
  app: string,
  level: string,
  destination: pino.DestinationStream = pino.destination(2),
): Logger {
  return pino({ level, base: { app } }, destination);
}
