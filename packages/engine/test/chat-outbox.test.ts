/**
 * The chat link's writer (PROTOCOL.md §12, fairness and credit) over a connection that records
 * what is written and flushes only when the test says: control frames first, transfers in turn,
 * at most about 1 MiB of file data unflushed, never past the credit, and nobody left waiting
 * when the connection ends.
 */
import { CHAT, CHAT_DATA_CHUNK_BYTES, FrameType, TX_DATA_HEADER_BYTES } from '@ferry/protocol';
import type { Connection } from '@ferry/protocol/node';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../src/chat/outbox.ts';

interface Written {
  readonly type: number;
  readonly offer?: number;
  readonly bytes?: number;
}

/** A connection that keeps every frame and flushes data frames only on `flush()`. */
class RecordingConnection {
  readonly written: Written[] = [];
  readonly socket = { writableLength: 0 };
  #flushes: (() => void)[] = [];

  async send(type: number): Promise<void> {
    this.written.push({ type });
  }

  sendInPlace(type: number, frame: Buffer, onFlushed: () => void): Promise<void> {
    this.written.push({
      type,
      offer: frame.readUInt32BE(5),
      bytes: frame.byteLength - TX_DATA_HEADER_BYTES,
    });
    this.#flushes.push(onFlushed);
    return Promise.resolve();
  }

