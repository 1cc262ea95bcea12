import type http from 'node:http';

/**
 * How the live state is paced: a slice goes out at most once per `sliceEveryMs`. Twice a second
 * keeps progress moving and its figures readable, and keeps the page's drawing from taking CPU
 * from a transfer on the same machine: at four times a second, the Chromium showing both pages
 * of a transfer used about 0.16 of a core, at twice about 0.09.
 */
export const LIVE_STATE = {
  sliceEveryMs: 500,
  pingEveryMs: 15_000,
} as const;

/** One open event stream. `dirty` holds the slices that changed while its socket was full. */
interface Stream {
  readonly response: http.ServerResponse;
  readonly dirty: Set<string>;
  blocked: boolean;
}

/**
 * The app's state as named slices, and the event streams that show it. A stream gets every
 * slice on connect, then each changed slice, at most once per `sliceEveryMs` (the latest value
 * wins), so a busy progress slice never floods the page. A stream whose socket is full is sent
 * nothing until it drains, then only the latest value of what changed meanwhile.
 */
export class LiveState {
  readonly #values = new Map<string, string>();
  readonly #sentAt = new Map<string, number>();
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #producers = new Map<string, () => unknown>();
  readonly #streams = new Set<Stream>();
  readonly #ping: NodeJS.Timeout;
  readonly #everyMs: number;
  #closed = false;

  constructor(everyMs: number = LIVE_STATE.sliceEveryMs, pingMs: number = LIVE_STATE.pingEveryMs) {
    this.#everyMs = everyMs;
    this.#ping = setInterval(() => this.#writeAll(': ping\n\n'), pingMs);
    this.#ping.unref();
  }

  /** Replaces a slice; a value equal to the current one changes nothing. */
  set(slice: string, value: unknown): void {
    if (this.#closed) return;
    this.#producers.delete(slice);
    if (this.#store(slice, value)) this.#due(slice);
  }

  /**
   * Marks a slice changed without building its value: `produce` is called when the slice is
   * next due to go out (at once if it went out more than `sliceEveryMs` ago), the latest
   * `produce` winning. For slices that change many times a second, such as progress: the
   * value is built a few times a second, not on every change. A later {@link set} wins.
   */
  setLater(slice: string, produce: () => unknown): void {
    if (this.#closed) return;
    this.#producers.set(slice, produce);
    this.#due(slice);
  }

  /** Stores a slice's value; false if it equals the current one. */
  #store(slice: string, value: unknown): boolean {
    const json = JSON.stringify({ slice, value: value === undefined ? null : value });
    if (this.#values.get(slice) === json) return false;
    this.#values.set(slice, json);
    return true;
  }

  /** Sends a changed slice now, or when `sliceEveryMs` has passed since it last went out. */
  #due(slice: string): void {
    if (this.#pending.has(slice)) return;
    const wait = (this.#sentAt.get(slice) ?? -Infinity) + this.#everyMs - performance.now();
    if (wait <= 0) {
      this.#flush(slice);
      return;
    }
    const timer = setTimeout(() => {
      this.#pending.delete(slice);
      this.#flush(slice);
    }, wait);
    this.#pending.set(slice, timer);
  }

  /** Builds a slice whose value was left to its producer, then sends it if it changed. */
  #flush(slice: string): void {
    const produce = this.#producers.get(slice);
    this.#producers.delete(slice);
    if (produce && !this.#store(slice, produce())) return;
    this.#send(slice);
  }

  /** The current value of every slice, as sent (for tests and diagnostics). */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const json of this.#values.values()) {
      const { slice, value } = JSON.parse(json) as { slice: string; value: unknown };
      out[slice] = value;
    }
    return out;
  }

  /** Starts an event stream on `response`: every slice now, then the changes. */
  open(request: http.IncomingMessage, response: http.ServerResponse): void {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    response.flushHeaders();
    if (this.#closed) {
      response.end('event: stopped\ndata: {}\n\n');
      return;
    }
    const stream: Stream = { response, dirty: new Set(), blocked: false };
    this.#streams.add(stream);
    request.socket.setNoDelay(true);
    response.on('drain', () => {
      stream.blocked = false;
      const dirty = [...stream.dirty];
      stream.dirty.clear();
      for (const slice of dirty) {
        const json = this.#values.get(slice);
        if (json !== undefined && !stream.blocked) this.#write(stream, stateEvent(json));
        else if (json !== undefined) stream.dirty.add(slice);
      }
    });
    response.on('close', () => this.#streams.delete(stream));
    this.#write(stream, 'retry: 1000\n\n');
    for (const json of this.#values.values()) this.#write(stream, stateEvent(json));
  }

  /** Tells every stream that the app has stopped and ends them; later `set` calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ping);
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    this.#producers.clear();
    for (const stream of this.#streams) stream.response.end('event: stopped\ndata: {}\n\n');
    this.#streams.clear();
  }

  #send(slice: string): void {
    const json = this.#values.get(slice);
    if (json === undefined) return;
    this.#sentAt.set(slice, performance.now());
    const event = stateEvent(json);
    for (const stream of this.#streams) {
      if (stream.blocked) stream.dirty.add(slice);
      else this.#write(stream, event);
    }
  }

  #writeAll(text: string): void {
    for (const stream of this.#streams) if (!stream.blocked) this.#write(stream, text);
  }

  #write(stream: Stream, text: string): void {
    if (!stream.response.write(text)) stream.blocked = true;
  }
}

/** One `state` event of the stream; JSON holds no raw newline, so one `data:` line suffices. */
function stateEvent(json: string): string {
  return `event: state\ndata: ${json}\n\n`;
}
