import { useEffect, useRef, useState } from 'preact/hooks';

/** Where the page stands with the app: receiving, trying again, or the app has stopped. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

/** The app's state as the page last received it: slice name → value. */
export type Slices = Readonly<Record<string, unknown>>;

/**
 * Waits before each attempt to reopen a broken event stream; when the last fails too, the page
 * says the app has stopped. A reload or a busy moment heals within them; a dead app refuses all.
 */
const RETRY_DELAYS_MS = [250, 500, 1000] as const;

/**
 * The one event stream of the page. The app sends every slice when the stream opens and each
 * changed slice after that, so a reload or a reconnect shows the state as it is now.
 */
class LiveStore {
  slices: Slices = {};
  status: LiveStatus = 'connecting';
  readonly #listeners = new Set<() => void>();
  #source: EventSource | undefined;
  #failures = 0;

  start(): void {
    if (this.#source || this.status === 'stopped') return;
    const source = new EventSource('/api/events');
    this.#source = source;
    source.addEventListener('open', () => {
      this.#failures = 0;
      this.#setStatus('live');
    });
    source.addEventListener('state', (event) => {
      const { slice, value } = JSON.parse((event as MessageEvent<string>).data) as {
        slice: string;
        value: unknown;
      };
      this.slices = { ...this.slices, [slice]: value };
      this.#notify();
    });
    source.addEventListener('stopped', () => this.#stop());
    source.addEventListener('error', () => {
      source.close();
      this.#source = undefined;
      if (this.status === 'stopped') return;
      const delay = RETRY_DELAYS_MS[this.#failures++];
      if (delay === undefined) {
        this.#stop();
        return;
      }
      this.#setStatus('reconnecting');
      setTimeout(() => this.start(), delay);
    });
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #stop(): void {
    this.#source?.close();
    this.#source = undefined;
    this.#setStatus('stopped');
  }

  #setStatus(status: LiveStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.#notify();
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

const store = new LiveStore();

/** Every slice and the stream's status; the component renders again on every change of any. */
export function useLiveState(): { slices: Slices; status: LiveStatus } {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const unsubscribe = store.subscribe(() => setVersion((v) => v + 1));
    store.start();
    return unsubscribe;
  }, []);
  return { slices: store.slices, status: store.status };
}

/** Renders the calling component again whenever `pick()` gives another value than it last did. */
function useStore<T>(pick: () => T, key: string): T {
  const [, setVersion] = useState(0);
  const value = pick();
  const seen = useRef(value);
  seen.current = value;
  useEffect(() => {
    const check = () => {
      if (pick() !== seen.current) setVersion((v) => v + 1);
    };
    const unsubscribe = store.subscribe(check);
    store.start();
    check();
    return unsubscribe;
  }, [key]);
  return value;
}

/**
 * One slice, typed by the caller from the window's state schema (`src/state/<app>.ts`), or
 * undefined before the app has sent it. The component renders again only when this slice
 * changes, so a busy progress slice redraws the progress alone.
 */
export function useSlice<T>(name: string): T | undefined {
  return useStore(() => store.slices[name], name) as T | undefined;
}

/** Where the page stands with the app; the component renders again only when that changes. */
export function useLiveStatus(): LiveStatus {
  return useStore(() => store.status, ' status');
}
