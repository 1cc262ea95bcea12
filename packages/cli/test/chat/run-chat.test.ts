import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { FakeOutput, within } from '@ferry/testkit/unit';
import { FerryError } from '@ferry/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChatOptions, runChat } from '../../src/chat/run-chat.ts';
import { ChatWindowController } from '../../src/chat/window-controller.ts';
import { EXIT } from '../../src/exit.ts';
import { CHAT_JSON_EVENTS, jsonEventProblem } from '../../src/json-events.ts';
import { FakeConversation, incoming, peer } from './fake-conversation.ts';
import { FakeWindow } from './fake-window.ts';

const temps: string[] = [];
afterEach(async () => {
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** runChat on a fake conversation, with stdin a pipe the test writes to. */
function start(options: Partial<ChatOptions> = {}, conversation = new FakeConversation()) {
  const stdin = new PassThrough();
  const stdout = new FakeOutput(false);
  const stderr = new FakeOutput(false);
  const controller = new AbortController();
  conversation.others = [peer(1, 'bob'), peer(2, 'carol')];
  const exit = runChat(conversation, {
    io: { stdin, stdout, stderr, env: {} },
    role: 'listener',
    json: false,
    yes: false,
    home: os.tmpdir(),
    defaultFolder: path.join(os.tmpdir(), 'ferry-test-no-default-folder'),
    signal: controller.signal,
    ...options,
  });
  const typed = (line: string) => stdin.write(`${line}\n`);
  /** Waits until the fake recorded `count` calls. */
  const calls = async (count: number) => {
    while (conversation.calls.length < count)
      await within(nextCall(conversation), `call ${count}`, () => stdout.text);
    return conversation.calls;
  };
  return { conversation, stdin, stdout, controller, exit, typed, calls };
}

/** Resolves at the fake's next recorded call. */
function nextCall(conversation: FakeConversation): Promise<void> {
  const before = conversation.calls.length;
  const push = conversation.calls.push.bind(conversation.calls);
  return new Promise((resolve) => {
    conversation.calls.push = (...items) => {
      const length = push(...items);
      if (length > before) {
        conversation.calls.push = push;
        resolve();
      }
      return length;
    };
  });
}

/** Every line printed, each checked against CHAT_JSON_EVENTS, as objects. */
function events(stdout: FakeOutput): Record<string, unknown>[] {
  return stdout.lines.map((line) => {
    expect(jsonEventProblem(CHAT_JSON_EVENTS, line)).toBeUndefined();
    return JSON.parse(line) as Record<string, unknown>;
  });
}

/** A window (`--ui`) beside the terminal: the real controller on a fake window. */
function withWindow(role: 'listener' | 'joiner' = 'listener') {
  const window = new FakeWindow();
  const controller = new ChatWindowController(window, { role, clock: () => 0, now: () => 0 });
  /** This side's messages the window shows, in order. */
  const own = () =>
    window.messages.flatMap((entry) => (entry.kind === 'message' && entry.own ? [entry.text] : []));
  return { window, controller, own };
}

describe('runChat with --json', () => {
  it('turns JSON command lines into calls, and quits at the end of stdin with 0', async () => {
    const { stdin, stdout, exit, calls } = start({ json: true });
    stdin.write(
      '{"cmd":"say","text":"hi all"}\n{"cmd":"send","paths":["/tmp/a.txt"],"to":"bob"}\n',
    );
    stdin.write('{"cmd":"send","paths":["/tmp/b"],"to":2}\n{"cmd":"peers"}\n');
    await calls(3);
    stdin.end();
    expect(await exit).toBe(EXIT.ok);
    expect((await calls(4)).map(([method]) => method)).toEqual(['say', 'send', 'send', 'quit']);
    const [, first, second] = await calls(4);
    expect(first).toEqual(['send', ['/tmp/a.txt'], 1]);
    expect(second).toEqual(['send', ['/tmp/b'], 2]);
    const printed = events(stdout);
    expect(printed[0]).toMatchObject({
      event: 'chat-ready',
      peer: 0,
      name: 'alice',
      peers: [{ name: 'bob' }, { name: 'carol' }],
    });
    expect(printed.find((e) => e.event === 'peers')).toMatchObject({
      peers: [
        { peer: 1, name: 'bob' },
        { peer: 2, name: 'carol' },
      ],
    });
    expect(printed.at(-1)).toMatchObject({ event: 'ended', reason: 'quit' });
  });

  it('emits said for every message this side said: a say command, and one said in the window', async () => {
    const { window, controller } = withWindow();
    const { stdin, stdout, exit, calls } = start({ json: true, window: controller });
    stdin.write('{"cmd":"say","text":"from the script"}\n');
    await calls(1);
    await window.call('say', { text: 'from the window\x1b[31m' });
    stdin.write('{"cmd":"quit"}\n');
    expect(await exit).toBe(EXIT.ok);
    expect(events(stdout).filter((e) => e.event === 'said')).toEqual([
      { event: 'said', from: 'alice', peer: 0, text: 'from the script' },
      { event: 'said', from: 'alice', peer: 0, text: 'from the window\x1b[31m' },
    ]);
    // The text goes out as it was said; the JSON line itself holds no raw escape character.
    expect(stdout.text).not.toContain('\x1b');
  });

  it('answers a bad command line with an error event and goes on', async () => {
    const { stdin, stdout, exit, calls } = start({ json: true });
    stdin.write(
      'not json\n{"cmd":"dance"}\n{"cmd":"send","paths":["a"],"to":"nobody"}\n{"cmd":"accept","offer":4}\n{"cmd":"say","text":"still here"}\n',
    );
    expect(await calls(1)).toEqual([['say', 'still here']]);
    stdin.end('{"cmd":"quit"}\n');
    expect(await exit).toBe(EXIT.ok);
    const errors = events(stdout).filter((e) => e.event === 'error');
    expect(errors).toHaveLength(4);
    for (const error of errors) expect(error.code).toBe('ERR_BAD_COMMAND');
  });

  it('prints every conversation event as a JSON line the schemas accept', async () => {
    const { conversation, stdin, stdout, exit } = start({ json: true });
    const c = conversation;
    c.emit('joined', peer(3, 'dave'));
    c.emit('message', { peer: 3, name: 'dave', text: 'hi\x1b[31m' });
    c.offer(incoming(1, 'dave', [['a.txt', 10]], 3));
    c.emit('declined', { number: 1, peer: 3, name: 'dave', code: 'ERR_DECLINED' });
    c.emit('transfer-start', {
      number: 1,
      direction: 'in',
      peer: 3,
      name: 'dave',
      files: 1,
      bytes: 10,
      outDir: '/tmp/in',
    });
    c.emit('progress', { number: 1, direction: 'in', bytes: 4 });
    c.emit('file-saved', {
      number: 1,
      peer: 3,
      path: '/tmp/in/a.txt',
      offered: 'a.txt',
      size: 10,
      sha256: 'c'.repeat(64),
    });
    c.emit('file-failed', {
      number: 2,
      direction: 'out',
      peer: 3,
      offered: 'b',
      code: 'ERR_READ_FAILED',
      message: 'gone',
    });
    c.emit('file-sent', { number: 2, peer: 3, path: '/tmp/c', size: 1, sha256: 'd'.repeat(64) });
    c.emit('transfer-done', {
      number: 1,
      direction: 'in',
      peer: 3,
      name: 'dave',
      saved: 1,
      failed: 0,
      bytes: 10,
      ms: 3,
    });
    c.emit('left', {
      peer: 3,
      name: 'dave',
      reason: 'cut-off',
      code: 'ERR_LIMIT_EXCEEDED',
      message: 'flood',
    });
    stdin.end();
    await exit;
    const names = events(stdout).map((e) => e.event);
    expect(names).toEqual([
      'chat-ready',
      'joined',
      'message',
      'offer',
      'declined',
      'transfer-start',
      'progress',
      'file-saved',
      'file-failed',
      'file-sent',
      'transfer-done',
      'left',
      'ended',
    ]);
    // Raw escape characters never reach the output, even inside JSON.
    expect(stdout.text).not.toContain('\x1b');
  });
});

describe('runChat', () => {
  it('sends typed lines as messages, and commands as calls', async () => {
    const { stdin, stdout, exit, typed, calls } = start();
    typed('hello');
    typed('//send is a word');
    typed('/send @carol "/tmp/my file.txt"');
    await calls(3);
    typed('/peers');
    typed('/help');
    typed('/dance');
    stdin.end('/quit\n');
    expect(await exit).toBe(EXIT.ok);
    expect(await calls(4)).toEqual([
      ['say', 'hello'],
      ['say', '/send is a word'],
      ['send', ['/tmp/my file.txt'], 2],
      ['quit'],
    ]);
    expect(stdout.text).toContain('Offered to carol as #1; waiting for an answer.');
    expect(stdout.lines).toContainEqual(
      expect.stringMatching(/^ {2}2 +carol +192\.168\.1\.5:50312/),
    );
    expect(stdout.text).toContain('/decline [#N]');
    expect(stdout.text).toContain('unknown command /dance; type /help');
  });

  it("prints a message said in the window as this side's, escaped, and never echoes one typed here", async () => {
    const { window, controller, own } = withWindow();
    const { stdout, exit, typed, calls } = start({ window: controller });
    typed('typed here');
    await calls(1);
    await window.call('say', { text: 'from the window\u202e' });
    typed('typed again');
    await calls(3);
    typed('/quit');
    expect(await exit).toBe(EXIT.ok);
    expect(stdout.lines.filter((line) => line.startsWith('you: '))).toEqual([
      'you: from the window\\u{202e}',
    ]);
    expect(stdout.text).not.toContain('typed');
    // The window shows each of this side's messages once, whichever front-end said it.
    expect(own()).toEqual(['typed here', 'from the window\u202e', 'typed again']);
  });

  it('a message refused at the terminal shows nowhere; the next one said in the window prints', async () => {
    const conversation = new FakeConversation();
    conversation.refuseSay = new FerryError('ERR_BAD_MESSAGE', 'longer than 4096 UTF-8 bytes');
    const { window, controller, own } = withWindow();
    const { stdout, exit, typed, calls } = start({ window: controller }, conversation);
    typed('x');
    await calls(1);
    conversation.refuseSay = undefined;
    await window.call('say', { text: 'y' });
    typed('/quit');
    expect(await exit).toBe(EXIT.ok);
    expect(stdout.text).toContain('Not sent: longer than 4096 UTF-8 bytes');
    expect(stdout.lines.filter((line) => line.startsWith('you: '))).toEqual(['you: y']);
    expect(own()).toEqual(['y']);
  });

  it('says why a message was not sent, and goes on', async () => {
    const conversation = new FakeConversation();
    conversation.refuseSay = new FerryError('ERR_BAD_MESSAGE', 'longer than 4096 UTF-8 bytes');
    const { stdin, stdout, exit } = start({}, conversation);
    stdin.end('x\n');
    expect(await exit).toBe(EXIT.ok);
    expect(stdout.text).toContain('Not sent: longer than 4096 UTF-8 bytes');
  });

  it('accepts the oldest waiting offer, into the named folder, --out, or asks for a folder for hidden names', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'ferry-chat-'));
    temps.push(out);
    const { conversation, stdin, stdout, exit, typed, calls } = start({ out });
    conversation.offer(incoming(1, 'bob', [['a', 1]]));
    conversation.offer(incoming(2, 'bob', [['b', 1]]));
    conversation.offer(incoming(3, 'bob', [['.bashrc', 1]]));
    typed('/accept');
    await calls(1);
    typed('/accept #2 ~/elsewhere');
    await calls(2);
    typed('/decline #3');
    typed('/decline #3');
    await calls(3);
    stdin.end();
    await exit;
    expect(conversation.calls.slice(0, 3)).toEqual([
      ['accept', 1, out],
      ['accept', 2, path.join(os.tmpdir(), 'elsewhere')],
      ['decline', 3],
    ]);
    expect(stdout.text).toContain('Type /accept #1 [DIR] or /decline #1.');
    expect(stdout.text).toContain(
      'There is no offer #3 waiting (no offer is waiting for an answer).',
    );
  });

  it('refuses to put hidden names into the default folder without a folder named', async () => {
    const { conversation, stdin, stdout, exit } = start();
    conversation.offer(incoming(1, 'bob', [['.ssh/authorized_keys', 1]]));
    stdin.end('/accept\n');
    await exit;
    expect(conversation.calls).toEqual([['quit']]);
    expect(stdout.text).toContain(
      '#1 has hidden names at the top level: name a folder of their own with /accept #1 DIR.',
    );
  });

  it('--out DIR --yes accepts every offer into DIR without asking', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'ferry-chat-'));
    temps.push(out);
    const { conversation, stdin, stdout, exit, calls } = start({ out, yes: true });
    conversation.offer(incoming(1, 'bob', [['a', 1]]));
    conversation.offer(incoming(2, 'bob', [['.profile', 1]]));
    await calls(2);
    stdin.end();
    await exit;
    expect(conversation.calls.slice(0, 2)).toEqual([
      ['accept', 1, out],
      ['accept', 2, out],
    ]);
    expect(stdout.text).toContain(`Accepting #1 into ${out} (--yes).`);
  });

  it('leaves on Ctrl-C (the signal) with 130', async () => {
    const { controller, exit, conversation } = start();
    controller.abort();
    expect(await exit).toBe(EXIT.interrupted);
    expect(conversation.calls).toEqual([['quit']]);
  });

  it('returns 0 when the listener closes the conversation, and 1 when the connection is lost', async () => {
    const closed = start({ role: 'joiner' });
    closed.conversation.end({ reason: 'closed', by: 'alice' });
    expect(await closed.exit).toBe(EXIT.ok);
    expect(closed.stdout.text).toContain('* The conversation has ended: alice closed it.');
    const lost = start({ role: 'joiner' });
    lost.conversation.end({ reason: 'lost', by: 'alice', code: 'ERR_TIMEOUT' });
    expect(await lost.exit).toBe(EXIT.failure);
  });
});
