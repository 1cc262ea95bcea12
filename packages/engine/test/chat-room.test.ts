/**
 * The listener's room (PROTOCOL.md §12) admitting joiners over real loopback sockets: what it
 * decides for a joiner (its name, its place) holds against joiners admitted at the same time,
 * and a joiner hears everything said from the moment it is welcomed. Each side tells its own
 * front-ends what it said (`said`), once per message.
 */
import { CHAT_FEATURE, FrameType, type Hello } from '@ferry/protocol';
import { Connection } from '@ferry/protocol/node';
import { onCleanup, runCleanup, silentLogger, socketPair, within } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationEvents } from '../src/chat/conversation.ts';
import { JoinedConversation } from '../src/chat/joined.ts';
import { ChatRoom, type LeftHow } from '../src/chat/room.ts';

afterEach(runCleanup);

function startRoom(maxPeers?: number): ChatRoom {
  const room = new ChatRoom({
    name: 'alice',
    host: 'test-host',
    session: '0'.repeat(32),
    key: '',
    logger: silentLogger,
    ...(maxPeers === undefined ? {} : { maxPeers }),
  });
  onCleanup('room', () => within(room.quit(), 'the room to close'));
  room.open();
  return room;
}

function hello(name: string): Hello {
  return { software: 'test', name, features: [CHAT_FEATURE] };
}

/**
 * A joiner's connection whose socket is slow to drain: the WELCOME written to it resolves only
 * once `drained()` is called, as when its socket buffer is full.
 */
interface SlowJoiner {
  /** The listener's end, to admit. */
  readonly connection: Connection;
  /** The joiner's end. */
  readonly joiner: Connection;
  drained(): void;
}

async function slowJoiner(): Promise<SlowJoiner> {
  const [accepted, client] = await socketPair();
  const connection = new Connection(accepted, { preambleDone: true });
  let drained!: () => void;
  const drain = new Promise<void>((resolve) => {
    drained = resolve;
  });
  const send = connection.send.bind(connection);
  connection.send = ((type, message) => {
    const sent = send(type, message);
    return type === FrameType.WELCOME ? sent.then(() => drain) : sent;
  }) as Connection['send'];
  onCleanup('slow joiner', async () => drained());
  return { connection, joiner: new Connection(client, { preambleDone: true }), drained };
}

/** Admits `joiner` in clear as `name`; the admission's end is caught for the caller to await. */
function admit(room: ChatRoom, joiner: SlowJoiner, name: string): Promise<LeftHow> {
  const left = room.admit(joiner.connection, hello(name), {
    address: '127.0.0.1:1',
    key: '',
    keyHex: '',
    resume: false,
  });
  left.catch(() => {});
  return left;
}

describe('chat room admitting joiners', () => {
  it('gives two joiners with the same name admitted at once different names', async () => {
    const room = startRoom();
    const first = await slowJoiner();
    const second = await slowJoiner();
    void admit(room, first, 'bob');
    void admit(room, second, 'bob');
    const welcomes = await within(
      Promise.all([
        first.joiner.expect(FrameType.WELCOME),
        second.joiner.expect(FrameType.WELCOME),
      ]),
      'both WELCOMEs',
    );
    expect(welcomes.map((welcome) => welcome.name)).toEqual(['bob', 'bob-2']);
    expect(welcomes[1]?.peers).toEqual([{ peer: welcomes[0]?.you, name: 'bob', key: '' }]);
    expect(room.peers().map((peer) => peer.name)).toEqual(['bob', 'bob-2']);
  });

  it('refuses a joiner past maxPeers with ERR_LIMIT_EXCEEDED when both arrive at once', async () => {
    const room = startRoom(1);
    const first = await slowJoiner();
    const second = await slowJoiner();
    void admit(room, first, 'bob');
    await expect(within(admit(room, second, 'carol'), 'carol refused')).rejects.toMatchObject({
      code: 'ERR_LIMIT_EXCEEDED',
    });
    expect(room.peers().map((peer) => peer.name)).toEqual(['bob']);
  });

  it('a joiner hears what is said right after its WELCOME is written, before the socket drains', async () => {
    const room = startRoom();
    const bob = await slowJoiner();
    void admit(room, bob, 'bob');
    room.say('hello bob');
    expect(await within(bob.joiner.expect(FrameType.WELCOME), 'WELCOME')).toMatchObject({
      name: 'bob',
    });
    expect(await within(bob.joiner.expect(FrameType.SAY), 'SAY')).toEqual({ text: 'hello bob' });
  });
});

