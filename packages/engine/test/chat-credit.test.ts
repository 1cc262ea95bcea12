/**
 * The receiving side of a chat transfer holds the proposer to its credit (PROTOCOL.md §12.7):
 * 8 MiB of file bytes after ACCEPT, and only what it granted since. The link reads a scripted
 * connection whose frames are all there at once, so no byte reaches the disk (and no CREDIT can
 * go out) while they are read: the bytes past the credit are deterministic.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAT, ErrorCode, type FerryError, FrameType } from '@ferry/protocol';
import type { Connection, Incoming } from '@ferry/protocol/node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatLink } from '../src/chat/link.ts';

const CHUNK = 256 * 1024;
const FILE_BYTES = 2 * CHAT.initialCreditBytes;

/** A connection that hands out scripted frames and records what the link sends. */
class ScriptedConnection {
  readonly sent: { type: number; message: unknown }[] = [];
  readonly errors: FerryError[] = [];
  readonly socket = { bytesWritten: 0, writableLength: 0, destroyed: false };
  #items: (Incoming | null)[] = [];
  #waiting: ((item: Incoming | null) => void) | undefined;

  push(...items: (Incoming | null)[]): void {
    for (const item of items) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting) waiting(item);
      else this.#items.push(item);
    }
  }

  read(): Promise<Incoming | null> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    if (this.socket.destroyed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  async send(type: number, message: unknown): Promise<void> {
    this.sent.push({ type, message });
  }

  async sendErrorAndClose(error: FerryError): Promise<void> {
    this.errors.push(error);
    this.destroy();
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    this.socket.destroyed = true;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(null);
  }
}

function message(type: number, body: unknown): Incoming {
  return { kind: 'message', type, message: body } as Incoming;
}

function data(count: number): Incoming[] {
  return Array.from(
    { length: count },
    () => ({ kind: 'tx-data', offer: 1, bytes: Buffer.alloc(CHUNK, 7) }) as Incoming,
  );
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A joiner's link that has accepted a proposal of one large file into a new folder. */
async function accepted() {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-credit-'));
  dirs.push(dir);
  const connection = new ScriptedConnection();
  const link = new ChatLink({
    connection: connection as unknown as Connection,
    role: 'joiner',
    logger: pino({ level: 'silent' }),
  });
  const proposed = new Promise<void>((resolve) => link.on('proposal', () => resolve()));
  const running = link.run();
  connection.push(
    message(FrameType.PROPOSE, {
      offer: 1,
      entries: [{ kind: 'file', path: 'big.bin', size: FILE_BYTES }],
    }),
  );
  await proposed;
  await link.accept(1, dir);
  expect(connection.sent.map((frame) => frame.type)).toContain(FrameType.ACCEPT);
  return { connection, running, dir };
}

describe('chat credit, receiving side', () => {
  it('T7: cuts off a proposer that sends file bytes past the credit it was granted (ERR_LIMIT_EXCEEDED), keeping nothing', async () => {
    const { connection, running, dir } = await accepted();
    const chunks = CHAT.initialCreditBytes / CHUNK;
    connection.push(
      message(FrameType.TX_START, { offer: 1, id: 0, offset: 0, size: FILE_BYTES }),
      ...data(chunks + 1),
    );
    const end = await running;
    expect(end).toMatchObject({ kind: 'cut-off', error: { code: ErrorCode.LIMIT_EXCEEDED } });
    expect(connection.errors.map((error) => error.code)).toEqual([ErrorCode.LIMIT_EXCEEDED]);
    // No CREDIT could have gone out: nothing was written to the disk while the frames were read.
    expect(connection.sent.filter((frame) => frame.type === FrameType.CREDIT)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('T7: takes exactly the initial credit without complaint, and grants more as the bytes reach the disk', async () => {
    const { connection, running, dir } = await accepted();
    const chunks = CHAT.initialCreditBytes / CHUNK;
    const granted = new Promise<void>((resolve) => {
      const send = connection.send.bind(connection);
      connection.send = async (type, body) => {
        await send(type, body);
        if (type === FrameType.CREDIT) resolve();
      };
    });
    connection.push(
      message(FrameType.TX_START, { offer: 1, id: 0, offset: 0, size: FILE_BYTES }),
      ...data(chunks),
    );
    await granted;
    const credit = connection.sent.find((frame) => frame.type === FrameType.CREDIT)!.message as {
      offer: number;
      bytes: number;
    };
    expect(credit.offer).toBe(1);
    expect(credit.bytes).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    // The peer goes away mid-file: the link ends as lost, not as a cut-off, and the partial file goes.
    connection.push(null);
    expect(await running).toMatchObject({ kind: 'lost' });
    expect(connection.errors).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
