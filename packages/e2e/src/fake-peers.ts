import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import {
  concatFrame,
  decodeMessage,
  encodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  isMessageType,
  type OfferEntry,
} from '@ferry/protocol';
import { onCleanup } from './cleanup.ts';

/** A TCP server on 127.0.0.1 that is not a real ferry-send. */
export interface FakeServer {
  readonly port: number;
  readonly address: string;
  /** Sockets accepted so far. */
  readonly sockets: readonly Socket[];
}

/** Listens on 127.0.0.1:0 and hands every connection to `onSocket`; closed after the test. */
export async function startFakeServer(onSocket: (socket: Socket) => void): Promise<FakeServer> {
  const sockets: Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    // The peer under test may reset the connection; that is its business, not a test failure.
    socket.on('error', () => {});
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup('fake server', async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { port, address: `127.0.0.1:${port}`, sockets };
}

/** A port on 127.0.0.1 where nothing listens: bound, noted, closed. */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  return port;
}

/** A frame a fake sender read from the receiver, decoded. */
export type ReceivedFrame = { readonly type: number; readonly message?: unknown };

/** A sender that speaks Ferry well enough to offer `entries`, whatever they are. */
export interface HostileSender extends FakeServer {
  /** Frames the receiver sent, HELLO first; type -1 holds an error decoding them. */
  readonly frames: readonly ReceivedFrame[];
  /** Resolves when the receiver has closed its side. */
  readonly closed: Promise<void>;
}

/**
 * Sends the preamble, waits for the receiver's preamble and HELLO, answers with an OFFER of
 * `entries` (encodeMessage checks only the shape, so unsafe paths go through), then records
 * whatever the receiver sends back.
 */
export async function startHostileSender(entries: OfferEntry[]): Promise<HostileSender> {
  const frames: ReceivedFrame[] = [];
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const offer = encodeMessage(FrameType.OFFER, {
    session: randomBytes(16).toString('hex'),
    sender: { name: 'mallory', host: 'evil' },
    entries,
  });
  const server = await startFakeServer((socket) => {
    const decoder = new FrameDecoder({ expectPreamble: true });
    socket.on('close', () => resolveClosed());
    // Like a real sender: the preamble at once (the receiver waits for it before its HELLO).
    socket.write(encodePreamble());
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const event of decoder.push(chunk)) {
          if (event.kind !== 'frame') continue;
          const message = isMessageType(event.type)
            ? decodeMessage(event.type, event.payload)
            : undefined;
          frames.push({ type: event.type, message });
          if (event.type === FrameType.HELLO) {
            socket.write(concatFrame(FrameType.OFFER, offer));
          }
        }
      } catch (error) {
        // The receiver sent bytes that are not Ferry: keep that for the test to see.
        frames.push({ type: -1, message: error });
        socket.destroy();
      }
    });
  });
  return { ...server, frames, closed };
}