/** The room and a real joiner (`bob`) on loopback, each recording its `said` and `message`. */
async function roomWithJoiner() {
  const room = startRoom();
  const [accepted, client] = await socketPair();
  const joinerEnd = new Connection(client, { preambleDone: true });
  const left = room.admit(new Connection(accepted, { preambleDone: true }), hello('bob'), {
    address: '127.0.0.1:1',
    key: '',
    keyHex: '',
    resume: false,
  });
  left.catch(() => {});
  const welcome = await within(joinerEnd.expect(FrameType.WELCOME), 'WELCOME');
  const bob = new JoinedConversation({
    connection: joinerEnd,
    welcome,
    listener: { address: '127.0.0.1:1', key: '' },
    key: '',
    logger: silentLogger,
  });
  const running = bob.run();
  onCleanup('joiner', async () => {
    await bob.quit();
    await within(running, 'the joiner to leave');
  });
  const heard = (conversation: ChatRoom | JoinedConversation) => {
    const said: ConversationEvents['said'][] = [];
    const messages: ConversationEvents['message'][] = [];
    conversation.on('said', (event) => said.push(event));
    conversation.on('message', (event) => messages.push(event));
    /** Resolves at the next `message` whose text is `text`. */
    const message = (text: string) =>
      within(
        new Promise<void>((resolve) => {
          const off = conversation.on('message', (event) => {
            if (event.text !== text) return;
            off();
            resolve();
          });
        }),
        `the message ${text}`,
      );
    return { said, messages, message };
  };
  return { room, bob, alice: heard(room), joiner: heard(bob), you: welcome.you };
}

describe('said: what this side said, for every front-end', () => {
  it('the listener emits said once per say, synchronously, with its own number and name', async () => {
    const { room, alice, joiner } = await roomWithJoiner();
    const arrived = joiner.message('two');
    room.say('one');
    expect(alice.said).toEqual([{ peer: 0, name: 'alice', text: 'one' }]);
    room.say('two');
    await arrived;
    expect(alice.said.map((event) => event.text)).toEqual(['one', 'two']);
    expect(alice.messages).toEqual([]);
    expect(joiner.said).toEqual([]);
    expect(joiner.messages.map((event) => event.text)).toEqual(['one', 'two']);
  });

  it('a joiner emits said once per say, with its own number and name; the listener hears it as a message', async () => {
    const { room, bob, alice, joiner, you } = await roomWithJoiner();
    const arrived = alice.message('later');
    bob.say('hello');
    expect(joiner.said).toEqual([{ peer: you, name: 'bob', text: 'hello' }]);
    bob.say('later');
    await arrived;
    expect(joiner.said.map((event) => event.text)).toEqual(['hello', 'later']);
    expect(joiner.messages).toEqual([]);
    expect(alice.said).toEqual([]);
    expect(alice.messages).toEqual([
      { peer: you, name: 'bob', text: 'hello' },
      { peer: you, name: 'bob', text: 'later' },
    ]);
    expect(room.peers().map((peer) => peer.peer)).toEqual([you]);
  });

  it('a say refused (text that may not travel, or after the end) emits no said', async () => {
    const { room, bob, alice, joiner } = await roomWithJoiner();
    expect(() => room.say('bad\u0007')).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_MESSAGE' }),
    );
    expect(() => bob.say('')).toThrow(expect.objectContaining({ code: 'ERR_BAD_MESSAGE' }));
    await bob.quit();
    expect(() => bob.say('too late')).toThrow();
    await room.quit();
    expect(() => room.say('too late')).toThrow();
    expect(alice.said).toEqual([]);
    expect(joiner.said).toEqual([]);
  });
});
