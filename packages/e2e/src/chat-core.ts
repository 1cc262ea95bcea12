/**
 * Conversations in-process, on loopback: the listener's room served by the real sender core,
 * and joiners made by the real receiver core, each with a log of its conversation's events.
 * Everything started here is stopped after the test.
 */
import {
  ChatRoom,
  type Conversation,
  type ConversationEvents,
  type RoomOptions,
  scanOffer,
} from '@ferry/engine';
import { normalizeCode, PairingCodes } from '@ferry/protocol';
import {
  derivePasswordScalar,
  loadOrCreateIdentity,
  shortFingerprint,
  TrustStore,
} from '@ferry/protocol/node';
import { createJoiner, type JoinerOptions } from '@ferry/receiver';
import { createSender, type SenderEvents, type SenderOptions } from '@ferry/sender';
import { makeTempDir } from '@ferry/testkit/files';
import { EventLog, onCleanup, silentLogger, within } from '@ferry/testkit/unit';

/** Every event of a conversation, for an {@link EventLog} that records them all. */
export const CONVERSATION_EVENTS: readonly (keyof ConversationEvents)[] = [
  'ready',
  'joined',
  'left',
  'message',
  'said',
  'offer',
  'report',
  'declined',
  'transfer-start',
  'progress',
  'file-saved',
  'file-failed',
  'file-sent',
  'transfer-done',
  'transfer-resumed',
  'file-restarted',
  'reconnecting',
  'reconnected',
  'partial-kept',
  'ended',
];

/** Options of {@link startRoom}: the room's, and the sender core's that serves it. */
export interface StartRoomOptions {
  readonly room?: Partial<Omit<RoomOptions, 'logger'>>;
  readonly sender?: Partial<Omit<SenderOptions, 'chat' | 'offer' | 'logger'>>;
}

/** A listener (`alice`) in clear on 127.0.0.1, its room open. */
export async function startRoom(options: StartRoomOptions = {}) {
  const room = new ChatRoom({
    name: 'alice',
    host: 'test-host',
    session: '0'.repeat(32),
    key: '',
    logger: silentLogger,
    ...options.room,
  });
  const log = new EventLog<ConversationEvents>(room, CONVERSATION_EVENTS);
  const sender = createSender({
    security: { encryption: false },
    offer: await scanOffer([]),
    host: '127.0.0.1',
    port: 0,
    name: 'alice',
    logger: silentLogger,
    chat: room,
    ...options.sender,
  });
  const senderLog = new EventLog<SenderEvents>(sender, [
    'listening',
    'code',
    'session-failed',
    'refused',
  ]);
  onCleanup('chat listener', async () => {
    await within(room.quit(), 'the room to close').catch(() => {});
    await sender.close(true);
  });
  await within(sender.listen(), 'listen()');
  const { port } = await senderLog.waitFor('listening');
  room.open();
  return { room, sender, log, senderLog, port };
}

/** Options of {@link startPairedRoom}. */
export interface PairedRoomOptions {
  /** How long a lost joiner's transfers wait for it to come back (the room's `stashMs`). */
  readonly stashMs?: number | undefined;
  /** The listener's config folder, to start the same key again; a new one by default. */
  readonly config?: string | undefined;
}

/**
 * An encrypted listener (alice) whose joiners pair with the code it shows now: `nextCode()` is
 * that code (each pairs once), and `pairedJoin` joins with it under a key of its own.
 */
export async function startPairedRoom(options: PairedRoomOptions = {}) {
  const aliceConfig = options.config ?? (await makeTempDir('alice-config'));
  const aliceIdentity = await loadOrCreateIdentity(aliceConfig);
  const started = await startRoom({
    room: { key: shortFingerprint(aliceIdentity.fingerprint), stashMs: options.stashMs },
    sender: {
      security: {
        encryption: true,
        identity: aliceIdentity,
        trust: await TrustStore.open(aliceConfig, 'receiver'),
        pairing: new PairingCodes(derivePasswordScalar),
        remember: false,
      },
    },
  });
  let codes = 0;
  const nextCode = async () =>
    normalizeCode((await started.senderLog.waitFor('code', codes++)).code)!;
  let joiners = 0;
  /**
   * Joins as `name` with a new key, pairing with the code shown now: at the room, or at `port`
   * (a relay in front of it), with `options` for the joiner.
   */
  const pairedJoin = async (
    name: string,
    { port = started.port, ...options }: Partial<JoinerOptions> & { port?: number } = {},
  ) => {
    const config = await makeTempDir(`joiner-${joiners++}-config`);
    const identity = await loadOrCreateIdentity(config);
    const joined = await join(port, name, {
      security: {
        encryption: true,
        identity,
        trust: await TrustStore.open(config, 'sender'),
        code: await nextCode(),
        remember: false,
      },
      ...options,
    });
    return { ...joined, identity };
  };
  return { ...started, aliceIdentity, aliceConfig, nextCode, pairedJoin };
}

/** A joiner of the conversation at 127.0.0.1:`port`, in clear unless told otherwise. */
export async function join(port: number, name: string, options: Partial<JoinerOptions> = {}) {
  const joiner = createJoiner({
    security: { encryption: false },
    host: '127.0.0.1',
    port,
    name,
    logger: silentLogger,
    ...options,
  });
  const conversation = await within(joiner.join(), `${name} to join`);
  const log = new EventLog<ConversationEvents>(conversation, CONVERSATION_EVENTS);
  onCleanup(`joiner ${name}`, () => within(conversation.quit(), `${name} to quit`).catch(() => {}));
  return { conversation, log };
}

/** Accepts every offer `conversation` gets into `dir`, as `--out DIR --yes` does. */
export function acceptAll(conversation: Conversation, dir: string): void {
  conversation.on('offer', (offer) => {
    conversation.accept(offer.number, dir).catch(() => {});
  });
}
