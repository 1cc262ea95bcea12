import { EXIT } from './exit.ts';
import type { OutputStream } from './io.ts';

/** The commands both apps take besides running: help, version, and the remembered peers. */
export type InfoCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'peers' }
  | { kind: 'forget'; peer: string };

/** The info command the flags ask for (help first), or undefined when the app should run. */
export function infoCommand(values: {
  help?: boolean | undefined;
  version?: boolean | undefined;
  peers?: boolean | undefined;
  forget?: string | undefined;
}): InfoCommand | undefined {
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (values.peers) return { kind: 'peers' };
  if (values.forget !== undefined) return { kind: 'forget', peer: values.forget };
  return undefined;
}

/** Prints the usage or `<app> <version>`; returns the exit code. */
export function printHelpOrVersion(
  kind: 'help' | 'version',
  app: string,
  usage: string,
  version: string,
  out: OutputStream,
): number {
  out.write(kind === 'help' ? usage : `${app} ${version}\n`);
  return EXIT.ok;
}
