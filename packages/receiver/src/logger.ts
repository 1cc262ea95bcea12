import pino, { type Logger } from 'pino';

/** The app's logger: pino to stderr (file descriptor 2), silent unless asked. */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino({ level, base: { app: 'ferry-receive' } }, destination);
}
