/**
 * Runs an app's `main` against the real process, the one place that touches `process`:
 * SIGINT and SIGTERM abort the signal (a second one exits at once with 130), and the
 * returned number becomes the exit code.
 */
export async function runProcess(run: (signal: AbortSignal) => Promise<number>): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.exitCode = await run(controller.signal);
}
