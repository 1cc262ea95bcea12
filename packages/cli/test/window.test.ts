import { fakeIo, runCleanup } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  announceWindow,
  DEFAULT_COLUMNS,
  jsonEventProblem,
  parseCommandLine,
  SENDER_JSON_EVENTS,
  UI_FLAGS,
  UI_USAGE,
  uiOptions,
  UsageError,
} from '../src/index.ts';

afterEach(runCleanup);

const URL = `http://127.0.0.1:65535/?t=${'A'.repeat(43)}`;

describe("the window's command-line bits", () => {
  it('announces the address on a line of its own within 80 columns, and what to do', () => {
    const io = fakeIo();
    announceWindow(io, false, URL);
    const lines = io.stdout.text.trimEnd().split('\n');
    expect(lines).toEqual([
      "Ferry's window:",
      `  ${URL}`,
      'Open it in a browser on this computer. Ctrl-C here closes it.',
    ]);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(DEFAULT_COLUMNS);
    for (const line of UI_USAGE.split('\n'))
      expect(line.length).toBeLessThanOrEqual(DEFAULT_COLUMNS);
  });

  it('S6: with --json, prints the window event that the schemas document', () => {
    const io = fakeIo();
    announceWindow(io, true, URL);
    expect(JSON.parse(io.stdout.text)).toEqual({ event: 'window', url: URL });
    expect(jsonEventProblem(SENDER_JSON_EVENTS, io.stdout.text.trim())).toBeUndefined();
    expect(
      jsonEventProblem(
        SENDER_JSON_EVENTS,
        JSON.stringify({ event: 'window', url: 'http://evil.example/' }),
      ),
    ).toBeDefined();
  });

  it('reads --ui, --no-open and --ui-port, and refuses them without --ui or with a bad port', () => {
    const read = (...argv: string[]) => uiOptions(parseCommandLine(argv, UI_FLAGS).values);
    expect(read()).toEqual({ ui: false, open: true, port: 0 });
    expect(read('--ui')).toEqual({ ui: true, open: true, port: 0 });
    expect(read('--ui', '--no-open', '--ui-port', '8123')).toEqual({
      ui: true,
      open: false,
      port: 8123,
    });
    for (const argv of [
      ['--no-open'],
      ['--ui-port', '80'],
      ['--ui', '--ui-port', '65536'],
      ['--ui', '--ui-port', 'x'],
      ['--ui', '--ui-port', '-1'],
    ]) {
      expect(() => read(...argv), argv.join(' ')).toThrow(UsageError);
    }
  });
});
