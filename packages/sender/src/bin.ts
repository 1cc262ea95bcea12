import packageJson from '../package.json' with { type: 'json' };
import { main } from './main.ts';

// The only file that touches `process`: signals become an AbortSignal, the result an exit code.
const controller = new AbortController();
let interrupts = 0;
const onSignal = () => {
  interrupts++;
  if (interrupts > 1) process.exit(130);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
const { version } = packageJson;
const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
process.exitCode = await main(process.argv.slice(2), io, controller.signal, { version });
