/**
 * Hostile peers of a conversation (PROTOCOL.md §12): a scripted joiner that connects to a real
 * chat listener, and a scripted listener that welcomes a real joiner, each then writing
 * whatever frames the test asks for, valid or not.
 */
import { CHAT_FEATURE, FrameType, type Hello, type Welcome } from '@ferry/protocol';
import type { HostilePeer } from './peer.ts';
import {
  connectScriptedReceiver,
  type ScriptedReceiver,
  type ScriptedReceiverOptions,
} from './receiver-role.ts';
import {
  type ScriptedSender,
  type ScriptedSenderOptions,
  startScriptedSender,
} from './sender-role.ts';
import { type FrameFields, type Flips, frame, type Raw, toBytes } from './wire.ts';

/** Options of {@link connectChatPeer}. */
export interface ChatPeerOptions extends ScriptedReceiverOptions {
  /** The name in HELLO; `mallory` by default. */
  readonly name?: string;
  /** Flips applied to HELLO (see {@link Flips}). */
  readonly hello?: Flips;
}

/**
 * Connects to a real chat listener on 127.0.0.1:`port` (clear or paired) and sends HELLO asking
 * for the conversation; what comes back (WELCOME, or ERROR) is left for the test to read.
 */
export async function connectChatPeer(
  port: number,
  options: ChatPeerOptions = {},
): Promise<ScriptedReceiver> {
  const peer = await connectScriptedReceiver(port, options);
  const hello: Hello = {
    software: 'hostile-joiner/0.1.0',
    name: options.name ?? 'mallory',
    features: [CHAT_FEATURE],
  };
  await peer.send(FrameType.HELLO, hello, options.hello ?? {});
  return peer;
}

/** {@link connectChatPeer}, then its WELCOME: a joiner in the conversation, ready to misbehave. */
export async function joinChatByHand(
  port: number,
  options: ChatPeerOptions = {},
): Promise<{ peer: ScriptedReceiver; welcome: Welcome }> {
  const peer = await connectChatPeer(port, options);
  const welcome = await peer.expect(FrameType.WELCOME);
  return { peer, welcome };
}

/** A TX_DATA frame: the u32 offer id, then `bytes` (a header field may be flipped). */
export function txDataFrame(offer: number, bytes: Raw, fields: FrameFields = {}): Buffer {
  const tag = Buffer.alloc(4);
  tag.writeUInt32BE(offer);
  return frame(FrameType.TX_DATA, Buffer.concat([tag, toBytes(bytes)]), fields);
}

/** A scripted listener: the scripted sender, whose script starts after the real joiner's HELLO. */
export interface ScriptedListener extends ScriptedSender {
  /** The joiner's HELLO, once it came. */
  hello(): Promise<Hello>;
}

/**
 * Listens on 127.0.0.1:0 and plays the chat listener for the first connection: handshake, the
 * joiner's HELLO, then WELCOME (`welcome` fields, or raw bytes with `flips`), then `script`.
 */
export async function startScriptedListener(
  script: (peer: HostilePeer, hello: Hello) => Promise<void>,
  options: ScriptedSenderOptions & { welcome?: Partial<Welcome>; flips?: Flips } = {},
): Promise<ScriptedListener> {
  let resolveHello!: (hello: Hello) => void;
  const hello = new Promise<Hello>((resolve) => {
    resolveHello = resolve;
  });
  const sender = await startScriptedSender(async (peer) => {
    const greeting = await peer.expect(FrameType.HELLO);
    resolveHello(greeting);
    const welcome: Welcome = {
      session: '0123456789abcdef0123456789abcdef',
      sender: { name: 'host', host: 'scripted' },
      you: 1,
      name: greeting.name,
      peers: [],
      ...options.welcome,
    };
    await peer.send(FrameType.WELCOME, welcome, options.flips ?? {});
    await script(peer, greeting);
  }, options);
  return Object.assign(sender, { hello: () => hello });
}
