import type { OfferSource } from '@ferry/engine';
import type { TrustStore } from '@ferry/protocol/node';
import { startWindow, type Window } from '@ferry/window';
import type { Logger } from 'pino';
import { OfferEditor } from './offer-editor.ts';
import { SendWindow } from './send-window.ts';

/** Options of {@link openSendWindow}. */
export interface OpenSendWindowOptions {
  readonly logger: Logger;
  readonly configDir: string;
  readonly home: string;
  readonly port: number;
  readonly open: boolean;
  /** The paths named on the command line, and their offer. */
  readonly paths: readonly string[];
  readonly offer: OfferSource;
  readonly app: { name: string; version: string; encryption: boolean };
  readonly trust?: TrustStore | undefined;
}

/** The sending window while ferry-send runs. */
export interface SendWindowRun {
  readonly window: Window;
  readonly editor: OfferEditor;
  readonly controller: SendWindow;
  /** Aborted by the window's Stop. */
  readonly stop: AbortSignal;
  /**
   * Resolves true once something is offered (at once when the command line named files), or
   * false when ferry-send is stopped first (`signal`, or the window's Stop).
   */
  offered(signal: AbortSignal): Promise<boolean>;
  /** Says on the page why ferry-send stopped, then closes the window and its event streams. */
  close(reason: 'stopped' | 'interrupted' | 'once'): Promise<void>;
}

/** Starts the sending window on 127.0.0.1: its server, its slices and its actions. */
export async function openSendWindow(options: OpenSendWindowOptions): Promise<SendWindowRun> {
  const window = await startWindow({
    app: 'send',
    logger: options.logger,
    configDir: options.configDir,
    home: options.home,
    port: options.port,
    open: options.open,
    // A file dropped on the page is staged by the window, then added as a picked one is.
    uploads: true,
  });
  const stopping = new AbortController();
  const editor = new OfferEditor(options.paths, options.offer);
  const controller = new SendWindow({
    window,
    app: options.app,
    editor,
    trust: options.trust,
    onStop: () => stopping.abort(),
  });
  return {
    window,
    editor,
    controller,
    stop: stopping.signal,
    offered(signal) {
      if (editor.offer.entries.length > 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (value: boolean) => {
          off();
          signal.removeEventListener('abort', onAbort);
          stopping.signal.removeEventListener('abort', onAbort);
          resolve(value);
        };
        const onAbort = () => done(false);
        const off = editor.onChange((offer) => {
          if (offer.entries.length > 0) done(true);
        });
        if (signal.aborted || stopping.signal.aborted) return done(false);
        signal.addEventListener('abort', onAbort, { once: true });
        stopping.signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    async close(reason) {
      controller.stopped(reason);
      await window.close();
    },
  };
}
