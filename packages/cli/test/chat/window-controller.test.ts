import { ErrorCode, FerryError } from '@ferry/protocol';
import { WindowActionError } from '@ferry/window';
import { describe, expect, it } from 'vitest';
import { ChatWindowController } from '../../src/chat/window-controller.ts';
import { FakeConversation, incoming, peer } from './fake-conversation.ts';
import { FakeWindow } from './fake-window.ts';

function setUp(role: 'listener' | 'joiner' = 'listener') {
  const window = new FakeWindow();
  let clock = 1_000;
  const controller = new ChatWindowController(window, {
    role,
    clock: () => 1_700_000_000_000,
    now: () => clock,
  });
  const conversation = new FakeConversation(
    role === 'listener' ? {} : { peer: 1, name: 'bob', address: '' },
  );
  conversation.others = role === 'listener' ? [peer(1, 'bob')] : [peer(0, 'alice')];
  let quits = 0;
  const attach = () =>
    controller.attach(conversation, () => {
      quits++;
      void conversation.quit();
    });
  return {
    window,
    controller,
    conversation,
    attach,
    quits: () => quits,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('the chat window controller', () => {
  it('registers say, send, accept, decline, code and quit, and shows connecting until attached', async () => {
    const { window } = setUp('joiner');
    expect(window.actionNames().sort()).toEqual(
      ['accept', 'code', 'decline', 'quit', 'say', 'send'].sort(),
    );
    expect(window.chat).toMatchObject({
      role: 'joiner',
      phase: 'connecting',
      self: null,
      peers: [],
    });
    expect(window.slices.get('messages')).toEqual([]);
    expect(window.slices.get('offers')).toEqual([]);
    expect(window.slices.get('transfers')).toEqual([]);
    await expect(window.call('say', { text: 'hi' })).rejects.toMatchObject({
      code: 'ERR_NOT_READY',
      status: 409,
    });
  });

  it('shows who is there with their key and address, and who joins and leaves', () => {
    const { window, attach, conversation } = setUp();
    attach();
    expect(window.chat.phase).toBe('live');
    expect(window.chat.self).toMatchObject({ peer: 0, name: 'alice', key: '558E F330 5F2B D3DE' });
    expect(window.chat.peers).toEqual([
      {
        peer: 1,
        name: 'bob',
        key: 'A1B2 C3D4 E5F6 0718',
        address: '192.168.1.5:50311',
        transfers: 0,
      },
    ]);
    const carol = peer(2, 'carol');
    conversation.others.push(carol);
    conversation.emit('joined', carol);
    expect(window.chat.peers.map((p) => p.name)).toEqual(['bob', 'carol']);
    conversation.others = [peer(1, 'bob')];
    conversation.emit('left', { peer: 2, name: 'carol', reason: 'lost' });
    expect(window.chat.peers.map((p) => p.name)).toEqual(['bob']);
    expect(window.notes).toEqual(['[carol] joined.', '[carol] left: the connection was lost.']);
  });

  it('messages both ways: a peer message, and say adds this side own message', async () => {
    const { window, attach, conversation } = setUp();
    attach();
    conversation.emit('message', { peer: 1, name: 'bob', text: 'hello <b>alice</b>' });
    await window.call('say', { text: 'hi bob' });
    expect(conversation.calls).toEqual([['say', 'hi bob']]);
    expect(window.messages).toEqual([
      {
        kind: 'message',
        id: 1,
        at: 1_700_000_000_000,
        peer: 1,
        name: 'bob',
        text: 'hello <b>alice</b>',
        own: false,
      },
      {
        kind: 'message',
        id: 2,
        at: 1_700_000_000_000,
        peer: 0,
        name: 'alice',
        text: 'hi bob',
        own: true,
      },
    ]);
  });

  it("a message said in the window shows once, from the conversation's said event", async () => {
    const { window, attach, conversation } = setUp('joiner');
    attach();
    const said: string[] = [];
    conversation.on('said', ({ text }) => said.push(text));
    await window.call('say', { text: 'from the window' });
    expect(said).toEqual(['from the window']);
    expect(window.messages).toEqual([
      {
        kind: 'message',
        id: 1,
        at: 1_700_000_000_000,
        peer: 1,
        name: 'bob',
        text: 'from the window',
        own: true,
      },
    ]);
  });

  it("a message said at the terminal (another front-end) shows once, as this side's own", () => {
    const { window, attach, conversation } = setUp();
    attach();
    // runChat calls the same conversation: the window hears of it only through `said`.
    conversation.say('typed at the terminal');
    conversation.emit('message', { peer: 1, name: 'bob', text: 'seen' });
    conversation.say('typed again');
    expect(
      window.messages.map((entry) =>
        entry.kind === 'message' ? [entry.name, entry.text, entry.own] : entry.kind,
      ),
    ).toEqual([
      ['alice', 'typed at the terminal', true],
      ['bob', 'seen', false],
      ['alice', 'typed again', true],
    ]);
  });

  it('a message said after detach is not shown', () => {
    const { window, attach, conversation } = setUp();
    const detach = attach();
    detach();
    conversation.say('gone');
    expect(window.messages).toEqual([]);
  });

  it('say refused by the conversation answers with plain words and adds nothing', async () => {
    const { window, attach, conversation } = setUp();
    attach();
    conversation.refuseSay = new FerryError(
      'ERR_BAD_MESSAGE',
      'that message is too long: change it and send it again',
    );
    const refused = await window.call('say', { text: 'x' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WindowActionError);
    expect(refused).toMatchObject({ code: 'ERR_BAD_MESSAGE', status: 400 });
    expect((refused as Error).message).toMatch(/^Not sent: that message is too long/);
    expect(window.messages).toEqual([]);
  });

  it('keeps the last 500 entries', () => {
    const { window, attach, conversation } = setUp();
    attach();
    for (let i = 0; i < 510; i++)
      conversation.emit('message', { peer: 1, name: 'bob', text: `m${i}` });
    expect(window.messages).toHaveLength(500);
    expect(window.messages[0]).toMatchObject({ text: 'm10', id: 11 });
  });

  it('an offer waits in offers; accept goes to the conversation with the folder picked, then it runs with progress', async () => {
    const { window, attach, conversation, advance } = setUp();
    attach();
    conversation.offer(
      incoming(1, 'bob', [
        ['a.txt', 1000],
        ['b.txt', 3000],
      ]),
    );
    expect(window.slices.get('offers')).toEqual([
      {
        offer: 1,
        peer: 1,
        from: 'bob',
        files: 2,
        bytes: 4000,
        items: [
          { name: 'a.txt', kind: 'file', files: 1, bytes: 1000 },
          { name: 'b.txt', kind: 'file', files: 1, bytes: 3000 },
        ],
        hidden: [],
        renamed: [],
      },
    ]);
    await window.call('accept', { offer: 1, out: '/home/alice/In' });
    expect(conversation.calls).toEqual([['accept', 1, '/home/alice/In']]);
    expect(window.slices.get('offers')).toEqual([]);

    conversation.emit('transfer-start', {
      number: 1,
      direction: 'in',
      peer: 1,
      name: 'bob',
      files: 2,
      bytes: 4000,
      outDir: '/home/alice/In',
    });
    advance(1000);
    conversation.emit('progress', { number: 1, direction: 'in', bytes: 1000 });
    conversation.emit('file-saved', {
      number: 1,
      peer: 1,
      path: '/home/alice/In/a.txt',
      offered: 'a.txt',
      size: 1000,
      sha256: 'a'.repeat(64),
    });
    expect(window.transfers).toEqual([
      expect.objectContaining({
        offer: 1,
        direction: 'in',
        state: 'running',
        done: 1000,
        bytes: 4000,
        saved: 1,
        rate: 1000,
        eta: 3,
        out: '/home/alice/In',
      }),
    ]);
    conversation.emit('progress', { number: 1, direction: 'in', bytes: 3000 });
    conversation.emit('transfer-done', {
      number: 1,
      direction: 'in',
      peer: 1,
      name: 'bob',
      saved: 2,
      failed: 0,
      bytes: 4000,
      ms: 2000,
    });
    expect(window.transfers).toEqual([
      expect.objectContaining({
        state: 'done',
        done: 4000,
        saved: 2,
        failed: 0,
        rate: 2000,
        eta: null,
      }),
    ]);
    expect(window.notes.at(-1)).toBe('#1 received: 2 files from [bob].');
  });

  it('accept that the folder cannot take answers with what to do, and the offer still waits', async () => {
    const { window, attach, conversation } = setUp();
    attach();
    conversation.offer(incoming(1, 'bob', [['a.txt', 10]]));
    conversation.accept = async () => {
      throw new FerryError(ErrorCode.WRITE_FAILED, 'the folder /x is not writable');
    };
    await expect(window.call('accept', { offer: 1, out: '/x' })).rejects.toMatchObject({
      code: 'ERR_WRITE_FAILED',
      message:
        'Could not accept #1: the folder /x is not writable. Pick another folder, or decline the offer.',
    });
    expect(window.slices.get('offers')).toHaveLength(1);
    await expect(window.call('accept', { offer: 7, out: '/x' })).rejects.toMatchObject({
      code: 'ERR_NO_OFFER',
      status: 409,
    });
    await expect(window.call('accept', { offer: 1, out: 'In' })).rejects.toMatchObject({
      code: 'ERR_BAD_REQUEST',
      status: 400,
      message: 'Not a full path: In. Pick the folder with the folder browser.',
    });
    await expect(
      window.call('send', { peer: 1, paths: ['/home/alice/a.txt', 'a.txt'] }),
    ).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST', status: 400 });
    expect(conversation.calls.filter(([name]) => name === 'send')).toEqual([]);
  });

  it('decline: the offer goes, and a note says so; a declined offer of this side shows as declined', async () => {
    const { window, attach, conversation } = setUp();
    attach();
    conversation.offer(incoming(1, 'bob', [['a.txt', 10]]));
    await window.call('decline', { offer: 1 });
    expect(conversation.calls).toEqual([['decline', 1]]);
    expect(window.slices.get('offers')).toEqual([]);
    expect(window.notes.at(-1)).toBe('You declined #1 from [bob].');

    expect(await window.call('send', { peer: 1, paths: ['/home/alice/a.txt'] })).toEqual({
      offers: [1],
    });
    expect(conversation.calls.at(-1)).toEqual(['send', ['/home/alice/a.txt'], 1]);
    expect(window.transfers).toEqual([
      expect.objectContaining({
        offer: 1,
        direction: 'out',
        peer: 1,
        name: 'bob',
        state: 'offered',
      }),
    ]);
    conversation.emit('declined', { number: 1, peer: 1, name: 'bob', code: 'ERR_DECLINED' });
    expect(window.transfers).toEqual([
      expect.objectContaining({ state: 'declined', code: 'ERR_DECLINED' }),
    ]);
    expect(window.notes.at(-1)).toBe('[bob] declined #1.');
  });

  it('send to someone not there, or from a joiner to another joiner, is refused with what to do', async () => {
    const listener = setUp();
    listener.attach();
    await expect(listener.window.call('send', { peer: 9, paths: ['/a'] })).rejects.toMatchObject({
      code: 'ERR_NO_PEER',
    });
    const joiner = setUp('joiner');
    joiner.conversation.others.push(peer(2, 'carol'));
    joiner.attach();
    await expect(joiner.window.call('send', { peer: 2, paths: ['/a'] })).rejects.toMatchObject({
      code: 'ERR_NOT_LISTENER',
      message: 'Files go to alice, who holds the conversation. Select them and send again.',
    });
    expect(await joiner.window.call('send', { peer: 0, paths: ['/a'] })).toEqual({ offers: [1] });
  });

  it('reconnecting and reconnected (§13.11), a suspended transfer, a resumed one and partial data kept', () => {
    const { window, attach, conversation } = setUp('joiner');
    attach();
    conversation.emit('transfer-start', {
      number: 1,
      direction: 'in',
      peer: 0,
      name: 'alice',
      files: 1,
      bytes: 100,
      outDir: '/in',
    });
    conversation.emit('reconnecting', { by: 'alice', seconds: 30 });
    conversation.emit('transfer-done', {
      number: 1,
      direction: 'in',
      peer: 0,
      name: 'alice',
      saved: 0,
      failed: 0,
      bytes: 40,
      ms: 10,
      suspended: true,
    });
    expect(window.chat).toMatchObject({
      phase: 'reconnecting',
      reconnecting: { by: 'alice', seconds: 30 },
    });
    expect(window.transfers[0]).toMatchObject({ state: 'suspended' });
    conversation.emit('reconnected', {
      by: 'alice',
      self: peer(3, 'bob'),
      peers: [peer(0, 'alice')],
    });
    expect(window.chat).toMatchObject({ phase: 'live', reconnecting: null, self: { peer: 3 } });
    conversation.emit('transfer-resumed', {
      number: 2,
      previous: 1,
      direction: 'in',
      peer: 0,
      name: 'alice',
      files: 1,
      bytes: 60,
      heldBytes: 40,
    });
    conversation.emit('transfer-start', {
      number: 2,
      direction: 'in',
      peer: 0,
      name: 'alice',
      files: 1,
      bytes: 60,
      outDir: '/in',
    });
    expect(window.transfers[1]).toMatchObject({
      offer: 2,
      previous: 1,
      state: 'running',
      bytes: 60,
    });
    conversation.emit('partial-kept', {
      number: 2,
      peer: 0,
      name: 'alice',
      outDir: '/in',
      dir: '/in/.ferry-partial',
    });
    expect(window.notes).toEqual([
      'The connection to [alice] was lost: reconnecting for up to 30 s.',
      '#1 is waiting for the connection to come back from [alice].',
      'Reconnected to [alice].',
      '#2 continues #1 with [alice]: 40 B already there.',
      'What arrived of #2 is kept in [/in/.ferry-partial]: accept the same files from [alice] into [/in] to resume.',
    ]);
  });

  it('quit leaves through the quit given (the terminal leaves the same way); ended shows why', async () => {
    const { window, attach, quits, conversation } = setUp('joiner');
    attach();
    conversation.offer(incoming(1, 'alice', [['a.txt', 10]], 0));
    await window.call('quit', {});
    expect(quits()).toBe(1);
    expect(window.chat).toMatchObject({ phase: 'ended', ended: { reason: 'quit' } });
    expect(window.slices.get('offers')).toEqual([]);
    expect(window.notes.at(-1)).toBe('You left the conversation.');
  });

  it('a joiner asked for the pairing code: the code action answers it; a malformed one is refused', async () => {
    const { window, controller } = setUp('joiner');
    await expect(window.call('code', { code: '1234-5678' })).rejects.toMatchObject({
      code: 'ERR_NOT_ASKED',
    });
    const asked = controller.askCode();
    expect(window.chat.phase).toBe('code');
    await expect(window.call('code', { code: '12' })).rejects.toMatchObject({
      code: 'ERR_BAD_CODE',
      status: 400,
    });
    await window.call('code', { code: ' 1234 5678 ' });
    expect(await asked).toBe('12345678');
    expect(window.chat.phase).toBe('connecting');
    const aborted = new AbortController();
    const again = controller.askCode(aborted.signal);
    aborted.abort();
    expect(await again).toBeNull();
  });

  it('the listener shows its addresses, key and the current pairing code', () => {
    const { window, controller } = setUp();
    controller.listening({
      port: 7878,
      addresses: [{ address: '192.168.1.20', interface: 'eth0' }],
      encryption: true,
      fingerprint: '558E F330 5F2B D3DE',
    });
    controller.code('1234-5678');
    expect(window.chat.host).toEqual({
      port: 7878,
      addresses: [{ address: '192.168.1.20', iface: 'eth0' }],
      code: '1234-5678',
      fingerprint: '558E F330 5F2B D3DE',
    });
  });

  it('W5: peer names, messages and file names stay data: parts marked as peer text, never joined into Ferry words', () => {
    const { window, attach, conversation } = setUp();
    attach();
    const hostile = '<img src=x onerror=alert(1)>\u202Egnp.exe';
    conversation.emit('joined', peer(2, hostile));
    conversation.emit('message', { peer: 2, name: hostile, text: hostile });
    const file = '<img src=x onerror=alert(1)>.txt';
    conversation.offer(incoming(1, hostile, [[file, 1]], 2));
    const note = window.messages.find((entry) => entry.kind === 'note');
    expect(note).toMatchObject({
      parts: [
        { text: hostile, peer: true },
        { text: ' joined.', peer: false },
      ],
    });
    for (const entry of window.messages) {
      if (entry.kind === 'note')
        for (const part of entry.parts) if (!part.peer) expect(part.text).not.toContain('<img');
    }
    expect(window.slices.get('offers')).toEqual([
      expect.objectContaining({ from: hostile, items: [expect.objectContaining({ name: file })] }),
    ]);
  });
});