  /** Flushes what was written so far (which may let the writer write more). */
  flush(): void {
    for (const flushed of this.#flushes.splice(0)) flushed();
  }

  /** Flushes until nothing more gets written. */
  drain(): void {
    while (this.#flushes.length > 0) this.flush();
  }

  data(): Written[] {
    return this.written.filter((frame) => frame.type === FrameType.TX_DATA);
  }
}

function outbox(stallMs = 60_000) {
  const connection = new RecordingConnection();
  const failures: Error[] = [];
  let failed!: (error: Error) => void;
  const failure = new Promise<Error>((resolve) => {
    failed = resolve;
  });
  const box = new Outbox(connection as unknown as Connection, stallMs, (error) => {
    failures.push(error);
    failed(error);
  });
  return { box, connection, failures, failure };
}

/** Queues `count` full chunks of `offer`; returns their promises and how many were released. */
function queue(box: Outbox, offer: number, count: number) {
  const released = { count: 0 };
  const promises = Array.from({ length: count }, () => {
    const promise = box.data(
      offer,
      Buffer.alloc(TX_DATA_HEADER_BYTES + CHAT_DATA_CHUNK_BYTES),
      () => {
        released.count++;
      },
    );
    promise.catch(() => {});
    return promise;
  });
  return { promises, released };
}

/** TX_DATA frames that fit in the unflushed megabyte. */
const IN_FLIGHT = (1024 * 1024) / CHAT_DATA_CHUNK_BYTES;

describe('chat outbox', () => {
  it('writes at most 1 MiB of file data unflushed, and a message goes out at once, ahead of the rest', () => {
    const { box, connection } = outbox();
    box.open(1);
    queue(box, 1, 12);
    // 1 MiB in chunks of CHAT_DATA_CHUNK_BYTES, then it waits for the socket.
    expect(connection.data()).toHaveLength((1024 * 1024) / CHAT_DATA_CHUNK_BYTES);
    box.control(FrameType.SAY, { text: 'hi' });
    expect(connection.written.at(-1)).toEqual({ type: FrameType.SAY });
    connection.drain();
    expect(connection.data()).toHaveLength(12);
    const say = connection.written.findIndex((frame) => frame.type === FrameType.SAY);
    expect(say).toBe(IN_FLIGHT);
  });

  it('gives the transfers turns, one data frame each', () => {
    const { box, connection } = outbox();
    box.open(1);
    box.open(2);
    box.open(3);
    queue(box, 1, 6);
    queue(box, 2, 6);
    queue(box, 3, 2);
    connection.drain();
    const order = connection.data().map((frame) => frame.offer!);
    // Offer 1 was alone when its first frames came: it filled the unflushed megabyte.
    expect(order.slice(0, IN_FLIGHT)).toEqual(Array(IN_FLIGHT).fill(1));
    const left = new Map([
      [1, 6 - IN_FLIGHT],
      [2, 6],
      [3, 2],
    ]);
    const rest = order.slice(IN_FLIGHT);
    for (const [i, offer] of rest.entries()) {
      // A transfer goes twice in a row only when no other has a frame waiting.
      if (i > 0 && offer === rest[i - 1])
        for (const [other, count] of left) if (other !== offer) expect(count).toBe(0);
      left.set(offer, left.get(offer)! - 1);
    }
    expect([...left.values()]).toEqual([0, 0, 0]);
  });

  it('never sends an offer past its credit: the initial credit, then each grant', async () => {
    const { box, connection } = outbox();
    box.open(7);
    const chunks = CHAT.initialCreditBytes / CHAT_DATA_CHUNK_BYTES;
    const { promises } = queue(box, 7, chunks + 3);
    connection.drain();
    const sent = () => connection.data().reduce((sum, frame) => sum + frame.bytes!, 0);
    expect(sent()).toBe(CHAT.initialCreditBytes);
    box.credit(7, CHAT_DATA_CHUNK_BYTES);
    connection.drain();
    expect(sent()).toBe(CHAT.initialCreditBytes + CHAT_DATA_CHUNK_BYTES);
    // A grant smaller than a frame lets nothing through.
    box.credit(7, CHAT_DATA_CHUNK_BYTES - 1);
    connection.drain();
    expect(sent()).toBe(CHAT.initialCreditBytes + CHAT_DATA_CHUNK_BYTES);
    box.credit(7, 1);
    connection.drain();
    expect(sent()).toBe(CHAT.initialCreditBytes + 2 * CHAT_DATA_CHUNK_BYTES);
    await Promise.all(promises.slice(0, chunks + 2));
    box.close();
  });

  it('tells a sender waiting for credit that its frames will never go when the connection ends', async () => {
    const { box, connection } = outbox();
    box.open(1);
    const chunks = CHAT.initialCreditBytes / CHAT_DATA_CHUNK_BYTES;
    const { promises, released } = queue(box, 1, chunks + 2);
    connection.drain();
    await Promise.all(promises.slice(0, chunks));
    box.close();
    await expect(promises[chunks]).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
    await expect(promises[chunks + 1]).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
    // Every buffer went back: the written ones when flushed, the queued ones when dropped.
    expect(released.count).toBe(chunks + 2);
  });

  it('a transfer dropped at once fails its waiting frames; the others go on', async () => {
    const { box, connection } = outbox();
    box.open(1);
    box.open(2);
    const one = queue(box, 1, 8);
    const two = queue(box, 2, 8);
    box.closeStream(1, true);
    connection.drain();
    const waiting = await Promise.allSettled(one.promises);
    expect(waiting.some((result) => result.status === 'rejected')).toBe(true);
    await Promise.all(two.promises);
    expect(connection.data().filter((frame) => frame.offer === 2)).toHaveLength(8);
    expect(one.released.count).toBe(8);
  });

  it('cuts the peer off with ERR_TIMEOUT when a transfer waits for credit longer than stallMs', async () => {
    const { box, connection, failure } = outbox(50);
    box.open(1);
    queue(box, 1, CHAT.initialCreditBytes / CHAT_DATA_CHUNK_BYTES + 1);
    connection.drain();
    expect(await failure).toMatchObject({ code: 'ERR_TIMEOUT' });
    box.close();
  });

  it('cuts the peer off with ERR_TIMEOUT when file data written to it stays unflushed for stallMs', async () => {
    const { box, connection, failure, failures } = outbox(50);
    box.open(1);
    queue(box, 1, 8);
    // A megabyte goes out and the peer reads none of it: it is neither starved nor flushing.
    expect(connection.data()).toHaveLength(IN_FLIGHT);
    expect(await failure).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(failures).toHaveLength(1);
    box.close();
  });

  it('does not cut off a peer that keeps reading, however long the transfer', () => {
    const { box, connection, failures } = outbox(60_000);
    box.open(1);
    queue(box, 1, CHAT.initialCreditBytes / CHAT_DATA_CHUNK_BYTES);
    connection.drain();
    expect(failures).toEqual([]);
    box.close();
  });
});
