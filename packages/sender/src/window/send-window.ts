import { shortFingerprint, type TrustStore } from '@ferry/protocol/node';
import { WindowActionError, type WindowSurface } from '@ferry/window';
import {
  SEND_ACTIONS,
  type SendApp,
  type SendLink,
  type SendPairing,
  type SendRefusals,
  type SendRemembered,
  type SendSlices,
} from '@ferry/window/state/send';
import { formatHostPort } from '../addresses.ts';
import type { Link } from '../link/server.ts';
import type { Sender } from '../sender.ts';
import { LinkDownloads } from './link-downloads.ts';
import type { OfferEditor } from './offer-editor.ts';
import { ReceiverBoard } from './receivers.ts';

/** What the controller needs of a window. */
export type SendWindowHost = WindowSurface;

/** Refusals listed by the window, at most (all are counted). */
export const MAX_LISTED_REFUSALS = 20;

/** Options of {@link SendWindow}. */
export interface SendWindowOptions {
  readonly window: SendWindowHost;
  readonly app: SendApp;
  readonly editor: OfferEditor;
  /** The remembered receivers (with encryption). */
  readonly trust?: TrustStore | undefined;
  /** The window's Stop: ends ferry-send as Ctrl-C does. */
  readonly onStop: () => void;
  readonly clock?: () => number;
}

/**
 * The sending window's controller: maps the Sender core's events (the ones `--json` prints) to
 * the window's slices, and registers its actions (add, remove, forget, stop). No transfer
 * logic: the core decides everything, this only shows it and passes the user's asks on.
 */
export class SendWindow {
  readonly #window: SendWindowHost;
  readonly #trust: TrustStore | undefined;
  readonly #board: ReceiverBoard;
  #interrupted = false;
  #pairing: SendPairing;
  #refusals: SendRefusals = { recent: [], total: 0 };
  #remembered: SendRemembered = { peers: [], error: null };

