import { createFail, createLogger, EXIT, type Io, printHelpOrVersion, usageHint } from '@ferry/cli';
import { scanOffer } from '@ferry/engine';
import { escapeForDisplay, FerryError, PairingCodes, TIMEOUTS, toJsonLine } from '@ferry/protocol';
import {
  ConfigFileError,
  configDir,
  derivePasswordScalar,
  loadOrCreateIdentity,
  localUserName,
  runPeersCommand,
  TrustStore,
} from '@ferry/protocol/node';
import type { Logger } from 'pino';
import { parseSenderArgs, USAGE } from './args.ts';
import { ListenError, UsageError } from './errors.ts';
import { createSender, type SenderSecurity } from './sender.ts';
import { renderSender } from './ui/render.ts';

export { EXIT };

/** Options for tests: an injected logger. */
export interface MainOptions {
  readonly logger?: Logger;
  readonly version?: string;
}

/** Runs `ferry-send` with `argv` until it stops or `signal` aborts; returns the exit code. */
export async function main(argv: readonly string[], io: Io, signal: AbortSignal, options: MainOptions = {}): Promise<number> {
  let json = argv.includes('--json');
  const fail = createFail('ferry-send', io, () => json);
  try {
    const command = parseSenderArgs(argv);
    if (command.kind === 'help' || command.kind === 'version') {
      return printHelpOrVersion(command.kind, 'ferry-send', USAGE, options.version ?? '0.1.0', io.stdout);
    }
    const dir = configDir(io.env);
    if (command.kind === 'peers' || command.kind === 'forget') return await runPeersCommand(command, dir, io.stdout, json, 'receiver');
    const { config } = command;
    json = config.json;
    const logger = options.logger ?? createLogger('ferry-send', config.logLevel, io);
    const offer = await scanOffer(config.paths);
    const security: SenderSecurity = config.encryption
      ? {
          encryption: true,
          identity: await loadOrCreateIdentity(dir),
          trust: await TrustStore.open(dir, 'receiver'),
          pairing: new PairingCodes(derivePasswordScalar),
          remember: config.remember,
        }
      : { encryption: false };
    // --timeout bounds every wait on a receiver, but never stretches the pre-auth deadline:
    // a stranger must not hold one of the few unauthenticated slots longer (E1, A12).
    const waitMs = config.timeout === undefined ? undefined : Math.round(config.timeout * 1000);
    const sender = createSender({
      security,
      offer,
      host: config.host,
      port: config.port,
      once: config.once,
      name: config.name ?? localUserName(io.env),
      logger,
      idleMs: waitMs,
      frameMs: waitMs,
      handshakeMs: waitMs === undefined ? undefined : Math.min(TIMEOUTS.handshakeMs, waitMs),
    });
    const view = renderSender(sender, offer, io, json, config.once);
    if (signal.aborted) return EXIT.interrupted;
    await sender.listen();
    const onAbort = () => {
      view.interrupt();
      void sender.close(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // A Ctrl-C that came while listening started fires no event any more.
    if (signal.aborted) onAbort();
    try {
      await sender.stopped;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) {
      if (json) io.stdout.write(toJsonLine('stopped', { reason: 'interrupted' }));
      else io.stdout.write('Stopped.\n');
      return EXIT.interrupted;
    }
    if (json) io.stdout.write(toJsonLine('stopped', { reason: 'once' }));
    else io.stdout.write('Stopped after one complete transfer (--once).\n');
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) return fail(EXIT.usage, 'ERR_USAGE', error.message, usageHint(USAGE, 'ferry-send'));
    if (error instanceof ListenError) return fail(EXIT.failure, 'ERR_FAILED', error.message, listenHint(error));
    if (error instanceof ConfigFileError) return fail(EXIT.failure, 'ERR_FAILED', escapeForDisplay(error.message));
    if (error instanceof FerryError) return fail(EXIT.failure, 'ERR_FAILED', escapeForDisplay(error.message));
    return fail(EXIT.failure, 'ERR_FAILED', `unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  }
}

function listenHint(error: ListenError): string | undefined {
  if (error.reason === 'in-use') return 'Another program (or another ferry-send) has that port; try --port 0 for a free one.';
  if (error.reason === 'bad-address') return 'Leave out --host to listen on every interface.';
  return undefined;
}
