/**
 * What a conversation refuses, between real processes: a one-way program meeting a chat one
 * (ERR_MODE_MISMATCH on both sides, never a hang), and names and messages with control, escape
 * or bidi characters (T3), which never reach a terminal raw.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { FrameType } from '@ferry/protocol';
import { joinJson, joinOnPty, startJsonListener, startPtyListener } from '@ferry/testkit/chat';
import {
  makeTempDir,
  receiveAll,
  runReceiver,
  startSender,
  WAIT,
  writeFileAt,
} from '@ferry/testkit/harness';
import { joinChatByHand } from '@ferry/testkit/hostile';
import { describe, expect, it } from 'vitest';

/** Conversations in clear where pairing would only lengthen the test. */
const CLEAR = ['--no-encryption'];

/** What a peer might try to slip onto a screen: colour, a clear, a title, bidi overrides. */
const ESCAPES = ['\x1b[31m', '\x1b[2J', '\x1b]0;', '\u202e', '\u2066'];

/** Throws (with the output) if the raw output of a terminal holds any of {@link ESCAPES}. */
function expectNoRawEscapes(raw: string, report: (headline: string) => string): void {
  for (const sequence of ESCAPES) {
    expect(raw.includes(sequence), report(`raw ${JSON.stringify(sequence)} on the screen`)).toBe(
      false,
    );
  }
}

describe('a one-way program meeting a conversation', () => {
  it('ferry-receive without --chat at a chat listener: ERR_MODE_MISMATCH on both sides, the listener goes on', async () => {
    const alice = await startJsonListener();
    const out = await makeTempDir('out');

    const run = await receiveAll(alice.sender, out, { timeoutMs: WAIT.reactMs });
    expect(run.code, run.report('unexpected exit')).toBe(1);
    expect(run.last).toMatchObject({ event: 'error', code: 'ERR_MODE_MISMATCH' });
    expect(String(run.last?.message)).toContain('ferry-receive --chat');
    expect(
      await alice.waitForEvent('session-failed', (e) => e.code === 'ERR_MODE_MISMATCH'),
    ).toBeDefined();
    expect(await fs.readdir(out)).toEqual([]);

    // For people: one line on stderr saying what to run instead.
    const text = await runReceiver(['--yes', '--out', out, alice.address], {
      code: alice.sender,
      timeoutMs: WAIT.reactMs,
    });
    expect(text.code, text.report('unexpected exit')).toBe(1);
    expect(text.stderr).toMatch(/ferry-receive --chat/);

    // Nothing of that disturbed the conversation: a joiner still gets in.
    const bob = await joinJson(alice, 'bob');
    bob.say('in after all');
    await alice.waitForMessage('in after all');
    expect(alice.all('joined')).toHaveLength(1);
  });

  it('ferry-receive --chat at a one-way ferry-send: ERR_MODE_MISMATCH on both sides, the sender goes on', async () => {
    const src = await makeTempDir('src');
    const file = await writeFileAt(src, 'a.txt', 'one way only\n');
    const sender = await startSender([file]);
    const cwd = await makeTempDir('cwd');

    const bob = await joinJson(sender, 'bob', { ready: false, cwd });
    const exit = await bob.waitForExit();
    expect(exit, bob.process.log.report('unexpected exit')).toEqual({ code: 1, signal: null });
    const error = bob.all('error').at(-1);
    expect(error).toMatchObject({ code: 'ERR_MODE_MISMATCH' });
    expect(String(error?.message)).toMatch(/without --chat/);
    expect(bob.all('chat-ready')).toEqual([]);
    expect(
      await sender.waitForEvent('session-failed', (e) => e.code === 'ERR_MODE_MISMATCH'),
    ).toBeDefined();
    expect(await fs.readdir(cwd)).toEqual([]);

    // The one-way sender still serves a one-way receiver.
    const out = await makeTempDir('out');
    const run = await receiveAll(sender, out);
    expect(run.code, run.report('unexpected exit')).toBe(0);
    expect(await fs.readFile(path.join(out, 'a.txt'), 'utf8')).toBe('one way only\n');
  });
});

