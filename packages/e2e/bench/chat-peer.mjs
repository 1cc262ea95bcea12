/**
 * Runs one side of the benchmark's conversation as the apps run: its TypeScript bundled into
 * plain JavaScript by the apps' own launcher. `node chat-peer.mjs listener|joiner ARGS...`
 * (see chat-listener.ts and chat-joiner.ts for the arguments and what each prints).
 */
import { launch } from '@ferry/cli/launcher';

const role = process.argv[2];
if (role !== 'listener' && role !== 'joiner')
  throw new Error('usage: chat-peer.mjs listener|joiner ARGS...');
process.argv.splice(2, 1);
await launch(new URL(`./chat-${role}.ts`, import.meta.url), `bench-chat-${role}`);
