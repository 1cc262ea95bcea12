import { TurnOutput } from './turn-output.ts';

/**
 * The real process's streams for an app's `main`. With neither stdin nor stdout a terminal (a
 * script reading `--json`, a pipeline), stdout is written once per turn of the event loop
 * ({@link TurnOutput}), and what is held is written when the process exits. With a terminal
 * on either, every write goes out as it is made: a person may be watching, or asked.
 */
export function processIo() {
  const io = { stdin: process.stdin, stderr: process.stderr, env: process.env };
  if (process.stdin.isTTY || process.stdout.isTTY) return { ...io, stdout: process.stdout };
  const stdout = new TurnOutput(process.stdout);
  process.on('exit', () => stdout.flush());
  // What stdout holds goes out before anything on stderr: with both in one file (`2>&1`), an
  // error still comes after the lines printed before it.
  const stderr = {
    get isTTY() {
      return process.stderr.isTTY;
    },
    // Read when asked: a terminal on stderr may be resized.
    get columns() {
      return process.stderr.columns;
    },
    write(text: string) {
      stdout.flush();
      return process.stderr.write(text);
    },
  };
  return { ...io, stdout, stderr };
}

/**
 * Runs an app's `main` against the real process, the one place that touches `process`:
 * SIGINT and SIGTERM abort the signal (a second one exits at once with 130), and the
 * returned number becomes the exit code.
 */
export async function runProcess(run: (signal: AbortSignal) => Promise<number>): Promise<void> {
  keepWorkingWhenOutputCloses();
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    // The terminal has echoed ^C where the cursor stood: what is printed next starts on a line
    // of its own, not glued after it (U5).
    if (signal === 'SIGINT') {
      const terminal = process.stderr.isTTY
        ? process.stderr
        : process.stdout.isTTY
          ? process.stdout
          : undefined;
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
