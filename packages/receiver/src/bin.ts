import { processIo, runProcess } from '@ferry/cli';
import packageJson from '../package.json' with { type: 'json' };
import { main } from './main.ts';

const { version } = packageJson;
await runProcess((signal) => main(process.argv.slice(2), processIo(), signal, { version }));
// Prompts may leave stdin referenced; nothing else is left to do.
process.stdin.unref?.();
