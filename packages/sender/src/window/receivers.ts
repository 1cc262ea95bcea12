import { ProgressMeter } from '@ferry/cli';
import type { SendReceiver } from '@ferry/window/state/send';
import type { Sender } from '../sender.ts';

/** Finished receivers kept on the screen, at most: a stream of strangers cannot grow it. */
export const MAX_FINISHED_RECEIVERS = 100;

/** Files listed as failed or restarted per receiver, at most (the counts stay exact). */
const MAX_LISTED_FILES = 100;

/** Failures before a receiver greeted that the terminal leaves out too (U11). */
const QUIET_BEFORE_HELLO: ReadonlySet<string> = new Set([
  'ERR_CONNECTION_CLOSED',
  'ERR_PAIRING_FAILED',
]);

interface Entry {
  value: SendReceiver;
  meter?: ProgressMeter;
}

/** Options of {@link ReceiverBoard}. */
export interface ReceiverBoardOptions {
  /** Called with the whole list whenever a receiver's state changed. */
  readonly publish: (receivers: SendReceiver[]) => void;
  /** Called as bytes move: `list` builds the list when the window sends it, a few times a second. */
  readonly publishLater: (list: () => SendReceiver[]) => void;
  /** Monotonic milliseconds; `performance.now` unless a test sets it. */
  readonly clock?: () => number;
  /** Whether ferry-send is being stopped: sessions cut then are not the receivers' failures. */
  readonly interrupted?: () => boolean;
}

/**
 * Every receiver of a sender as the window shows it, built from the core's events alone: where
 * it is (connected, paired, choosing, transferring, done, failed), what it took, its progress
 * with rate and time left, and why it failed. The list is published on each change of state at
 * once; while bytes move, the window builds it when it is due to go out.
 */
export class ReceiverBoard {
  readonly #entries = new Map<number, Entry>();
  readonly #publish: (receivers: SendReceiver[]) => void;
  readonly #publishLater: (list: () => SendReceiver[]) => void;
  readonly #now: () => number;
  readonly #interrupted: () => boolean;
  #numbered = 0;

  constructor(options: ReceiverBoardOptions) {
    this.#publish = options.publish;
    this.#publishLater = options.publishLater;
    this.#now = options.clock ?? (() => performance.now());
    this.#interrupted = options.interrupted ?? (() => false);
  }

