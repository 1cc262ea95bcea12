import { runProcess } from '@ferry/cli';
import packageJson from '../package.json' with { type: 'json' };
import { main } from './main.ts';

const { version } = packageJson;
const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
await runProcess((signal) => main(process.argv.slice(2), io, signal, { version }));
// Prompts may leave stdin referenced; nothing else is left to do.
process.stdin.unref?.();
