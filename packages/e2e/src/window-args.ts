/**
 * The arguments the window tests and the benchmark start the apps with: the window not opened
 * in a browser, `--json` (its `window` event first), and a sender on loopback, not announced.
 */
export const UI_SENDER_ARGS: readonly string[] = [
  '--ui',
  '--no-open',
  '--json',
  '--host',
  '127.0.0.1',
  '--port',
  '0',
  '--no-announce',
];

/** See {@link UI_SENDER_ARGS}. */
export const UI_RECEIVER_ARGS: readonly string[] = ['--ui', '--no-open', '--json'];
