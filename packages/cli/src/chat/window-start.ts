/**
 * Starting the chat window (`--chat --ui`) for either app: the window's server on 127.0.0.1, its
 * `app` slice, and the controller that shows the conversation in it.
 */
import { startWindow, type Window } from '@ferry/window';
import type { Logger } from 'pino';
import type { Io } from '../io.ts';
import { announceWindow } from '../window.ts';
import { ChatWindowController } from './window-controller.ts';

/** Options of {@link openChatWindow}. */
export interface OpenChatWindowOptions {
  readonly role: 'listener' | 'joiner';
  readonly logger: Logger;
  readonly configDir: string;
  readonly home: string;
  /** The window's port (0: a free one) and whether to open the default browser. */
  readonly port: number;
  readonly open: boolean;
  /** This side's name as peers see it, Ferry's version, and whether it encrypts. */
  readonly app: { readonly name: string; readonly version: string; readonly encryption: boolean };
  /** Where the window's address is printed (a `window` event with --json). */
  readonly io: Io;
  readonly json: boolean;
}

/** The chat window while the app runs. */
export interface ChatWindowRun {
  readonly window: Window;
  readonly controller: ChatWindowController;
  /** Closes the window: the page says Ferry has stopped. */
  close(): Promise<void>;
}

/** Starts the chat window, prints its address, and returns it with its controller. */
export async function openChatWindow(options: OpenChatWindowOptions): Promise<ChatWindowRun> {
  const window = await startWindow({
    app: options.role === 'listener' ? 'chat-listener' : 'chat-joiner',
    logger: options.logger,
    configDir: options.configDir,
    home: options.home,
    port: options.port,
    open: options.open,
  });
  window.set('app', { ...options.app });
  const controller = new ChatWindowController(window, { role: options.role });
  announceWindow(options.io, options.json, window.url);
  let closed = false;
  return {
    window,
    controller,
    async close() {
      if (closed) return;
      closed = true;
      controller.detach();
      await window.close();
    },
  };
}
