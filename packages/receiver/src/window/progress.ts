/**
 * The slice `progress` of the receiving window, kept from the core's events. Built at most
 * every PUBLISH_MS: progress events come per DATA frame, and the page needs a few a second.
 */
import { ProgressMeter } from '@ferry/cli';
import {
  type ConcludedFile,
  MAX_CONCLUDED_SHOWN,
  type ProgressSlice,
} from '@ferry/window/state/receive';
import type { ReceiverEvents } from '../receiver.ts';

/** How often the slice is built while bytes flow. */
const PUBLISH_MS = 100;

/** Tracks one transfer's progress and publishes it through `publish`. */
export class ProgressTracker {
  readonly #publish: (slice: ProgressSlice) => void;
  readonly #start: ReceiverEvents['start'];
  readonly #meter: ProgressMeter;
  #state: NonNullable<ProgressSlice>['state'] = 'running';
  #reconnect: { attempt: number; reason: string } | null = null;
  #current: { offered: string; size: number; done: number } | null = null;
  #counts = { saved: 0, present: 0, failed: 0 };
  #concluded: ConcludedFile[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pausable: () => boolean;

  constructor(
    start: ReceiverEvents['start'],
    publish: (slice: ProgressSlice) => void,
    pausable: () => boolean,
  ) {
    this.#start = start;
    this.#publish = publish;
    this.#pausable = pausable;
    // The meter counts the bytes that move; those held already are added when shown.
    this.#meter = new ProgressMeter(start.bytes - start.resumedBytes, performance.now());
    this.publishNow();
  }

  /** Bytes arrived for the current file. */
  add(bytes: number): void {
    this.#meter.add(bytes);
    if (this.#current) this.#current.done += bytes;
    this.#later();
  }

  started(event: ReceiverEvents['file-started']): void {
    this.#current = { offered: event.offered, size: event.size, done: event.offset };
    this.#later();
  }

  /** A file starts over from byte 0: its bytes move again. */
  restarted(): void {
    if (this.#current) this.#meter.grow(this.#current.done);
  }

  concluded(file: ConcludedFile): void {
    this.#counts[file.state]++;
    this.#concluded.push(file);
    if (this.#concluded.length > MAX_CONCLUDED_SHOWN) this.#concluded.shift();
    if (this.#current?.offered === file.offered) this.#current = null;
    this.#later();
  }

  setState(
    state: NonNullable<ProgressSlice>['state'],
    reconnect: { attempt: number; reason: string } | null = null,
  ): void {
    this.#state = state;
    this.#reconnect = reconnect;
    this.publishNow();
  }

  get state(): NonNullable<ProgressSlice>['state'] {
    return this.#state;
  }

  /** The reason of the current reconnection, if any. */
  get reconnectReason(): string | undefined {
    return this.#reconnect?.reason;
  }

  /** Builds and publishes the slice now. */
  publishNow(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const snapshot = this.#meter.snapshot(performance.now());
    const running = this.#state === 'running';
    this.#publish({
      outDir: this.#start.outDir,
      files: this.#start.files,
      bytes: this.#start.bytes,
      resumedBytes: this.#start.resumedBytes,
      done: Math.min(this.#start.bytes, this.#start.resumedBytes + snapshot.bytes),
      rate: running && Number.isFinite(snapshot.rate) ? snapshot.rate : null,
      eta:
        running && Number.isFinite(snapshot.etaSeconds)
          ? Math.max(1, Math.ceil(snapshot.etaSeconds))
          : null,
      state: this.#state,
      pausable: this.#pausable(),
      reconnect: this.#reconnect,
      current: this.#current ? { ...this.#current } : null,
      counts: { ...this.#counts },
      concluded: [...this.#concluded],
    });
  }

  /** Stops publishing (the transfer ended). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #later(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.publishNow(), PUBLISH_MS);
  }
}