  /** Follows `sender`'s events; returns a function that stops following them. */
  follow(sender: Pick<Sender, 'on'>): () => void {
    const offs = [
      sender.on('connected', ({ client, peer }) => {
        this.#entries.set(client, { value: newReceiver(client, peer) });
        this.#changed();
      }),
      sender.on('authenticated', ({ client, method, fingerprint, rememberedAs }) =>
        this.#update(client, (r) => {
          r.auth = { method, fingerprint, rememberedAs: rememberedAs ?? null };
          if (r.state === 'connected') r.state = 'paired';
        }),
      ),
      sender.on('hello', ({ client, name }) =>
        this.#update(client, (r) => {
          r.name = name;
          r.number = ++this.#numbered;
          r.state = 'choosing';
        }),
      ),
      sender.on('remembered', ({ client, name, result, reason }) =>
        this.#update(client, (r) => {
          r.remembered = { result, name, reason: reason ?? null };
        }),
      ),
      sender.on('request', ({ client, files, bytes }) => {
        const entry = this.#entries.get(client);
        if (entry) entry.meter = new ProgressMeter(bytes, this.#now());
        this.#update(client, (r) => {
          r.state = 'transferring';
          r.files = files;
          r.total = bytes;
        });
      }),
      sender.on('progress', ({ client, bytes }) => {
        const entry = this.#entries.get(client);
        if (!entry?.meter) return;
        entry.meter.add(bytes);
        this.#publishLater(() => this.list());
      }),
      sender.on('file-sent', ({ client }) =>
        this.#update(client, (r) => {
          r.sent++;
        }),
      ),
      sender.on('file-failed', ({ client, path, code }) =>
        this.#update(client, (r) => {
          r.failed++;
          if (r.failedFiles.length < MAX_LISTED_FILES) r.failedFiles.push({ path, code });
        }),
      ),
      sender.on('session-resumed', ({ client, files, skippedBytes }) =>
        this.#update(client, (r) => {
          r.resumed = { files, bytes: skippedBytes };
        }),
      ),
      sender.on('file-restarted', ({ client, path, bytes }) => {
        const entry = this.#entries.get(client);
        // Sent whole after all: the bytes that now travel count too, as on the terminal.
        if (bytes) entry?.meter?.grow(bytes);
        this.#update(client, (r) => {
          if (r.restarted.length < MAX_LISTED_FILES) r.restarted.push(path);
        });
      }),
      sender.on('session-complete', ({ client, files, failed, bytes, ms }) =>
        this.#finish(client, (r) => {
          r.state = 'done';
          r.sent = files;
          r.bytes = bytes;
          r.total = Math.max(r.total, bytes);
          r.ms = ms;
          r.rate = ms > 0 && bytes > 0 ? Math.round((bytes * 1000) / ms) : null;
          r.eta = 0;
          r.failed = failed;
        }),
      ),
      sender.on('session-failed', ({ client, code, message, resumable }) => {
        const entry = this.#entries.get(client);
        if (!entry) return;
        // A receiver that hangs up before greeting is usually asking its user for the code; a
        // wrong code is shown with the pairing. Neither is a receiver on the screen.
        if (entry.value.number === null && QUIET_BEFORE_HELLO.has(code)) {
          this.#entries.delete(client);
          this.#changed();
          return;
        }
        const interrupted = this.#interrupted();
        this.#finish(client, (r) => {
          r.state = 'failed';
          r.error = {
            code: interrupted ? 'ERR_STOPPED' : code,
            message,
            resumable: !interrupted && resumable === true,
          };
        });
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /** The list as the window shows it now, oldest first. */
  list(): SendReceiver[] {
    const now = this.#now();
    return [...this.#entries.values()].map(({ value, meter }) => {
      if (!meter || value.state !== 'transferring') return { ...value };
      const snapshot = meter.snapshot(now);
      return {
        ...value,
        bytes: snapshot.bytes,
        total: snapshot.total,
        rate: Number.isFinite(snapshot.rate) ? Math.round(snapshot.rate) : null,
        eta: Number.isFinite(snapshot.etaSeconds)
          ? Math.max(1, Math.ceil(snapshot.etaSeconds))
          : null,
      };
    });
  }

  /** Publishes the list at once (when ferry-send stops). */
  flush(): void {
    this.#publish(this.list());
  }

  #update(client: number, change: (receiver: SendReceiver) => void): void {
    const entry = this.#entries.get(client);
    if (!entry) return;
    change(entry.value);
    this.#changed();
  }

  #finish(client: number, change: (receiver: SendReceiver) => void): void {
    const entry = this.#entries.get(client);
    if (!entry) return;
    if (entry.meter) {
      const snapshot = entry.meter.snapshot(this.#now());
      entry.value.bytes = snapshot.bytes;
      entry.value.total = snapshot.total;
    }
    change(entry.value);
    entry.meter = undefined;
    this.#trim();
    this.#changed();
  }

  /** Drops the oldest finished receivers past {@link MAX_FINISHED_RECEIVERS}. */
  #trim(): void {
    const finished = [...this.#entries].filter(
      ([, e]) => e.value.state === 'done' || e.value.state === 'failed',
    );
    for (const [client] of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_RECEIVERS)))
      this.#entries.delete(client);
  }

  #changed(): void {
    this.flush();
  }
}

function newReceiver(client: number, peer: string): SendReceiver {
  return {
    client,
    number: null,
    peer,
    name: '',
    state: 'connected',
    auth: null,
    remembered: null,
    files: 0,
    total: 0,
    bytes: 0,
    rate: null,
    eta: null,
    sent: 0,
    failed: 0,
    failedFiles: [],
    resumed: null,
    restarted: [],
    ms: null,
    error: null,
  };
}