describe('escaping in a conversation on terminals', () => {
  it('T3: a joiner named with an escape or a bidi control is refused, and the name never reaches the screen raw', async () => {
    const alice = await startPtyListener({
      name: 'alice',
      home: await makeTempDir('alice-home'),
      args: CLEAR,
    });

    const names = [
      ['eve\x1b[31mred', 'eve\\x1b[31mred'],
      ['eve\u202eevil', 'eve\\u{202e}evil'],
    ] as const;
    for (const [name, shown] of names) {
      const eve = await joinOnPty(alice.address, undefined, {
        args: CLEAR,
        name,
        home: await makeTempDir('eve-home'),
        ready: false,
      });
      const exit = await eve.waitForExit();
      expect(exit.code, eve.terminal.log.report('eve was not refused')).not.toBe(0);
      expect(eve.screen()).not.toContain('* You joined the conversation');
      // Told why, with what to do, and the name shown escaped.
      expect(eve.screen()).toMatch(/another --name[\s\S]*ERR_BAD_MESSAGE/);
      // The listener says who it refused, the name escaped.
      await alice.expect(`(${shown}) failed:`);
      expectNoRawEscapes(eve.terminal.log.stdout, (h) => eve.terminal.log.report(h));
    }
    // A joiner with a plain name still gets in, and is the only one who did.
    const bob = await joinOnPty(alice.address, undefined, {
      args: CLEAR,
      name: 'bob',
      home: await makeTempDir('bob-home'),
    });
    await alice.expect('* bob joined');
    bob.line('hello');
    await alice.expect('[bob] hello');
    expect(alice.screen().match(/ joined \(/g)).toHaveLength(1);
    expectNoRawEscapes(alice.terminal.log.stdout, (h) => alice.terminal.log.report(h));
  });

  it('T3: a message with an escape or a bidi control cannot be typed through', async () => {
    const alice = await startPtyListener({
      name: 'alice',
      home: await makeTempDir('alice-home'),
      args: CLEAR,
    });
    const bob = await joinOnPty(alice.address, undefined, {
      args: CLEAR,
      name: 'bob',
      home: await makeTempDir('bob-home'),
    });
    await alice.expect('* bob joined');

    // A bidi override: refused where it is typed, with a line saying so.
    bob.line('look \u202eereh');
    await bob.expect('Not sent:');
    // An escape sequence typed is read as a key by the prompt, never sent as text.
    bob.line('\x1b[31mred');
    await alice.expect('[bob] red');
    bob.line('plain again');
    await alice.expect('[bob] plain again');
    expect(alice.screen()).not.toContain('ereh');
    expect(alice.screen()).not.toContain('[31m');
    expectNoRawEscapes(alice.terminal.log.stdout, (h) => alice.terminal.log.report(h));
  });

  it("T3: a peer's message with escapes and bidi controls is cut off, and no screen shows them raw", async () => {
    const alice = await startPtyListener({
      name: 'alice',
      home: await makeTempDir('alice-home'),
      args: CLEAR,
    });
    const bob = await joinOnPty(alice.address, undefined, {
      args: CLEAR,
      name: 'bob',
      home: await makeTempDir('bob-home'),
    });
    await alice.expect('* bob joined');
    const port = Number(alice.address.split(':')[1]);
    const { peer } = await joinChatByHand(port, { encryption: false, name: 'mallory' });
    await alice.expect('* mallory joined');
    await bob.expect('* mallory joined');

    await peer.send(FrameType.SAY, { text: 'hi \x1b[2J\x1b]0;owned\x07 \x1b[31mred \u202eevil' });
    const frames = await peer.allFrames();
    expect(frames.at(-1)?.type).toBe(FrameType.ERROR);
    expect(peer.lastError()?.code).toBe('ERR_BAD_MESSAGE');
    await alice.expect(/\* mallory was cut off[\s\S]*?\(ERR_BAD_MESSAGE\)/);
    await bob.expect('* mallory was cut off');
    // The conversation goes on for the others.
    bob.line('still talking');
    await alice.expect('[bob] still talking');
    expectNoRawEscapes(alice.terminal.log.stdout, (h) => alice.terminal.log.report(h));
    expectNoRawEscapes(bob.terminal.log.stdout, (h) => bob.terminal.log.report(h));
  });
});
