import {
  CHAT,
  ConnectionClosedError,
  FrameType,
  LimitError,
  type MessageOf,
  type MessageType,
  TimeoutError,
  TX_DATA_HEADER_BYTES,
} from '@ferry/protocol';
import type { Connection } from '@ferry/protocol/node';

/** TX_DATA bytes written to the socket and not yet flushed, at most (PROTOCOL.md §12). */
const MAX_UNFLUSHED_BYTES = 1024 * 1024;

type Item =
  | {
      readonly kind: 'data';
      readonly frame: Buffer;
      readonly release: () => void;
      readonly written: () => void;
      /** The frame will never be written: the transfer or the connection ended first. */
      readonly dropped: (error: Error) => void;
    }
  | { readonly kind: 'control'; readonly send: () => void };

/** One offer's frames, in order: its control frames never overtake its data. */
interface Stream {
  readonly offer: number;
  readonly items: Item[];
  credit: number;
  /** Since when its next data frame has waited for credit. */
  starvedSince: number | undefined;
}

/**
 * The writing side of one chat connection (PROTOCOL.md §12, fairness). Control frames that
 * belong to no transfer (messages, proposals, answers) go out at once; each transfer's frames go
 * out in order, and the transfers take turns, one TX_DATA frame each, within their credit. At
 * most about 1 MiB of file data is in the socket unflushed, so a message waits about one frame.
 */
export class Outbox {
  #connection: Connection;
  #streams = new Map<number, Stream>();
  #order: number[] = [];
  #turn = 0;
  #unflushed = 0;
  #stallMs: number;
  #starveTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  /** When file data in the socket last flushed (or started waiting to). */
  #lastFlush = 0;
  #closed = false;
  #fail: (error: Error) => void;

  /** `fail` ends the connection: the peer is not reading, or grants no credit, for `stallMs`. */
  constructor(connection: Connection, stallMs: number, fail: (error: Error) => void) {
    this.#connection = connection;
    this.#stallMs = stallMs;
    this.#fail = fail;
  }

  /** Sends a frame that belongs to no transfer, ahead of any file data not yet written. */
  control<T extends MessageType>(type: T, message: MessageOf<T>): void {
    if (this.#closed) return;
    const socket = this.#connection.socket;
    // A peer that reads nothing would make us hold everything said to it: it is cut off.
    if (socket.writableLength > CHAT.maxQueuedControlBytes + MAX_UNFLUSHED_BYTES) {
      this.#fail(new LimitError('the peer is not reading what is sent to it'));
      return;
    }
    this.#connection.send(type, message).catch(() => {});
  }

  /** Opens a transfer's stream with the initial credit. */
  open(offer: number): void {
    if (this.#streams.has(offer)) return;
    this.#streams.set(offer, {
      offer,
      items: [],
      credit: CHAT.initialCreditBytes,
      starvedSince: undefined,
    });
    this.#order.push(offer);
  }

