/**
 * `ferry-receive --ui` on the command line: the window's flags are read with the others, refused
 * without --ui.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseReceiverArgs, USAGE } from '../src/args.ts';
import { runCleanup } from './helpers.ts';

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
});
