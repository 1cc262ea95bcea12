/**
 * `ferry-receive --ui` on the command line: the window's flags are read with the others, refused
 * without --ui, and a conversation is not held in the window.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseReceiverArgs, USAGE } from '../src/args.ts';
import { EXIT } from '../src/main.ts';
import { runCleanup, runReceive } from './helpers.ts';

afterEach(runCleanup);

describe('the window flags of ferry-receive', () => {
  it('reads --ui, --no-open and --ui-port beside an address and the other flags', () => {
    const command = parseReceiverArgs([
      '--ui',
      '--no-open',
      '--ui-port',
      '8080',
      '--out',
      'x',
      '192.168.1.20',
    ]);
    expect(command).toMatchObject({
      kind: 'run',
      ui: { ui: true, open: false, port: 8080 },
      config: { address: { host: '192.168.1.20', port: 7878 }, out: 'x' },
    });
    expect(parseReceiverArgs([])).toMatchObject({
      kind: 'run',
      ui: { ui: false, open: true, port: 0 },
    });
  });

  it('refuses --no-open and --ui-port without --ui, and a port out of range', () => {
    expect(() => parseReceiverArgs(['--no-open', 'host'])).toThrow(/add --ui/);
    expect(() => parseReceiverArgs(['--ui', '--ui-port', '70000'])).toThrow(/--ui-port/);
  });

  it('lists the window flags in its usage, within 80 columns', () => {
    expect(USAGE).toContain('--ui [options]');
    expect(USAGE).toContain('--no-open');
    for (const line of USAGE.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('does not hold a conversation in the window: --ui --chat is a usage error, exit 2', async () => {
    const run = await runReceive(['--ui', '--chat', '127.0.0.1:9']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr.text).toContain('--ui does not hold conversations yet');
  });
});
