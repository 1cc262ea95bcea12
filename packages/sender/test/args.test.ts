import { describe, expect, it } from 'vitest';
import { parseSenderArgs, USAGE } from '../src/args.ts';
import { UsageError } from '../src/errors.ts';

function usageErrorOf(argv: string[]): UsageError {
  try {
    parseSenderArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`parseSenderArgs(${JSON.stringify(argv)}) did not throw`);
}

describe('parseSenderArgs', () => {
  it('applies the defaults when only paths are given', () => {
    expect(parseSenderArgs(['a.txt'])).toEqual({
      kind: 'run',
      config: { paths: ['a.txt'], port: 7878, once: false, json: false, logLevel: 'silent', encryption: true, remember: false, announce: true, qr: false, link: false, ui: false, open: true, uiPort: 0 },
    });
  });

  it('parses every long flag', () => {
    const command = parseSenderArgs([
      '--port', '9000', '--host', '127.0.0.1', '--once', '--name', 'Alice',
      '--json', '--log-level', 'debug', '--remember', '--no-encryption', '--timeout', '7.5', '--no-announce', 'a.txt', 'folder',
    ]);
    expect(command).toEqual({
      kind: 'run',
      config: {
        paths: ['a.txt', 'folder'],
        host: '127.0.0.1',
        port: 9000,
        once: true,
        name: 'Alice',
        json: true,
        logLevel: 'debug',
        encryption: false,
        remember: true,
        timeout: 7.5,
        announce: false,
        qr: false,
        link: false,
        ui: false,
        open: true,
        uiPort: 0,
      },
    });
  });

  it('reads --qr', () => {
    expect(parseSenderArgs(['--qr', 'a.txt'])).toMatchObject({ kind: 'run', config: { qr: true } });
    expect(parseSenderArgs(['--chat', '--qr'])).toMatchObject({ kind: 'run', config: { qr: true, chat: true } });
  });

  it('refuses --qr with --json, saying to leave out one', () => {
    const error = usageErrorOf(['--qr', '--json', 'a.txt']);
    expect(error.message).toContain('--qr');
    expect(error.message).toContain('--json');
  });

  it('reads --link and --link-downloads; --link-downloads needs --link, a whole count, and no --chat', () => {
    const command = parseSenderArgs(['--link', '--link-downloads', '3', 'a.txt']);
    expect(command.kind === 'run' && [command.config.link, command.config.linkDownloads]).toEqual([true, 3]);
    expect(() => parseSenderArgs(['--link-downloads', '3', 'a.txt'])).toThrow('--link-downloads counts downloads through the link: add --link');
    for (const bad of ['0', '2.5', 'many', '10000000']) {
      expect(() => parseSenderArgs(['--link', '--link-downloads', bad, 'a.txt'])).toThrow('--link-downloads must be a whole number from 1 to 1000000');
    }
    expect(() => parseSenderArgs(['--chat', '--link'])).toThrow('a conversation (--chat) has no link');
  });

  it('reads --peers and --forget as commands of their own', () => {
    expect(parseSenderArgs(['--peers'])).toEqual({ kind: 'peers' });
    expect(parseSenderArgs(['--forget', 'bob'])).toEqual({ kind: 'forget', peer: 'bob' });
  });

  it('parses the short port flag and port 0', () => {
    const command = parseSenderArgs(['-p', '0', 'a.txt']);
    expect(command.kind === 'run' && command.config.port).toBe(0);
  });

  it('accepts --flag=value forms', () => {
    const command = parseSenderArgs(['--port=65535', '--log-level=trace', 'a.txt']);
    expect(command.kind === 'run' && [command.config.port, command.config.logLevel]).toEqual([65535, 'trace']);
  });

  it.each([['--help'], ['-h']])('returns help for %s, whatever else is given', (flag) => {
    expect(parseSenderArgs([flag, 'a.txt', '--port', '1'])).toEqual({ kind: 'help' });
  });

  it.each([['--version'], ['-v']])('returns version for %s', (flag) => {
    expect(parseSenderArgs([flag])).toEqual({ kind: 'version' });
  });

  it('lists every flag in the usage text', () => {
    for (const flag of ['--port', '--host', '--once', '--name', '--json', '--log-level', '--timeout', '--help', '--version']) {
      expect(USAGE).toContain(flag);
    }
  });

  it('rejects an unknown flag, naming it', () => {
    expect(usageErrorOf(['--bogus', 'a.txt']).message).toContain('--bogus');
  });

  it('rejects a command line without paths', () => {
    expect(usageErrorOf([]).code).toBe('ERR_USAGE');
    usageErrorOf(['--once']);
  });

  it.each([['abc'], ['70000'], ['-1'], ['1.5'], ['0x50'], ['']])('rejects --port %j, naming --port', (port) => {
    expect(usageErrorOf([`--port=${port}`, 'a.txt']).message).toContain('--port');
  });

  it.each([['0.999'], ['0'], ['abc'], ['-1'], ['3600.001'], ['3601'], ['1e3'], ['60s'], ['']])(
    'rejects --timeout %j, naming --timeout',
    (value) => {
      expect(usageErrorOf([`--timeout=${value}`, 'a.txt']).message).toContain('--timeout');
    },
  );

  it('accepts --timeout at its bounds, 1 s and 3600 s, and leaves it unset by default', () => {
    const timeout = (argv: string[]) => {
      const command = parseSenderArgs(argv);
      return command.kind === 'run' ? command.config.timeout : 'not a run';
    };
    expect(timeout(['--timeout', '1', 'a.txt'])).toBe(1);
    expect(timeout(['--timeout=3600', 'a.txt'])).toBe(3600);
    expect(timeout(['a.txt'])).toBeUndefined();
  });

  it('rejects a flag that needs a value but has none', () => {
    usageErrorOf(['a.txt', '--port']);
  });

  it('rejects an unknown --log-level, naming the flag', () => {
    expect(usageErrorOf(['--log-level', 'nope', 'a.txt']).message).toContain('--log-level');
  });

  it('rejects an empty --name or an empty --host', () => {
    expect(usageErrorOf(['--name=', 'a.txt']).message).toContain('--name');
    expect(usageErrorOf(['--host=', 'a.txt']).message).toContain('--host');
  });

  it('rejects a --name longer than 64 characters', () => {
    usageErrorOf(['--name', 'n'.repeat(65), 'a.txt']);
  });
});

