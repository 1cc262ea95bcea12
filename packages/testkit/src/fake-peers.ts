import { randomBytes } from 'node:crypto';
import { FrameType, type OfferEntry } from '@ferry/protocol';
import { type HostilePeer, startScriptedSender } from './hostile/index.ts';

export { type FakeServer, startFakeServer, unusedPort } from './hostile/listen.ts';

/** A frame a fake sender read from the receiver, decoded. */
export type ReceivedFrame = { readonly type: number; readonly message?: unknown };

/** A sender that speaks Ferry well enough to offer `entries`, whatever they are. */
export interface HostileSender {
  readonly port: number;
  readonly address: string;
  /** Frames the receiver sent after pairing, HELLO first. */
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

/**
 * Pairs (or, in clear, exchanges preambles), waits for the receiver's HELLO, answers with an
 * OFFER of `entries` (nothing checks them, so unsafe paths go through), then records whatever
 * the receiver sends back. Built on the hostile-peer emulator (`./hostile/`).
 */
export async function startHostileSender(
  entries: OfferEntry[],
  options: HostileSenderOptions = {},
): Promise<HostileSender> {
  let peer: HostilePeer | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const sender = await startScriptedSender(
    async (connected) => {
      peer = connected;
      void connected.closed.then(resolveClosed);
      await connected.expect(FrameType.HELLO);
      await connected.send(FrameType.OFFER, {
        session: randomBytes(16).toString('hex'),
        sender: { name: 'mallory', host: 'evil' },
        entries,
      });
    },
    { encryption: options.encryption ?? true },
  );
  // A receiver that never pairs leaves no peer: its connection closing is the end, too.
  sender.peer().catch(() => resolveClosed());
  return {
    port: sender.port,
    address: sender.address,
    get frames() {
      return peer?.frames ?? [];
    },
    closed,
    code: () => sender.code(),
  };
}