  constructor(options: SendWindowOptions) {
    this.#window = options.window;
    this.#trust = options.trust;
    this.#board = new ReceiverBoard({
      publish: (receivers) => this.#set('receivers', receivers),
      publishLater: (list) => this.#window.setLater('receivers', list),
      clock: options.clock,
      interrupted: () => this.#interrupted,
    });
    this.#pairing = {
      code: null,
      fingerprint: null,
      failed: 0,
      limit: null,
      closed: false,
      trustError: null,
    };
    const { editor } = options;
    this.#set('app', options.app);
    this.#set('offer', editor.slice());
    this.#set('listening', null);
    this.#set('pairing', this.#pairing);
    this.#set('link', null);
    this.#set('receivers', []);
    this.#set('refusals', this.#refusals);
    this.#set('stopped', null);
    this.#showRemembered();
    editor.onChange(() => this.#set('offer', editor.slice()));
    const window = this.#window;
    window.action('add', SEND_ACTIONS.add, ({ paths }) => editor.add(paths));
    window.action('remove', SEND_ACTIONS.remove, ({ paths }) => editor.remove(paths));
    window.action('forget', SEND_ACTIONS.forget, ({ fingerprint }) => this.#forget(fingerprint));
    window.action('stop', SEND_ACTIONS.stop, () => {
      options.onStop();
      return undefined;
    });
  }

  /** Shows `sender`'s events from now on; returns a function that stops showing them. */
  follow(sender: Pick<Sender, 'on'>): () => void {
    const offs = [
      this.#board.follow(sender),
      sender.on('listening', ({ port, addresses, fingerprint }) => {
        const shown =
          addresses.length > 0 ? addresses : [{ address: '127.0.0.1', interface: undefined }];
        this.#set('listening', {
          port,
          addresses: shown.map((a) => ({
            address: a.address,
            ...(a.interface ? { interface: a.interface } : {}),
            command: `ferry-receive ${formatHostPort(a.address, port)}`,
          })),
          loopbackOnly: addresses.length === 0,
        });
        this.#updatePairing({ fingerprint: fingerprint ?? null });
      }),
      sender.on('code', ({ code }) => this.#updatePairing({ code, failed: 0 })),
      sender.on('pairing-failed', ({ failed, limit }) => this.#updatePairing({ failed, limit })),
      sender.on('pairing-closed', ({ failed }) =>
        this.#updatePairing({ code: null, failed, closed: true }),
      ),
      sender.on('trust-error', ({ message }) => this.#updatePairing({ trustError: message })),
      sender.on('remembered', () => void this.#refreshRemembered()),
      sender.on('refused', ({ peer, reason }) => {
        const recent = [...this.#refusals.recent, { peer, reason }].slice(-MAX_LISTED_REFUSALS);
        this.#refusals = { recent, total: this.#refusals.total + 1 };
        this.#set('refusals', this.#refusals);
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /** Shows the link's URLs, QR code and downloads. */
  followLink(link: Pick<Link, 'on'>, qr: (url: string) => Promise<string>): () => void {
    let value: NonNullable<SendLink> = {
      urls: [],
      qr: null,
      limit: null,
      ended: null,
      downloads: [],
    };
    // Every value of the slice carries the downloads as they are now.
    const current = (change: Partial<NonNullable<SendLink>>) => {
      value = { ...value, ...change, downloads: downloads.list() };
      return value;
    };
    const publish = (change: Partial<NonNullable<SendLink>>) =>
      this.#set('link', current(change));
    const downloads = new LinkDownloads({
      now: () => publish({}),
      later: () => this.#window.setLater('link', () => current({})),
    });
    // On at once: the page shows the link's place before its URLs are known.
    publish({});
    const offs = [
      downloads.follow(link),
      link.on('link', ({ urls, downloads: limit }) => {
        publish({ urls, limit: limit ?? null });
        const first = urls[0];
        if (first !== undefined) {
          void qr(first).then(
            (svg) => publish({ qr: svg }),
            () => publish({ qr: null }),
          );
        }
      }),
      link.on('link-ended', ({ reason }) => publish({ ended: reason })),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /** Ferry-send is stopping: sessions cut from now on are not the receivers' failures. */
  interrupt(): void {
    this.#interrupted = true;
  }

  /** Ferry-send has stopped: the page says so (then the window closes). */
  stopped(reason: NonNullable<SendSlices['stopped']>['reason']): void {
    this.#board.flush();
    this.#set('stopped', { reason });
  }

  #set<K extends keyof SendSlices>(slice: K, value: SendSlices[K]): void {
    this.#window.set(slice, value);
  }

  #updatePairing(change: Partial<SendPairing>): void {
    this.#pairing = { ...this.#pairing, ...change };
    this.#set('pairing', this.#pairing);
  }

  #showRemembered(): void {
    const peers = this.#trust?.list() ?? [];
    this.#remembered = {
      ...this.#remembered,
      peers: peers.map((peer) => ({
        name: peer.name,
        fingerprint: peer.fingerprint,
        key: shortFingerprint(peer.fingerprint),
        addresses: [...peer.addresses],
        added: peer.added,
      })),
    };
    this.#set('remembered', this.#remembered);
  }

  /** Reads the list again (another process may have changed it); a broken file is said. */
  async #refreshRemembered(): Promise<void> {
    if (!this.#trust) return;
    try {
      await this.#trust.refresh();
      this.#remembered = { ...this.#remembered, error: null };
    } catch (error) {
      this.#remembered = {
        ...this.#remembered,
        error: error instanceof Error ? error.message : String(error),
      };
    }
    this.#showRemembered();
  }

  async #forget(fingerprint: string): Promise<SendRemembered> {
    const trust = this.#trust;
    if (!trust) {
      throw new WindowActionError(
        'ERR_NOT_REMEMBERED',
        'Without encryption no receiver is remembered: there is nothing to forget.',
        409,
      );
    }
    let removed: readonly unknown[];
    try {
      removed = await trust.forget(fingerprint);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new WindowActionError('ERR_CANNOT_FORGET', message, 500, { cause: error });
    }
    this.#showRemembered();
    if (removed.length === 0) {
      throw new WindowActionError(
        'ERR_NOT_REMEMBERED',
        'That receiver is not remembered any more (it was forgotten elsewhere); the list is up to date now.',
        404,
      );
    }
    return this.#remembered;
  }
}