describe('U12: argument errors in words', () => {
  it('U12: says what --timeout allows, with the value given, never the parser text', () => {
    expect(usageErrorOf(['--timeout', 'abc', 'a.txt']).message).toBe(
      '--timeout must be a number of seconds from 1 to 3600, like 30 or 2.5, not "abc"',
    );
  });

  it('U12: says what --port allows', () => {
    expect(usageErrorOf(['--port', '70000', 'a.txt']).message).toBe(
      '--port must be a whole number from 0 to 65535 (0 picks a free port), not "70000"',
    );
  });

  it('U12: names an unknown option without the parser quoting, and suggests the near one', () => {
    const message = usageErrorOf(['-V', 'a.txt']).message;
    expect(message).toBe('unknown option -V; did you mean -v (--version)?');
    expect(message).not.toMatch(/['"]/);
  });

  it('U12: says a flag needs a value, or takes none', () => {
    expect(usageErrorOf(['a.txt', '--port']).message).toBe('--port needs a value');
    expect(usageErrorOf(['--once=yes', 'a.txt']).message).toBe('--once takes no value');
  });

  it('U12: says what --log-level allows', () => {
    expect(usageErrorOf(['--log-level', 'loud', 'a.txt']).message).toBe(
      '--log-level must be one of silent, fatal, error, warn, info, debug, trace, not "loud"',
    );
  });
});

describe('U4: the help fits an 80-column terminal', () => {
  it('U4: no line of the usage text is wider than 80 columns', () => {
    const wide = USAGE.split('\n').filter((line) => line.length > 80);
    expect(wide).toEqual([]);
  });
});

describe('parseSenderArgs --chat', () => {
  it('holds a conversation with no paths, or offers the ones given to each who joins', () => {
    const bare = parseSenderArgs(['--chat']);
    expect(bare.kind === 'run' && [bare.config.chat, bare.config.paths]).toEqual([true, []]);
    const withFiles = parseSenderArgs(['--chat', '-o', 'in', '-y', 'a.txt']);
    expect(withFiles.kind === 'run' && withFiles.config).toMatchObject({ chat: true, out: 'in', yes: true, paths: ['a.txt'] });
  });

  it('still needs paths without --chat', () => {
    expect(usageErrorOf([]).message).toMatch(/at least one file/);
  });

  it('refuses --once with --chat, and --out or --yes without it', () => {
    expect(usageErrorOf(['--chat', '--once']).message).toMatch(/--once/);
    expect(usageErrorOf(['--out', 'in', 'a.txt']).message).toMatch(/--out is for a conversation/);
    expect(usageErrorOf(['--yes', 'a.txt']).message).toMatch(/--yes is for a conversation/);
  });

  it('lists --chat in the help', () => {
    expect(USAGE).toContain('--chat');
  });

  it('starts the window with --ui, with paths or none, opening it unless --no-open', () => {
    const bare = parseSenderArgs(['--ui']);
    expect(bare.kind === 'run' && bare.config).toMatchObject({ ui: true, open: true, uiPort: 0, paths: [] });
    const full = parseSenderArgs(['--ui', '--no-open', '--ui-port', '40123', 'photos']);
    expect(full.kind === 'run' && full.config).toMatchObject({ ui: true, open: false, uiPort: 40123, paths: ['photos'] });
  });

  it('refuses --no-open and --ui-port without --ui, and a --ui-port that is no port', () => {
    expect(usageErrorOf(['--no-open', 'a.txt']).message).toMatch(/--no-open is for the window: add --ui/);
    expect(usageErrorOf(['--ui-port', '4000', 'a.txt']).message).toMatch(/--ui-port is for the window/);
    expect(usageErrorOf(['--ui', '--ui-port', '70000']).message).toMatch(/--ui-port must be a whole number/);
  });

  it('lists --ui, --no-open and --ui-port in the help', () => {
    for (const flag of ['--ui ', '--no-open', '--ui-port']) expect(USAGE).toContain(flag);
  });
});
