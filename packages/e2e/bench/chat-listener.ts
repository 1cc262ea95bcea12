/**
 * The listening side of the chat benchmark, a process of its own: holds a conversation like
 * `ferry-send --chat`, offers FILE to the first joiner and, while that transfer runs, says a
 * message every 100 ms carrying its sequence number and the monotonic time it was said.
 * `CLOCK_MONOTONIC` (process.hrtime) is one clock for every process on a machine, so the
 * joiner can subtract. 100 ms is the sustained rate a peer may say messages at (CHAT limits).
 *
 * `node chat-peer.mjs listener FILE [--no-encryption]`, with FERRY_CONFIG_DIR set; prints
 * JSON lines:
 * `listening` {port}, `code` {code}, `start`, `done` {said}.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { createLogger } from '@ferry/cli';
import { ChatRoom, scanOffer } from '@ferry/engine';
import { PairingCodes } from '@ferry/protocol';
import {
  configDir,
  derivePasswordScalar,
  loadOrCreateIdentity,
  shortFingerprint,
  TrustStore,
} from '@ferry/protocol/node';
import { createSender, type SenderOptions } from '@ferry/sender';

const SAY_EVERY_MS = 100;
const [file, ...flags] = process.argv.slice(2);
if (!file) throw new Error('usage: chat-listener FILE [--no-encryption]');
const print = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

const logger = createLogger('bench-chat-listener', 'warn');
const dir = configDir(process.env);
const security: SenderOptions['security'] = flags.includes('--no-encryption')
  ? { encryption: false }
  : {
      encryption: true,
      identity: await loadOrCreateIdentity(dir),
      trust: await TrustStore.open(dir, 'receiver'),
      pairing: new PairingCodes(derivePasswordScalar),
      remember: true,
    };
const room = new ChatRoom({
  name: 'listener',
  host: os.hostname(),
  session: randomBytes(16).toString('hex'),
  key: security.encryption ? shortFingerprint(security.identity.fingerprint) : '',
  logger,
});
const sender = createSender({
  security,
  offer: await scanOffer([]),
  host: '127.0.0.1',
  port: 0,
  name: 'listener',
  logger,
  chat: room,
});
sender.on('listening', ({ port }) => print('listening', { port }));
sender.on('code', ({ code }) => print('code', { code }));

let said = 0;
let ticker: NodeJS.Timeout | undefined;
let stopping = false;
room.on('joined', () => {
  room.send([file]).catch((error: unknown) => stop(`could not offer the file: ${String(error)}`));
});
room.on('transfer-start', ({ direction }) => {
  if (direction !== 'out') return;
  print('start');
  ticker = setInterval(() => {
    said++;
    room.say(`${said} ${process.hrtime.bigint()}`);
  }, SAY_EVERY_MS);
});
room.on('transfer-done', ({ direction, saved, failed, code }) => {
  if (direction !== 'out') return;
  if (saved !== 1 || failed !== 0) stop(`the transfer failed: ${code ?? 'a file failed'}`);
  else stop();
});
room.on('left', ({ reason, code }) =>
  stop(`the joiner left (${reason}${code ? `, ${code}` : ''})`),
);

async function stop(problem?: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  await room.quit();
  await sender.close(true);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  print('done', { said });
  process.exit(0);
}

await sender.listen();
room.open();
