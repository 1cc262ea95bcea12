/**
 * The slice `progress` of the receiving window, kept from the core's events. Progress events
 * come per DATA frame: the slice is left to the window to build when it is due to go out, a few
 * times a second; changes of state are published at once.
 */
import { ProgressMeter } from '@ferry/cli';
import {
  type ConcludedFile,
  MAX_CONCLUDED_SHOWN,
  type ProgressSlice,
} from '@ferry/window/state/receive';
import type { ReceiverEvents } from '../receiver.ts';

/** Where a tracker publishes the slice: now, or built when the window sends it. */
export interface ProgressSink {
  now(slice: ProgressSlice): void;
  later(produce: () => ProgressSlice): void;
}

/** Tracks one transfer's progress and publishes it to a {@link ProgressSink}. */
export class ProgressTracker {
  readonly #publish: ProgressSink;
  readonly #start: ReceiverEvents['start'];
  readonly #meter: ProgressMeter;
  #state: NonNullable<ProgressSlice>['state'] = 'running';
  #reconnect: { attempt: number; reason: string } | null = null;
  #current: { offered: string; size: number; done: number } | null = null;
  #counts = { saved: 0, present: 0, failed: 0 };
  #concluded: ConcludedFile[] = [];
  #stopped = false;
  #pausable: () => boolean;

  constructor(
    start: ReceiverEvents['start'],
    publish: ProgressSink,
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
    this.#publish.now(this.#build());
  }

  /** Stops publishing (the transfer ended): a slice still due is not built any more. */
  stop(): void {
    this.#stopped = true;
  }

  #later(): void {
    if (!this.#stopped) this.#publish.later(() => this.#build());
  }

  #build(): ProgressSlice {
    const snapshot = this.#meter.snapshot(performance.now());
    const running = this.#state === 'running';
    return {
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
    };
  }
}
