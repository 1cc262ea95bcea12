import { DEFAULT_COLUMNS, visibleLength } from '@ferry/cli';
import { describe, expect, it } from 'vitest';
import {
  type ListedSender,
  NOTHING_FOUND,
  NothingFoundError,
  pickSender,
  senderLines,
} from '../src/find.ts';
import { FakeOutput } from './helpers.ts';

function sender(number: number, fields: Partial<ListedSender> = {}): ListedSender {
  return {
    number,
    remembered: false,
    name: `sender-${number}`,
    host: `host-${number}`,
    addresses: [`10.0.0.${number}`],
    port: 7878,
    version: '1',
    encrypted: true,
    chat: false,
    keyHint: 'a1b2c3d4e5f60718',
    source: `10.0.0.${number}`,
    ...fields,
  };
}

const io = () => ({ stdout: new FakeOutput(), stderr: new FakeOutput(), env: {} });

describe('the list of senders found', () => {
  it('shows number, name, host, address, key and whether the key is remembered', () => {
    expect(
      senderLines([
        sender(1, { name: 'alice', host: 'alice-laptop', remembered: true }),
        sender(2, { name: 'bob', host: 'bob-pc', keyHint: '' }),
      ]),
    ).toEqual([
      '  1  alice  alice-laptop  10.0.0.1:7878  key A1B2 C3D4 E5F6 0718  remembered',
      '  2  bob    bob-pc        10.0.0.2:7878  no encryption            new',
    ]);
  });

  it('M3: escapes control, escape and bidi characters in names and hosts', () => {
    const hostile = sender(1, {
      name: 'evil\x1b[2J\u202ename',
      host: 'h\u0007ost\r\nx',
      version: '2\x1b',
    });
    const [line] = senderLines([hostile], 200);
    expect(line).toContain('evil\\x1b[2J\\u{202e}name');
    expect(line).toContain('h\\x07ost\\x0d\\x0ax');
    expect(line).toContain('version 2\\x1b');
    expect(line).not.toMatch(/[\x00-\x1f\x7f\u202e]/);
  });

  it('fits 80 columns: the name and host give way first, then the key is shortened', () => {
    const long = [
      sender(1, { name: 'n'.repeat(63), host: 'h'.repeat(63), addresses: ['192.168.100.200'] }),
      sender(12, { name: 'short', host: 'x', remembered: true }),
    ];
    for (const line of senderLines(long, DEFAULT_COLUMNS))
      expect(visibleLength(line)).toBeLessThan(DEFAULT_COLUMNS);
    const ipv6 = [sender(1, { addresses: ['fd00:1234:5678:9abc:def0:1234:5678:9abc'] })];
    for (const line of senderLines(ipv6, DEFAULT_COLUMNS))
      expect(visibleLength(line)).toBeLessThan(DEFAULT_COLUMNS);
  });

  it('brackets IPv6 addresses', () => {
    expect(senderLines([sender(1, { addresses: ['fd00::5'] })], 200)[0]).toContain(
      '[fd00::5]:7878',
    );
  });
});

describe('picking a sender (no address given)', () => {
  it('M5: none found is the nothing-found line, with the reasons and the typed-address path', async () => {
    await expect(
      pickSender([], { yes: true, interactive: false, io: io() }),
    ).rejects.toBeInstanceOf(NothingFoundError);
    expect(NOTHING_FOUND).toBe('No sender found on this network in 2 s.');
  });

  it('--yes with exactly one found takes it', async () => {
    const only = sender(1);
    expect(await pickSender([only], { yes: true, interactive: false, io: io() })).toEqual({
      kind: 'sender',
      sender: only,
    });
  });

  it('--yes with several is a usage error that lists them and says to name one or type an address', async () => {
    const error = await pickSender([sender(1), sender(2)], {
      yes: true,
      interactive: true,
      io: io(),
      ask: async () => '1',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_USAGE' });
    expect((error as Error).message).toContain(
      '2 senders found, and --yes takes one only when it is the only one',
    );
    expect((error as Error).message).toContain('  1  sender-1');
    expect((error as Error).message).toContain('  2  sender-2');
    expect((error as { hint: string }).hint).toBe(
      'Name one (ferry-receive <name>), or type its address (ferry-receive <host>:<port>).',
    );
  });

  it('without a terminal and without --yes, even one found is a usage error that lists it', async () => {
    const error = await pickSender([sender(1)], { yes: false, interactive: false, io: io() }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/^found a sender, but stdin is not a terminal/);
    expect((error as Error).message).toContain('  1  sender-1');
  });

  it('on a terminal, shows the list and takes the number picked, or an address typed instead', async () => {
    const out = io();
    const asked: number[] = [];
    const picked = await pickSender([sender(1), sender(2)], {
      yes: false,
      interactive: true,
      io: out,
      ask: async (count) => {
        asked.push(count);
        return '2';
      },
    });
    expect(picked).toMatchObject({ kind: 'sender', sender: { name: 'sender-2' } });
    expect(asked).toEqual([2]);
    expect(out.stdout.lines[0]).toBe('Senders on this network:');
    expect(out.stdout.lines).toHaveLength(3);
    expect(
      await pickSender([sender(1)], {
        yes: false,
        interactive: true,
        io: io(),
        ask: async () => ' 10.1.2.3:9000 ',
      }),
    ).toEqual({
      kind: 'address',
      text: '10.1.2.3:9000',
    });
    expect(
      await pickSender([sender(1)], {
        yes: false,
        interactive: true,
        io: io(),
        ask: async () => null,
      }),
    ).toBeNull();
  });
});
