/**
 * A window in memory for the controllers' tests: each slice set is checked against the app's
 * schema and kept, actions are called as the page calls them (input checked by its schema), and
 * a slice marked with `setLater` is built at once (the real window builds it when it is due).
 */
import type { z } from 'zod';
import type { WindowSurface } from '../server/window.ts';

/** Options of {@link FakeWindow}. */
export interface FakeWindowOptions {
  /**
   * Keep a slice that fails its schema and note the failure in `invalid`, instead of throwing:
   * for controllers that set slices inside event handlers, where a throw would be lost.
   */
  readonly collectInvalid?: boolean;
}

type Run = (input: unknown) => unknown;

export class FakeWindow implements WindowSurface {
  readonly slices = new Map<string, unknown>();
  /** Slices that failed their schema (with `collectInvalid`): `name: why`. */
  readonly invalid: string[] = [];
  readonly #schemas: Readonly<Record<string, z.ZodType>>;
  readonly #collect: boolean;
  readonly #actions = new Map<string, { schema: z.ZodType; run: Run }>();
  readonly #listeners = new Set<() => void>();

  constructor(schemas: Readonly<Record<string, z.ZodType>>, options: FakeWindowOptions = {}) {
    this.#schemas = schemas;
    this.#collect = options.collectInvalid ?? false;
  }

  set(slice: string, value: unknown): void {
    const schema = this.#schemas[slice];
    const checked = schema?.safeParse(value);
    if (!checked?.success) {
      const why = `${slice}: ${checked?.error.message ?? 'no such slice'}`;
      if (!this.#collect) throw new Error(why);
      this.invalid.push(why);
    }
    this.slices.set(slice, checked?.success ? checked.data : value);
    for (const listener of [...this.#listeners]) listener();
  }

  setLater(slice: string, produce: () => unknown): void {
    this.set(slice, produce());
  }

  action<S extends z.ZodType>(name: string, schema: S, run: (input: z.infer<S>) => unknown): void {
    this.#actions.set(name, { schema, run: run as Run });
  }

  /** The names of the actions registered. */
  actionNames(): string[] {
    return [...this.#actions.keys()];
  }

  /** Runs an action as the server does: the input checked with its schema first. */
  async call(name: string, input: unknown = {}): Promise<unknown> {
    const action = this.#actions.get(name);
    if (!action) throw new Error(`no action named ${name}`);
    return action.run(action.schema.parse(input));
  }

  /** The error an action refuses with (a WindowActionError); throws if it is not refused. */
  async refusal(name: string, input: unknown = {}): Promise<{ code: string; message: string }> {
    try {
      await this.call(name, input);
    } catch (error) {
      return error as { code: string; message: string };
    }
    throw new Error(`${name} was not refused`);
  }

  /** A slice's last value, in the shape the test expects. */
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the slice it knows the shape of
  get<T = any>(slice: string): T {
    return this.slices.get(slice) as T;
  }

  /** Calls `listener` after every slice set; returns a function that stops it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
