/**
 * `ferry-receive --ui`: starts the window, announces its address, and runs the controller until
 * Quit or Ctrl-C. The terminal goes on printing each run's events as without --ui; questions
 * (the code, the items, the folder) are asked in the window only.
 */
import { announceWindow, EXIT, type Io, type UiOptions } from '@ferry/cli';
import type { Browser } from '@ferry/discovery';
import { openFolder, startWindow } from '@ferry/window';
import type { Logger } from 'pino';
import { renderReceiver } from '../ui/render.ts';
import { createReceiver, type ReceiverOptions, type ReceiverSecurity } from '../receiver.ts';
import { localUserName, type TrustStore } from '@ferry/protocol/node';
import { createReceiveController, type Target } from './controller.ts';

/** What the window's run needs from main. */
export interface ReceiveWindowOptions {
  readonly ui: UiOptions;
  readonly io: Io;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly logger: Logger;
  readonly configDir: string;
  readonly home: string;
  readonly defaultFolder: string;
  /** Security as main sets it up; the window adds the code prompt and a retry's ticket. */
  readonly security: ReceiverSecurity;
  readonly trust: TrustStore | undefined;
  /** The rest of each run's options (name, waits, fsync, retry). */
  readonly link: Omit<
    ReceiverOptions,
    'security' | 'host' | 'port' | 'decide' | 'signal' | 'logger'
  >;
  readonly browser: Browser | undefined;
  /** The sender given on the command line, connected to at once. */
  readonly target: Target | undefined;
  readonly signal: AbortSignal;
}

/** Runs the receiving window until Quit (exit 0) or Ctrl-C (exit 130). */
export async function runReceiveWindow(options: ReceiveWindowOptions): Promise<number> {
  const { io, json, logger, signal } = options;
  const window = await startWindow({
    app: 'receive',
    logger,
    configDir: options.configDir,
    home: options.home,
    port: options.ui.port,
    open: options.ui.open,
  });
  try {
    announceWindow(io, json, window.url);
    window.set('app', {
      name: options.link.name ?? localUserName(),
      version: '0.1.0',
      encryption: options.security.encryption,
    });
    // A code given up front (FERRY_CODE, --code-stdin) pairs once: later runs ask in the window.
    let upFront = options.security.encryption ? options.security.code : undefined;
    const controller = createReceiveController({
      window,
      logger,
      browser: options.browser,
      trust: options.trust,
      io,
      json,
      home: options.home,
      defaultFolder: options.defaultFolder,
      openFolder,
      signal,
      makeReceiver: (spec) => {
        const code = upFront;
        upFront = undefined;
        return createReceiver({
          ...options.link,
          logger,
          security: options.security.encryption
            ? {
                ...options.security,
                code,
                askCode: spec.askCode,
                resumeWith: spec.resumeWith,
                announcedKey: spec.target.announcedKey,
              }
            : options.security,
          host: spec.target.host,
          port: spec.target.port,
          decide: spec.decide,
          signal: spec.signal,
        });
      },
      onRun: (receiver) => {
        const summarise = renderReceiver(receiver, io, json, options.verbose);
        return (result) => summarise(result, false);
      },
    });
    controller.start(options.target);
    const interrupted = new Promise<'interrupted'>((resolve) => {
      if (signal.aborted) resolve('interrupted');
      signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
    });
    const how = await Promise.race([controller.quit.then(() => 'quit' as const), interrupted]);
    await controller.idle().catch(() => {});
    return how === 'quit' ? EXIT.ok : EXIT.interrupted;
  } finally {
    await window.close();
  }
}
