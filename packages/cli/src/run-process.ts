import { flushJsonLines } from './json-lines.ts';

/**
 * Runs an app's `main` against the real process, the one place that touches `process`:
 * SIGINT and SIGTERM abort the signal (a second one exits at once with 130), and the
 * returned number becomes the exit code.
 */
export async function runProcess(run: (signal: AbortSignal) => Promise<number>): Promise<void> {
  keepWorkingWhenOutputCloses();
  // However the process ends, batched --json lines still held are written first.
  process.on('exit', flushJsonLines);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    // The terminal has echoed ^C where the cursor stood: what is printed next starts on a line
    // of its own, not glued after it (U5).
    if (signal === 'SIGINT') {
      const terminal = process.stderr.isTTY ? process.stderr : process.stdout.isTTY ? process.stdout : undefined;
      terminal?.write('\n');
    }
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.exitCode = await run(controller.signal);
}

/**
 * Output nobody reads any more (`ferry-receive ... | head -1`) must not stop the work: a
 * write to a closed pipe fails with EPIPE, which would otherwise be an unhandled 'error'
 * event. The stream is destroyed by then, so later writes are dropped quietly and the
 * transfer completes and is saved.
 */
function keepWorkingWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => {
      // Nothing more can be shown on this stream; the exit code still tells the outcome.
    });
  }
}
