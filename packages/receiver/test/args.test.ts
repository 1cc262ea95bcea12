import { RESUME } from '@ferry/protocol';
import { describe, expect, it } from 'vitest';
import { parseReceiverArgs, USAGE } from '../src/args.ts';
import { UsageError } from '../src/errors.ts';

function usageErrorOf(argv: string[]): UsageError {
  try {
    parseReceiverArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`parseReceiverArgs(${JSON.stringify(argv)}) did not throw`);
}

function config(argv: string[]) {
  const command = parseReceiverArgs(argv);
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command.config;
}

describe('parseReceiverArgs', () => {
  it('applies the defaults when only an address is given', () => {
    expect(config(['192.168.1.20'])).toEqual({
      address: { host: '192.168.1.20', port: 7878 },
      yes: false,
      fsync: false,
      json: false,
      logLevel: 'silent',
      connectTimeoutMs: 10_000,
      encryption: true,
      remember: false,
      codeStdin: false,
      verbose: false,
      retry: 60,
    });
  });

  it('parses every long flag', () => {
    expect(
      config([
        '--out', '/tmp/x', '--yes', '--fsync', '--name', 'Bob', '--timeout', '2.5', '--json', '--log-level', 'info',
        '--remember', '--code-stdin', '--no-encryption', '--verbose', 'host:9000',
      ]),
    ).toEqual({
      address: { host: 'host', port: 9000 },
      out: '/tmp/x',
      yes: true,
      fsync: true,
      name: 'Bob',
      connectTimeoutMs: 10_000,
      timeout: 2.5,
      json: true,
      logLevel: 'info',
      encryption: false,
      remember: true,
      codeStdin: true,
      verbose: true,
      retry: 60,
    });
  });

  it('reads --peers and --forget as commands of their own', () => {
    expect(parseReceiverArgs(['--peers'])).toEqual({ kind: 'peers' });
    expect(parseReceiverArgs(['--forget', 'alice@laptop'])).toEqual({ kind: 'forget', peer: 'alice@laptop' });
  });

  it.each([['--code', '12345678'], ['--code=12345678'], ['-code', '12345678'], ['--pairing-code=12345678']])(
    'G9: refuses a pairing code on the command line (%s) without repeating it',
    (...argv) => {
      const error = usageErrorOf([...argv, 'host']);
      expect(error.message).toContain('FERRY_CODE');
      expect(error.message).not.toContain('12345678');
    },
  );

  it('parses the short flags', () => {
    expect(config(['-o', 'dl', '-y', 'h'])).toMatchObject({ out: 'dl', yes: true });
  });

  it.each([['--help'], ['-h']])('returns help for %s', (flag) => {
    expect(parseReceiverArgs([flag])).toEqual({ kind: 'help' });
  });

  it.each([['--version'], ['-v']])('returns version for %s', (flag) => {
    expect(parseReceiverArgs([flag, 'host'])).toEqual({ kind: 'version' });
  });

  it('lists every flag in the usage text', () => {
    for (const flag of [
      '--out',
      '--yes',
      '--fsync',
      '--name',
      '--timeout',
      '--json',
      '--log-level',
      '--help',
      '--version',
      '--code-stdin',
      '--remember',
      '--peers',
      '--forget',
      '--no-encryption',
      '--verbose',
      '--retry',
      '--clean',
    ]) {
      expect(USAGE).toContain(flag);
    }
  });

  it('without an address, looks for senders: the address is left out', () => {
    expect(config(['--yes']).address).toBeUndefined();
    expect(config([]).find).toBeUndefined();
  });

  it('rejects more than one address', () => {
    usageErrorOf(['host-a', 'host-b']);
  });

  it('rejects an unknown flag, naming it', () => {
    expect(usageErrorOf(['--bogus', 'host']).message).toContain('--bogus');
  });

  it.each([['0.999'], ['0'], ['abc'], ['-1'], ['3600.001'], ['3601'], ['1e3'], ['60s'], ['0x10'], ['']])(
    'rejects --timeout %j, naming --timeout',
    (value) => {
      expect(usageErrorOf([`--timeout=${value}`, 'host']).message).toContain('--timeout');
    },
  );

  it('accepts --timeout at its bounds, 1 s and 3600 s, and leaves the connect timeout alone', () => {
    expect(config(['--timeout', '1', 'h'])).toMatchObject({ timeout: 1, connectTimeoutMs: 10_000 });
    expect(config(['--timeout', '3600', 'h'])).toMatchObject({ timeout: 3600, connectTimeoutMs: 10_000 });
  });

  it('leaves --timeout unset by default, so the built-in timeouts apply', () => {
    expect(config(['h']).timeout).toBeUndefined();
  });

  it('rejects an unknown --log-level, naming the flag', () => {
    expect(usageErrorOf(['--log-level', 'loud', 'host']).message).toContain('--log-level');
  });

  it('rejects an empty --out, naming the flag', () => {
    expect(usageErrorOf(['--out=', 'host']).message).toContain('--out');
  });
});

