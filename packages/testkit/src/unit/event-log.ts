import { within } from './waits.ts';

/** Something that emits typed events, as the apps' headless cores do. */
interface Emitter<Events extends Record<string, unknown>> {
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): unknown;
}

/** Records every event a headless core emits and lets a test wait for one (bounded). */
export class EventLog<Events extends Record<string, unknown>> {
  readonly seen: { name: keyof Events; payload: unknown }[] = [];
  #waiters = new Set<() => void>();

  constructor(emitter: Emitter<Events>, names: readonly (keyof Events)[]) {
    for (const name of names) {
      emitter.on(name, (payload) => {
        this.seen.push({ name, payload });
        for (const waiter of [...this.#waiters]) waiter();
      });
    }
  }

  /** Every payload of `name` so far. */
  all<K extends keyof Events>(name: K): Events[K][] {
    return this.seen.filter((e) => e.name === name).map((e) => e.payload as Events[K]);
  }

  /** Resolves once `condition` holds, checked now and after each event (bounded). */
  waitUntil(condition: () => boolean, what: string): Promise<void> {
    const promise = new Promise<void>((resolve) => {
      const check = () => {
        if (!condition()) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
      check();
    });
    return within(promise, what, () => `events so far: ${JSON.stringify(this.seen)}`);
  }

  /** Resolves with the `index`-th payload of `name` (0-based), waiting for it if needed. */
  waitFor<K extends keyof Events>(name: K, index = 0): Promise<Events[K]> {
    const promise = new Promise<Events[K]>((resolve) => {
      const check = () => {
        const payload = this.all(name)[index];
        if (payload === undefined) return;
        this.#waiters.delete(check);
        resolve(payload);
      };
      this.#waiters.add(check);
      check();
    });
    return within(
      promise,
      `event ${String(name)} #${index}`,
      () => `events so far: ${JSON.stringify(this.seen)}`,
    );
  }
}