  /** Ends a transfer's stream once its queued frames are out (or at once, `drop`). */
  closeStream(offer: number, drop = false): void {
    const stream = this.#streams.get(offer);
    if (!stream) return;
    if (drop) {
      dropItems(stream, new ConnectionClosedError('the transfer has ended'));
    }
    if (stream.items.length === 0) this.#remove(offer);
    else stream.items.push({ kind: 'control', send: () => this.#remove(offer) });
  }

  /** A transfer's control frame (TX_START, TX_END, TX_ABORT), in order with its data. */
  streamControl<T extends MessageType>(offer: number, type: T, message: MessageOf<T>): void {
    const stream = this.#streams.get(offer);
    if (!stream || this.#closed) return;
    stream.items.push({
      kind: 'control',
      send: () => this.#connection.send(type, message).catch(() => {}),
    });
    this.#pump();
  }

  /**
   * Queues a TX_DATA frame: `frame` has TX_DATA_HEADER_BYTES of room in front of the file
   * bytes. Resolves once it is written (so the caller reads the next chunk meanwhile);
   * `release` runs once the socket no longer needs `frame`.
   */
  data(offer: number, frame: Buffer, release: () => void): Promise<void> {
    const stream = this.#streams.get(offer);
    if (!stream || this.#closed) {
      release();
      return Promise.reject(new TimeoutError('the transfer has ended'));
    }
    frame.writeUInt32BE(offer, 5);
    return new Promise<void>((written, dropped) => {
      stream.items.push({ kind: 'data', frame, release, written, dropped });
      this.#pump();
    });
  }

  /** The peer granted `bytes` more of an offer. Unknown offers (finished ones) are ignored. */
  credit(offer: number, bytes: number): void {
    const stream = this.#streams.get(offer);
    if (!stream) return;
    stream.credit += bytes;
    this.#pump();
  }

  /** Stops everything: nothing more is written, queued buffers go back. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#starveTimer);
    clearTimeout(this.#stallTimer);
    // A sender waiting for its frame to be written is told it never will be, so it stops
    // and closes its file.
    const closed = new ConnectionClosedError('the connection has ended');
    for (const stream of this.#streams.values()) dropItems(stream, closed);
    this.#streams.clear();
    this.#order = [];
  }

  #remove(offer: number): void {
    this.#streams.delete(offer);
    this.#order = this.#order.filter((id) => id !== offer);
  }

  #pump(): void {
    if (this.#closed) return;
    let starved = false;
    // Each turn: one stream moves by its control frames and at most one data frame.
    for (let idle = 0; idle < this.#order.length && this.#unflushed < MAX_UNFLUSHED_BYTES; ) {
      this.#turn %= this.#order.length;
      const stream = this.#streams.get(this.#order[this.#turn]!)!;
      this.#turn++;
      let moved = false;
      while (stream.items.length > 0) {
        const head = stream.items[0]!;
        if (head.kind === 'control') {
          stream.items.shift();
          head.send();
          moved = true;
          if (!this.#streams.has(stream.offer)) break;
          continue;
        }
        const bytes = head.frame.byteLength - TX_DATA_HEADER_BYTES;
        if (bytes > stream.credit) {
          stream.starvedSince ??= performance.now();
          starved = true;
          break;
        }
        stream.items.shift();
        stream.credit -= bytes;
        stream.starvedSince = undefined;
        this.#write(head);
        moved = true;
        break;
      }
      idle = moved ? 0 : idle + 1;
      if (this.#order.length === 0) break;
    }
    this.#watchStarving(starved);
  }

  #write(item: Extract<Item, { kind: 'data' }>): void {
    const size = item.frame.byteLength;
    if (this.#unflushed === 0) this.#lastFlush = performance.now();
    this.#unflushed += size;
    this.#watchStalled();
    this.#connection
      .sendInPlace(FrameType.TX_DATA, item.frame, () => {
        this.#unflushed -= size;
        this.#lastFlush = performance.now();
        item.release();
        this.#pump();
      })
      .catch(() => {});
    item.written();
  }

  /**
   * File data that stays unflushed for `stallMs` means the peer stopped reading (T7). The
   * socket's own high-water mark is above what this writer keeps unflushed, so the
   * connection's drain timer would never start: this watch is the one that sees it.
   */
  #watchStalled(): void {
    if (this.#stallTimer) return;
    const check = (): void => {
      this.#stallTimer = undefined;
      if (this.#closed || this.#unflushed === 0) return;
      const quiet = performance.now() - this.#lastFlush;
      if (quiet >= this.#stallMs) {
        this.#fail(new TimeoutError('the peer stopped reading what is sent to it'));
        return;
      }
      this.#stallTimer = setTimeout(check, this.#stallMs - quiet + 10);
      this.#stallTimer.unref?.();
    };
    this.#stallTimer = setTimeout(check, this.#stallMs + 10);
    this.#stallTimer.unref?.();
  }

  /** A transfer that waits for credit longer than `stallMs` means the peer stopped taking it (T7). */
  #watchStarving(starved: boolean): void {
    clearTimeout(this.#starveTimer);
    this.#starveTimer = undefined;
    if (!starved) return;
    const oldest = Math.min(
      ...[...this.#streams.values()].map(
        (stream) => stream.starvedSince ?? Number.POSITIVE_INFINITY,
      ),
    );
    if (!Number.isFinite(oldest)) return;
    const left = Math.max(0, oldest + this.#stallMs - performance.now());
    this.#starveTimer = setTimeout(() => {
      const stillStarved = [...this.#streams.values()].some(
        (stream) =>
          stream.starvedSince !== undefined &&
          performance.now() - stream.starvedSince >= this.#stallMs,
      );
      if (stillStarved) this.#fail(new TimeoutError('the peer took no more of a file it accepted'));
      else this.#pump();
    }, left + 10);
    this.#starveTimer.unref?.();
  }
}

/** Gives back a stream's queued buffers and fails whoever waits for them to be written. */
function dropItems(stream: Stream, error: Error): void {
  const items = stream.items.splice(0);
  for (const item of items) {
    if (item.kind !== 'data') continue;
    item.release();
    item.dropped(error);
  }
}