describe('parseReceiverArgs --retry', () => {
  it('F5: --retry reconnects for RESUME.retryMs (60 s) by default', () => {
    expect(config(['h']).retry).toBe(RESUME.retryMs / 1000);
  });

  it('F5: accepts --retry at its bounds, 0 (off) and 3600 s, and decimals', () => {
    expect(config(['--retry', '0', 'h']).retry).toBe(0);
    expect(config(['--retry', '3600', 'h']).retry).toBe(3600);
    expect(config(['--retry=2.5', 'h']).retry).toBe(2.5);
  });

  it.each([['-1'], ['3600.001'], ['3601'], ['abc'], ['1e3'], ['60s'], ['0x10'], ['']])(
    'U12: rejects --retry %j, saying what it allows',
    (value) => {
      expect(usageErrorOf([`--retry=${value}`, 'host']).message).toBe(
        `--retry must be a number of seconds from 0 to 3600, like 60 or 2.5 (0 turns reconnecting off), not "${value}"`,
      );
    },
  );
});

describe('parseReceiverArgs --clean', () => {
  it('D5: reads --clean as a command of its own, with --json', () => {
    expect(parseReceiverArgs(['--clean', 'dl'])).toEqual({
      kind: 'clean',
      folder: 'dl',
      json: false,
    });
    expect(parseReceiverArgs(['--clean=dl', '--json'])).toEqual({
      kind: 'clean',
      folder: 'dl',
      json: true,
    });
  });

  it('U12: refuses --clean with a sender address or without a folder', () => {
    expect(usageErrorOf(['--clean', 'dl', 'host']).message).toContain('no sender address');
    expect(usageErrorOf(['--clean=']).message).toBe('--clean must name a folder, not ""');
    expect(usageErrorOf(['--clean']).message).toBe('--clean needs a value');
  });

  it('--help wins over --clean', () => {
    expect(parseReceiverArgs(['--clean', 'dl', '--help'])).toEqual({ kind: 'help' });
  });
});

describe('parseReceiverArgs addresses', () => {
  it.each([
    ['host', { host: 'host', port: 7878 }],
    ['host:9000', { host: 'host', port: 9000 }],
    ['10.0.0.7:1', { host: '10.0.0.7', port: 1 }],
    ['10.0.0.7:65535', { host: '10.0.0.7', port: 65535 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['[::1]', { host: '::1', port: 7878 }],
    ['::1', { host: '::1', port: 7878 }],
    ['[fe80::1%eth0]:7000', { host: 'fe80::1%eth0', port: 7000 }],
    [' host:80 ', { host: 'host', port: 80 }],
  ])('reads %j', (text, address) => {
    expect(config([text]).address).toEqual(address);
  });

  it.each([['host:0'], ['host:65536'], ['host:'], ['host:abc'], ['host:1e3'], ['[::1]:'], ['[::1'], [':9000'], ['']])(
    'rejects %j',
    (text) => {
      usageErrorOf([text]);
    },
  );
});

describe('U12: argument errors in words', () => {
  it('U12: says what the address must be, with the text given', () => {
    expect(usageErrorOf(['[::1]:']).message).toBe(
      'the sender address must be host or host:port, as ferry-send prints it (like 192.168.1.20:7878, or [fe80::1]:7878 for IPv6), not "[::1]:"',
    );
  });

  it('U12: says what --timeout allows, never the parser text', () => {
    expect(usageErrorOf(['--timeout', '0', 'host']).message).toBe(
      '--timeout must be a number of seconds from 1 to 3600, like 30 or 2.5, not "0"',
    );
  });

  it('U12: names an unknown option in words and says a value is missing', () => {
    expect(usageErrorOf(['-Y', 'host']).message).toBe('unknown option -Y; did you mean -y (--yes)?');
    expect(usageErrorOf(['host', '--out']).message).toBe('--out needs a value');
  });
});

describe('U4: the help fits an 80-column terminal', () => {
  it('U4: no line of the usage text is wider than 80 columns', () => {
    const wide = USAGE.split('\n').filter((line) => line.length > 80);
    expect(wide).toEqual([]);
  });
});

describe('parseReceiverArgs --chat', () => {
  it('joins a conversation, with the usual flags', () => {
    const command = parseReceiverArgs(['--chat', '--out', 'in', '--yes', '--json', '--name', 'bob', '127.0.0.1:9000']);
    expect(command.kind === 'run' && command.config).toMatchObject({
      chat: true,
      out: 'in',
      yes: true,
      json: true,
      name: 'bob',
      address: { host: '127.0.0.1', port: 9000 },
    });
  });

  it('takes at most one address', () => {
    expect(usageErrorOf(['--chat', 'a', 'b']).message).toMatch(/one sender address or name/);
  });

  it('lists --chat in the help', () => {
    expect(USAGE).toContain('--chat');
  });
});
