import { once } from 'node:events';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { FrameDecoder, FrameType, LIMITS } from '@ferry/protocol';
import { Deadline, exchangePreamble, loadOrCreateIdentity } from '@ferry/protocol/node';
import { makeConfigDir } from './cli-process.ts';
import { listenOnLoopback } from './hostile/listen.ts';
import { tlsClientOptions, tlsServerOptions } from './tls.ts';
import { receivedFrame } from './unit/frames.ts';

/** Everything a relay saw, by direction, in order. */
export interface Recording {
  /** Bytes the receiver sent towards the sender. */
  readonly fromReceiver: Buffer[];
  /** Bytes the sender sent towards the receiver. */
  readonly fromSender: Buffer[];
}

/** A relay on 127.0.0.1 between a receiver (which connects to it) and a real ferry-send. */
export interface Relay {
  readonly port: number;
  /** `127.0.0.1:<port>`, what the receiver is given instead of the sender's address. */
  readonly address: string;
  readonly recording: Recording;
  /** Connections the relay accepted so far. */
  readonly accepted: () => number;
  /** Why the relay's own handshakes failed, if they did. */
  readonly errors: readonly unknown[];
  /** Resets every connection through the relay (RST both ways): a network that failed. */
  readonly cut: () => void;
}

/** Every byte recorded, both directions, for searching. */
export function recorded(recording: Recording): Buffer {
  return Buffer.concat([...recording.fromReceiver, ...recording.fromSender]);
}

/** The Ferry frames in one direction of a recording (no preamble): types and decoded messages. */
export function framesIn(chunks: readonly Buffer[]): { type: number; message?: unknown }[] {
  const decoder = new FrameDecoder({ limits: LIMITS });
  const frames: { type: number; message?: unknown }[] = [];
  for (const chunk of chunks) {
    for (const event of decoder.push(chunk)) {
      if (event.kind !== 'frame') {
        frames.push({ type: FrameType.DATA });
        continue;
      }
      frames.push(receivedFrame(event.type, event.payload));
    }
  }
  return frames;
}

/** Bounds each of the relay's own handshakes (preamble and TLS), like a real peer's deadline. */
const RELAY_HANDSHAKE_MS = 20_000;

type Handler = (
  downstream: Socket,
  recording: Recording,
  track: (socket: Socket) => void,
) => Promise<void>;

/** Listens on 127.0.0.1:0; every socket it makes or accepts is destroyed after the test. */
async function startRelay(handle: Handler): Promise<Relay> {
  const recording: Recording = { fromReceiver: [], fromSender: [] };
  const errors: unknown[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    // Either peer may reset its side; that is for the test to judge, not a crash of the relay.
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  };
  let accepted = 0;
  const server = net.createServer((downstream) => {
    accepted++;
    track(downstream);
    handle(downstream, recording, track).catch((error: unknown) => {
      errors.push(error);
      downstream.destroy();
    });
  });
  const { port, address } = await listenOnLoopback(server, sockets, 'relay');
  const cut = () => {
    for (const socket of sockets) if (!socket.destroyed) socket.resetAndDestroy();
  };
  return { port, address, recording, accepted: () => accepted, errors, cut };
}

/**
 * Copies `from` to `to` and records what passed; an end is passed on as an end, so nothing
 * written is cut off, and a failure on one side tears down the other.
 */
function pipeRecorded(from: Socket, to: Socket, into: Buffer[]): void {
  from.on('data', (chunk: Buffer) => {
    into.push(Buffer.from(chunk));
    to.write(chunk);
  });
  from.on('end', () => to.end());
  from.on('close', (hadError: boolean) => {
    if (hadError) to.destroy();
  });
}

/**
 * A passive tap: forwards the raw TCP bytes between the receiver and the sender at
 * 127.0.0.1:`senderPort` unchanged, recording them, as an eavesdropper on the network would.
 */
export function startTap(senderPort: number): Promise<Relay> {
  return startRelay(async (downstream, recording, track) => {
    const upstream = net.connect({ host: '127.0.0.1', port: senderPort });
    track(upstream);
    pipeRecorded(downstream, upstream, recording.fromReceiver);
    pipeRecorded(upstream, downstream, recording.fromSender);
  });
}

/**
 * An active man in the middle with its own identity key: to the receiver it is a Ferry sender
 * (preamble with the TLS flag, TLS 1.3 server asking for a client certificate and accepting
 * any), to the sender at 127.0.0.1:`senderPort` it is a receiver (preamble, TLS client with its
 * own certificate, accepting any). Between the two TLS sessions it relays the decrypted bytes
 * both ways, recording them: whatever it could read, an attacker could.
 */
export async function startMitm(senderPort: number): Promise<Relay> {
  const identity = await loadOrCreateIdentity(makeConfigDir('mitm'));
  return startRelay(async (downstream, recording, track) => {
    const facingReceiver = async (): Promise<tls.TLSSocket> => {
      const deadline = new Deadline(RELAY_HANDSHAKE_MS, downstream, 'relay: receiver side');
      try {
        await exchangePreamble({ socket: downstream }, 'server', true, deadline);
        const secure = new tls.TLSSocket(downstream, tlsServerOptions(identity));
        deadline.track(secure);
        track(secure);
        await once(secure, 'secure');
        return secure;
      } finally {
        deadline.clear();
      }
    };
    const facingSender = async (): Promise<tls.TLSSocket> => {
      const upstream = net.connect({ host: '127.0.0.1', port: senderPort });
      track(upstream);
      await once(upstream, 'connect');
      const deadline = new Deadline(RELAY_HANDSHAKE_MS, upstream, 'relay: sender side');
      try {
        await exchangePreamble({ socket: upstream }, 'client', true, deadline);
        const secure = tls.connect({ socket: upstream, ...tlsClientOptions(identity) });
        deadline.track(secure);
        track(secure);
        await once(secure, 'secureConnect');
        return secure;
      } finally {
        deadline.clear();
      }
    };
    const [toReceiver, toSender] = await Promise.all([facingReceiver(), facingSender()]);
    pipeRecorded(toReceiver, toSender, recording.fromReceiver);
    pipeRecorded(toSender, toReceiver, recording.fromSender);
  });
}
