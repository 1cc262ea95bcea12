import type { ConversationEvents } from '@ferry/engine';
import { describe, expect, it } from 'vitest';
import { visibleLength } from '../../src/fit.ts';
import { type ChatEventName, ChatView } from '../../src/chat/render.ts';
import { incoming, peer } from './fake-conversation.ts';

/** Everything a hostile peer may put in a string: ESC, a CSI sequence, CR, backspace, U+202E, BEL, NUL. */
const HOSTILE = 'ok\x1b[2J\x1b]0;owned\x07\r\x08\u202Eevil\u0000\x9b31m';

/** Characters that would act on a terminal rather than be shown. */
const ACTS_ON_TERMINAL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function view(options: Partial<ConstructorParameters<typeof ChatView>[0]> = {}) {
  let clock = 0;
  const chat = new ChatView({ role: 'joiner', width: 80, now: () => clock, ...options });
  return { chat, tick: (ms: number) => (clock += ms) };
}

const lines = <K extends ChatEventName>(chat: ChatView, name: K, event: ConversationEvents[K]) =>
  chat.lines(name, event);

describe('ChatView', () => {
  it('shows a message as [name] text', () => {
    const { chat } = view();
    expect(lines(chat, 'message', { peer: 1, name: 'bob', text: 'hi there' })).toEqual([
      '[bob] hi there',
    ]);
  });

  it("shows a message this side said elsewhere as you: text, never in a peer's [name] form", () => {
    const { chat } = view();
    expect(lines(chat, 'said', { peer: 1, name: 'bob', text: 'hi there' })).toEqual([
      'you: hi there',
    ]);
    const long = lines(chat, 'said', { peer: 1, name: 'bob', text: `${'word '.repeat(30)}end` });
    expect(long.length).toBeGreaterThan(1);
    for (const line of long) expect(visibleLength(line)).toBeLessThanOrEqual(80);
    // A wrapped peer message never starts a line as this side's does.
    const peerLong = lines(chat, 'message', {
      peer: 2,
      name: 'x',
      text: `${'a '.repeat(36)}you: z`,
    });
    for (const line of peerLong) expect(line).not.toMatch(/^you: /);
  });

  it('T3: escapes ESC, CSI, CR, backspace, U+202E and every control in messages and names', () => {
    const { chat } = view({ width: undefined });
    const [line] = lines(chat, 'message', { peer: 1, name: `bob${HOSTILE}`, text: HOSTILE });
    expect(line).not.toMatch(ACTS_ON_TERMINAL);
    expect(line).toContain('\\x1b[2J');
    expect(line).toContain('\\x0d');
    expect(line).toContain('\\x08');
    expect(line).toContain('\\u{202e}');
    expect(line).toContain('\\x9b');
  });

  it('T3: no event shows a peer string raw', () => {
    const { chat } = view({ width: undefined });
    const bad = peer(1, HOSTILE, { address: '10.0.0.1:1' });
    const events: [ChatEventName, unknown][] = [
      ['ready', { self: peer(2, HOSTILE), peers: [bad] }],
      ['joined', bad],
      [
        'left',
        { peer: 1, name: HOSTILE, reason: 'cut-off', code: 'ERR_BAD_MESSAGE', message: HOSTILE },
      ],
      ['left', { peer: 1, name: HOSTILE, reason: 'quit' }],
      ['said', { peer: 2, name: HOSTILE, text: HOSTILE }],
      // Offered names never hold controls (validateOffer refuses them); the name of who offers may.
      ['offer', incoming(1, HOSTILE, [['a', 3]])],
      ['declined', { number: 1, peer: 1, name: HOSTILE, code: 'ERR_DECLINED' }],
      [
        'transfer-start',
        { number: 1, direction: 'in', peer: 1, name: HOSTILE, files: 1, bytes: 3, outDir: '/tmp' },
      ],
      [
        'file-saved',
        {
          number: 1,
          peer: 1,
          path: `/tmp/a${HOSTILE}`,
          offered: `a${HOSTILE}`,
          size: 3,
          sha256: 'a'.repeat(64),
        },
      ],
      [
        'file-failed',
        { number: 1, direction: 'in', peer: 1, offered: HOSTILE, code: 'ERR_IO', message: HOSTILE },
      ],
      [
        'transfer-done',
        {
          number: 1,
          direction: 'out',
          peer: 1,
          name: HOSTILE,
          saved: 1,
          failed: 0,
          bytes: 3,
          ms: 5,
        },
      ],
      ['ended', { reason: 'cut-off', by: HOSTILE, code: 'ERR_LIMIT_EXCEEDED', message: HOSTILE }],
    ];
    for (const [name, event] of events) {
      for (const line of chat.lines(name, event as never))
        expect(line, name).not.toMatch(ACTS_ON_TERMINAL);
    }
    for (const line of chat.peers(peer(2, HOSTILE), [bad]))
      expect(line).not.toMatch(ACTS_ON_TERMINAL);
  });

  it('U4: fits every line into 80 columns, a long message wrapped at spaces', () => {
    const { chat } = view();
    const text = `${'word '.repeat(40)}${'x'.repeat(200)}`;
    const shown = [
      ...lines(chat, 'message', { peer: 1, name: 'bob', text }),
      ...lines(
        chat,
        'joined',
        peer(1, 'b'.repeat(128), { address: '[fe80::1234:5678:9abc:def0%eth0]:50312' }),
      ),
      ...lines(
        chat,
        'offer',
        incoming(1, 'bob', [
          ['a'.repeat(250), 1],
          ['b', 2],
        ]),
      ),
      ...lines(chat, 'ended', { reason: 'lost', by: 'c'.repeat(128), code: 'ERR_TIMEOUT' }),
      ...chat.peers(peer(0, 'me'), [
        peer(1, 'd'.repeat(128), { address: '[fe80::1234:5678:9abc:def0]:50312' }),
      ]),
      ...chat.help(),
    ];
    for (const line of shown) expect(visibleLength(line), line).toBeLessThanOrEqual(80);
    expect(shown.join(' ')).toContain('x'.repeat(10));
  });

  it('shows a join with the key and address, and the three ways of leaving', () => {
    const { chat } = view();
    expect(lines(chat, 'joined', peer(1, 'bob', { address: '192.168.1.5:50312' }))).toEqual([
      '* bob joined (key A1B2 C3D4 E5F6 0718, 192.168.1.5:50312)',
    ]);
    expect(lines(chat, 'joined', peer(1, 'bob', { key: '', address: '' }))).toEqual([
      '* bob joined (no encryption)',
    ]);
    expect(lines(chat, 'left', { peer: 1, name: 'bob', reason: 'quit' })).toEqual([
      '* bob has left',
    ]);
    expect(lines(chat, 'left', { peer: 1, name: 'bob', reason: 'lost' })).toEqual([
      '* bob lost the connection',
    ]);
    expect(
      lines(chat, 'left', {
        peer: 1,
        name: 'bob',
        reason: 'cut-off',
        code: 'ERR_LIMIT_EXCEEDED',
        message: 'too many messages',
      }),
    ).toEqual(['* bob was cut off: too many messages (ERR_LIMIT_EXCEEDED)']);
  });

  it('says the conversation ended, who ended it, and what to do next', () => {
    const { chat } = view();
    const closed = lines(chat, 'ended', { reason: 'closed', by: 'alice' });
    expect(closed[0]).toBe('* The conversation has ended: alice closed it.');
    expect(closed[1]).toMatch(/ferry-receive --chat/);
    expect(lines(chat, 'ended', { reason: 'lost', by: 'alice', code: 'ERR_TIMEOUT' })[0]).toMatch(
      /connection to alice was lost \(ERR_TIMEOUT\)/,
    );
    expect(lines(chat, 'ended', { reason: 'quit' })).toEqual(['* You left the conversation.']);
    expect(view({ role: 'listener' }).chat.lines('ended', { reason: 'quit' })[0]).toMatch(
      /everyone in it was told/,
    );
  });

  it("shows an offer like ferry-receive's, numbered, with how to answer it", () => {
    const { chat } = view();
    const shown = lines(
      chat,
      'offer',
      incoming(2, 'bob', [
        ['notes.txt', 2048],
        ['photos/a.jpg', 1024 * 1024],
      ]),
    );
    expect(shown[0]).toBe('#2 bob offers 2 files (1.00 MiB):');
    expect(shown).toContain('  notes.txt  2.00 KiB');
    expect(shown).toContain('  photos/a.jpg  1.00 MiB');
    expect(shown).toContain('Total: 2 files, 1.00 MiB, 1 folder, in 2 items.');
    expect(shown.at(-1)).toBe('Type /accept #2 [DIR] or /decline #2.');
  });

  it('says where an offer goes when --yes accepts it', () => {
    const { chat } = view({ autoAccept: () => '/tmp/in' });
    expect(lines(chat, 'offer', incoming(1, 'bob', [['a', 1]])).at(-1)).toBe(
      'Accepting #1 into /tmp/in (--yes).',
    );
  });

  it('D9: a transfer that resumes from partial data on disk says how much is not sent again', () => {
    const { chat } = view();
    expect(
      lines(chat, 'transfer-start', {
        number: 2,
        direction: 'in',
        peer: 1,
        name: 'bob',
        files: 1,
        bytes: 4 * 1024 * 1024,
        heldBytes: 12 * 1024 * 1024,
        outDir: '/tmp/in',
      }),
    ).toEqual([
      'Saving #2 from bob: 1 file (4.00 MiB) to /tmp/in',
      '  Resuming from the partial data kept here: 12.0 MiB not sent again.',
    ]);
    expect(
      lines(chat, 'transfer-start', {
        number: 3,
        direction: 'out',
        peer: 1,
        name: 'bob',
        files: 1,
        bytes: 1024,
        heldBytes: 2048,
      }),
    ).toEqual([
      'Sending your offer #3 to bob: 1 file (1.00 KiB)',
      '  Resuming: bob holds 2.00 KiB of it already, not sent again.',
    ]);
  });

  it('shows transfers starting and ending with sizes and rate, and their progress on one status line', () => {
    const { chat, tick } = view();
    expect(chat.status()).toBeUndefined();
    expect(
      lines(chat, 'transfer-start', {
        number: 1,
        direction: 'in',
        peer: 1,
        name: 'bob',
        files: 2,
        bytes: 4 * 1024 * 1024,
        outDir: '/tmp/in',
      }),
    ).toEqual(['Saving #1 from bob: 2 files (4.00 MiB) to /tmp/in']);
    expect(
      lines(chat, 'transfer-start', {
        number: 1,
        direction: 'out',
        peer: 1,
        name: 'bob',
        files: 1,
        bytes: 1024,
      }),
    ).toEqual(['Sending your offer #1 to bob: 1 file (1.00 KiB)']);
    tick(1500);
    expect(lines(chat, 'progress', { number: 1, direction: 'in', bytes: 2 * 1024 * 1024 })).toEqual(
      [],
    );
    const status = chat.status()!;
    expect(status).toMatch(/^#1 from bob 50% .* \| your #1 to bob 0%/);
    expect(visibleLength(status)).toBeLessThan(80);
    expect(
      lines(chat, 'file-saved', {
        number: 1,
        peer: 1,
        path: '/tmp/in/a',
        offered: 'a',
        size: 3,
        sha256: 'a'.repeat(64),
      }),
    ).toEqual(['  saved /tmp/in/a  3 B']);
    expect(
      lines(chat, 'transfer-done', {
        number: 1,
        direction: 'in',
        peer: 1,
        name: 'bob',
        saved: 2,
        failed: 0,
        bytes: 4 * 1024 * 1024,
        ms: 2000,
      }),
    ).toEqual(['Saved #1 from bob: 2 files (4.00 MiB) in 2.0s (2.00 MiB/s), SHA-256 verified.']);
    const stopped = lines(chat, 'transfer-done', {
      number: 1,
      direction: 'out',
      peer: 1,
      name: 'bob',
      saved: 0,
      failed: 1,
      bytes: 0,
      ms: 10,
      code: 'ERR_CONNECTION_CLOSED',
    });
    expect(stopped.join(' ').replace(/ +/g, ' ')).toBe(
      'Your offer #1 to bob stopped (ERR_CONNECTION_CLOSED): sent 0 files (0 B); 1 file not sent.',
    );
    expect(chat.status()).toBeUndefined();
  });

  it('lists a few saved files of a transfer, and every one with --verbose', () => {
    const saved = (chat: ChatView, n: number) =>
      chat.lines('file-saved', {
        number: 1,
        peer: 1,
        path: `/in/${n}`,
        offered: `${n}`,
        size: 1,
        sha256: 'b'.repeat(64),
      });
    const { chat } = view();
    chat.lines('transfer-start', {
      number: 1,
      direction: 'in',
      peer: 1,
      name: 'bob',
      files: 9,
      bytes: 9,
      outDir: '/in',
    });
    const shown = Array.from({ length: 9 }, (_, n) => saved(chat, n)).flat();
    expect(shown).toHaveLength(5);
    const verbose = view({ verbose: true, width: undefined }).chat;
    verbose.lines('transfer-start', {
      number: 1,
      direction: 'in',
      peer: 1,
      name: 'bob',
      files: 9,
      bytes: 9,
      outDir: '/in',
    });
    const all = Array.from({ length: 9 }, (_, n) => saved(verbose, n)).flat();
    expect(all).toHaveLength(9);
    expect(all[0]).toContain(`sha256:${'b'.repeat(64)}`);
  });

  it('shows failures with their reasons, and declined offers', () => {
    const { chat } = view();
    expect(
      lines(chat, 'file-failed', {
        number: 1,
        direction: 'in',
        peer: 1,
        offered: 'a.txt',
        code: 'ERR_NO_SPACE',
        message: 'no space left on the device',
      }),
    ).toEqual(['Not saved: a.txt: no space left on the device (ERR_NO_SPACE)']);
    expect(
      lines(chat, 'declined', { number: 3, peer: 1, name: 'bob', code: 'ERR_DECLINED' }),
    ).toEqual(['* bob declined your offer #3 (ERR_DECLINED)']);
  });

  it('lists peers with their number, name, address, key and transfers', () => {
    const { chat } = view();
    const table = chat.peers(peer(2, 'carol'), [
      peer(0, 'alice', { address: '192.168.1.20:7878', transfers: 2 }),
      peer(1, 'bob', { key: '', address: '' }),
    ]);
    expect(table[0]).toBe('You are carol (peer 2).');
    expect(table[1]).toMatch(/^ {2}# +NAME +ADDRESS +KEY +TRANSFERS$/);
    expect(table[2]).toMatch(/^ {2}0 +alice +192\.168\.1\.20:7878 +A1B2 C3D4 E5F6 0718 2$/);
    expect(table[3]).toMatch(/^ {2}1 +bob +- +none \(clear\) +0$/);
    expect(chat.peers(peer(0, 'alice'), [])).toEqual([
      'You are alice (peer 0).',
      'No one else is in the conversation yet.',
    ]);
  });

  it('lists every command in /help', () => {
    const help = view().chat.help().join('\n');
    for (const command of ['/send', '/accept', '/decline', '/peers', '/help', '/quit', '//'])
      expect(help).toContain(command);
  });

  it('fits to the width the terminal has now, after a resize', () => {
    let columns = 80;
    const { chat } = view({ width: () => columns });
    const text = 'word '.repeat(10).trim();
    expect(chat.lines('message', { peer: 1, name: 'bob', text })).toHaveLength(1);
    columns = 20;
    const narrow = chat.lines('message', { peer: 1, name: 'bob', text });
    expect(narrow.length).toBeGreaterThan(1);
    for (const line of narrow) expect(visibleLength(line)).toBeLessThanOrEqual(20);
  });

  it('writes plain lines, never wrapped, without a terminal', () => {
    const { chat } = view({ width: undefined });
    const text = 'y '.repeat(100);
    expect(lines(chat, 'message', { peer: 1, name: 'bob', text })).toEqual([`[bob] ${text}`]);
  });

  describe('a conversation that heals and resumes', () => {
    const LONG = 'x'.repeat(128);
    const events = (name: string): [ChatEventName, unknown][] => [
      [
        'transfer-done',
        {
          number: 3,
          direction: 'in',
          peer: 1,
          name,
          saved: 0,
          failed: 0,
          bytes: 0,
          ms: 5,
          code: 'ERR_CONNECTION_CLOSED',
          suspended: true,
        },
      ],
      [
        'transfer-done',
        {
          number: 4,
          direction: 'out',
          peer: 1,
          name,
          saved: 0,
          failed: 0,
          bytes: 0,
          ms: 5,
          code: 'ERR_TRUNCATED',
          suspended: true,
        },
      ],
      ['reconnecting', { by: name, seconds: 60 }],
      ['reconnected', { by: name, self: peer(2, 'me'), peers: [peer(0, name), peer(3, name)] }],
      [
        'transfer-resumed',
        {
          number: 5,
          previous: 3,
          direction: 'in',
          peer: 1,
          name,
          files: 2,
          bytes: 28 * 2 ** 20,
          heldBytes: 12 * 2 ** 20,
        },
      ],
      ['file-restarted', { number: 5, direction: 'in', peer: 1, offered: name, reason: 'changed' }],
      [
        'file-restarted',
        { number: 5, direction: 'out', peer: 1, offered: name, reason: 'differs' },
      ],
      [
        'file-saved',
        {
          number: 5,
          peer: 1,
          path: `/home/bob/in/${name}`,
          offered: name,
          size: 3,
          sha256: 'a'.repeat(64),
          present: true,
        },
      ],
      [
        'partial-kept',
        {
          number: 3,
          peer: 1,
          name,
          outDir: '/home/bob/in',
          dir: '/home/bob/in/.ferry-partial-0123456789abcdef',
        },
      ],
      [
        'ended',
        {
          reason: 'lost',
          by: name,
          code: 'ERR_TIMEOUT',
          message: `could not reconnect within 60 s: join again to go on`,
        },
      ],
    ];

    it('says what was paused, that it reconnects, and what goes on', () => {
      const { chat } = view();
      const shown = (name: ChatEventName, event: unknown) =>
        chat.lines(name, event as ConversationEvents[typeof name]);
      const [
        inPaused,
        outPaused,
        reconnecting,
        reconnected,
        resumed,
        changed,
        differs,
        present,
        kept,
      ] = events('carol').map(([name, event]) => shown(name, event));
      expect(inPaused).toEqual(['#3 from carol paused: the connection was lost; reconnecting']);
      expect(outPaused).toEqual(['#4 to carol paused: the connection was lost; reconnecting']);
      expect(
        view({ role: 'listener' }).chat.lines(
          'transfer-done',
          events('carol')[0]![1] as ConversationEvents['transfer-done'],
        ),
      ).toEqual(['#3 from carol paused: the connection was lost; it goes on if carol comes back']);
      expect(reconnecting).toEqual([
        '* Lost the connection to carol; reconnecting for up to 60 s...',
      ]);
      expect(reconnected).toEqual([
        '* Reconnected to carol. With carol. Unfinished transfers go on.',
      ]);
      expect(resumed).toEqual([
        '#5 continues #3 from carol: 2 files, 28.0 MiB to go (12.0 MiB not sent again)',
      ]);
      expect(changed).toEqual(['Starting over: carol (it changed since the interruption)']);
      expect(differs).toEqual(['Starting over: carol (the part kept here differs)']);
      expect(present).toEqual(['  /home/bob/in/carol is already there']);
      expect(kept?.map((line) => line.trim()).join(' ')).toBe(
        'Partial data of #3 kept in /home/bob/in/.ferry-partial-0123456789abcdef: accept the same files from carol into /home/bob/in to resume, or run ferry-receive --clean /home/bob/in',
      );
    });

    it('gives a resumed transfer the rate of the bytes it moved, not of the whole file', () => {
      const { chat } = view();
      chat.lines('transfer-start', {
        number: 4,
        direction: 'in',
        peer: 0,
        name: 'alice',
        files: 1,
        bytes: 20 * 2 ** 20,
        outDir: '/home/bob/in',
      });
      expect(
        chat.lines('transfer-done', {
          number: 4,
          direction: 'in',
          peer: 0,
          name: 'alice',
          saved: 1,
          failed: 0,
          bytes: 48 * 2 ** 20,
          ms: 2000,
        }),
      ).toEqual(['Saved #4 from alice: 1 file (48.0 MiB) in 2.0s (10.0 MiB/s), SHA-256 verified.']);
    });

    it('T3: fits 80 columns and escapes every peer string', () => {
      for (const name of [LONG, HOSTILE]) {
        const { chat } = view();
        for (const [event, fields] of events(name)) {
          for (const line of chat.lines(event, fields as ConversationEvents[typeof event])) {
            expect(visibleLength(line), line).toBeLessThanOrEqual(80);
            expect(line).not.toMatch(ACTS_ON_TERMINAL);
          }
        }
      }
    });
  });
});
