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
  PairingCodes,
} from '@ferry/protocol';
import {
  Deadline,
  derivePasswordScalar,
  exchangePreamble,
  loadOrCreateIdentity,
  secureServer,
} from '@ferry/protocol/node';
import { makeConfigDir } from './cli-process.ts';
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
  /** The pairing code it shows now (`1234-5678`); undefined in clear. */
  code(): string | undefined;
}

/** Options of {@link startHostileSender}. */
export interface HostileSenderOptions {
  /**
   * True (the default): TLS and pairing exactly as ferry-send does them (the protocol
   * library's own `secureServer`, with its own key and codes), so the receiver under test has
   * paired with this sender before it offers anything: an authenticated sender that is hostile.
   * False: the clear protocol, for a receiver run with --no-encryption.
   */
  readonly encryption?: boolean;
}

/** Bounds the fake's preamble, TLS and pairing, like the real sender's handshake deadline. */
const FAKE_HANDSHAKE_MS = 20_000;

/**
 * Does the preamble (and, encrypted, TLS and pairing), waits for the receiver's HELLO, answers
 * with an OFFER of `entries` (encodeMessage checks only the shape, so unsafe paths go through),
 * then records whatever the receiver sends back.
 */
export async function startHostileSender(
  entries: OfferEntry[],
  options: HostileSenderOptions = {},
): Promise<HostileSender> {
  const encryption = options.encryption ?? true;
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
  let code: string | undefined;
  let security: Parameters<typeof secureServer>[1] | undefined;
  if (encryption) {
    const pairing = new PairingCodes(derivePasswordScalar);
    pairing.on('code', (event) => {
      code = event.code;
    });
    security = { identity: await loadOrCreateIdentity(makeConfigDir('fake-sender')), pairing };
    pairing.start();
  }
  /** Speaks the application protocol on `channel`: the preamble is already done if encrypted. */
  const converse = (channel: Socket) => {
    const decoder = new FrameDecoder({ expectPreamble: !encryption });
    channel.on('data', (chunk: Buffer) => {
      try {
        for (const event of decoder.push(chunk)) {
          if (event.kind !== 'frame') continue;
          const message = isMessageType(event.type)
            ? decodeMessage(event.type, event.payload)
            : undefined;
          frames.push({ type: event.type, message });
          if (event.type === FrameType.HELLO) {
            channel.write(concatFrame(FrameType.OFFER, offer));
          }
        }
      } catch (error) {
        // The receiver sent bytes that are not Ferry: keep that for the test to see.
        frames.push({ type: -1, message: error });
        channel.destroy();
      }
    });
  };
  const server = await startFakeServer((socket) => {
    socket.on('close', () => resolveClosed());
    if (!security) {
      // Like a real sender in clear: the preamble at once (the receiver waits for it before its HELLO).
      socket.write(encodePreamble());
      converse(socket);
      return;
    }
    const deadline = new Deadline(FAKE_HANDSHAKE_MS, socket, 'the receiver did not pair in time');
    void (async () => {
      try {
        await exchangePreamble({ socket }, 'server', true, deadline);
        const secured = await secureServer(socket, security, deadline);
        secured.socket.on('error', () => {});
        converse(secured.socket);
        secured.socket.resume();
      } catch (error) {
        frames.push({ type: -1, message: error });
        socket.destroy();
      } finally {
        deadline.clear();
      }
    })();
  });
  return { ...server, frames, closed, code: () => code };
}
