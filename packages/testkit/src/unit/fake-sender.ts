/**
 * A scripted sender for the receiver's unit tests: the protocol's own encoders, in clear, one
 * step at a time, so a test can send anything in any order (HOSTILE-INPUTS.md). The e2e tests'
 * richer emulator, with TLS and pairing, is `../hostile/`.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import {
  concatFrame,
  encodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  type MessageOf,
  type MessageType,
  type OfferEntry,
} from '@ferry/protocol';
import type { ReceivedFrame } from '../fake-peers.ts';
import { startFakeServer } from '../hostile/listen.ts';
import { receivedFrame, sha256 } from './frames.ts';
import { within } from './waits.ts';

/** The sender's side of one connection, driven step by step by a test script. */
export interface FakePeer {
  readonly socket: Socket;
  /** Every frame received so far. */
  readonly frames: readonly ReceivedFrame[];
  /** The next frame from the receiver (bounded), or null once it has closed the connection. */
  next(): Promise<ReceivedFrame | null>;
  /** The next frame, which must be of `type`. */
  expect<T extends MessageType>(type: T): Promise<MessageOf<T>>;
  /** Sends a control message (encodeMessage checks only its shape, so hostile paths go through). */
  send<T extends MessageType>(type: T, message: MessageOf<T>): void;
  /** Sends one DATA frame around `bytes`. */
  data(bytes: Uint8Array | string): void;
  /** Waits for HELLO, then sends an OFFER of `entries`. */
  offer(entries: OfferEntry[], sender?: { name: string; host: string }): Promise<void>;
  /** Resolves once the receiver has closed the connection; every frame is then in `frames`. */
  readonly closed: Promise<void>;
}

/**
 * A hostile (or merely scripted) sender on 127.0.0.1 port 0: sends its preamble at once,
 * decodes what the receiver sends, and runs `script` for the first connection, then each of
 * `later` for the next ones, in order (a receiver reconnecting, §13); connections beyond those
 * are closed. Script errors surface through `done`. Stopped after the test.
 */
export async function startFakeSender(
  script: (peer: FakePeer) => Promise<void>,
  later: readonly ((peer: FakePeer) => Promise<void>)[] = [],
) {
  const scripts = [script, ...later];
  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => {});
  const peers: FakePeer[] = [];
  let finished = 0;
  const server = await startFakeServer((socket) => {
    const next = scripts[peers.length];
    if (!next) {
      socket.destroy();
      return;
    }
    const peer = createPeer(socket);
    peers.push(peer);
    next(peer).then(() => {
      if (++finished === scripts.length) resolveDone();
    }, rejectDone);
  });
  const peer = () => peers[0];
  return {
    ...server,
    /** Every connection's peer so far, in order. */
    peers: peers as readonly FakePeer[],
    /** Every script's outcome, bounded. */
    done: () =>
      within(
        done,
        'the fake sender script',
        () => `frames: ${JSON.stringify(peers.map((p) => p.frames))}`,
      ),
    /** Every frame the receiver sent, once it has closed the connection. */
    frames: async () => {
      const first = peer();
      if (!first) throw new Error('nobody connected to the fake sender');
      await within(first.closed, 'the receiver to close the connection', () =>
        JSON.stringify(first.frames),
      );
      return first.frames;
    },
  };
}

function createPeer(socket: Socket): FakePeer {
  const decoder = new FrameDecoder({ expectPreamble: true });
  const frames: ReceivedFrame[] = [];
  let read = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const closed = once(socket, 'close').then(() => {
    ended = true;
    wake?.();
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'frame') frames.push(receivedFrame(event.type, event.payload));
      }
    } catch (error) {
      failure ??= error;
      socket.destroy();
    }
    wake?.();
  });
  socket.write(encodePreamble());

  const next = async (): Promise<ReceivedFrame | null> => {
    for (;;) {
      const frame = frames[read];
      if (frame) {
        read++;
        return frame;
      }
      if (failure) throw failure;
      if (ended) return null;
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await within(arrived, 'a frame from the receiver', () => JSON.stringify(frames));
    }
  };
  const peer: FakePeer = {
    socket,
    frames,
    closed,
    next,
    async expect(type) {
      const frame = await next();
      if (frame?.type !== type) {
        throw new Error(
          `expected frame type ${type} from the receiver, got ${JSON.stringify(frame)}`,
        );
      }
      return frame.message as never;
    },
    send(type, message) {
      socket.write(concatFrame(type, encodeMessage(type, message)));
    },
    data(bytes) {
      socket.write(
        concatFrame(FrameType.DATA, typeof bytes === 'string' ? Buffer.from(bytes) : bytes),
      );
    },
    async offer(entries, sender = { name: 'mallory', host: 'evil' }) {
      await peer.expect(FrameType.HELLO);
      peer.send(FrameType.OFFER, { session: randomBytes(16).toString('hex'), sender, entries });
    },
  };
  return peer;
}

/** Sends one whole file correctly: FILE_START for all of `content`, its DATA, FILE_END. */
export function sendFile(peer: FakePeer, id: number, content: string | Uint8Array): void {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  peer.send(FrameType.FILE_START, { id, offset: 0, size: bytes.byteLength });
  if (bytes.byteLength > 0) peer.data(bytes);
  peer.send(FrameType.FILE_END, { id, sha256: sha256(bytes) });
}

/** Ends the session with END and returns the receiver's DONE. */
export async function endSession(peer: FakePeer): Promise<MessageOf<typeof FrameType.DONE>> {
  peer.send(FrameType.END, {});
  return peer.expect(FrameType.DONE);
}
