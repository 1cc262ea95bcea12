/**
 * The joining side of the chat benchmark, a process of its own: joins the conversation like
 * `ferry-receive --chat`, accepts the offer into OUT and prints each message's latency: the
 * monotonic time it arrived less the time the listener said it (both process.hrtime, one clock
 * on one machine).
 *
 * `node chat-peer.mjs joiner PORT OUT [--no-encryption]`, with FERRY_CONFIG_DIR (and
 * FERRY_CODE when pairing) set; prints JSON lines: `start`, `message` {seq, ms}, `done` {bytes}.
 */
import { createLogger } from '@ferry/cli';
import { normalizeCode } from '@ferry/protocol';
import { configDir, loadOrCreateIdentity, TrustStore } from '@ferry/protocol/node';
import { createJoiner } from '@ferry/receiver';

const [port, out, ...flags] = process.argv.slice(2);
if (!port || !out) throw new Error('usage: chat-joiner PORT OUT [--no-encryption]');
const print = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

const logger = createLogger('bench-chat-joiner', 'warn');
const dir = configDir(process.env);
const code = process.env.FERRY_CODE ? normalizeCode(process.env.FERRY_CODE) : undefined;
const conversation = await createJoiner({
  security: flags.includes('--no-encryption')
    ? { encryption: false }
    : {
        encryption: true,
        identity: await loadOrCreateIdentity(dir),
        trust: await TrustStore.open(dir, 'sender'),
        code,
        remember: true,
      },
  host: '127.0.0.1',
  port: Number(port),
  name: 'joiner',
  logger,
}).join();

let failure: string | undefined;
conversation.on('offer', ({ number }) => {
  conversation.accept(number, out).catch((error: unknown) => {
    failure = `could not accept: ${String(error)}`;
    void conversation.quit();
  });
});
conversation.on('message', ({ text }) => {
  const arrived = process.hrtime.bigint();
  const [seq, said] = text.split(' ');
  print('message', { seq: Number(seq), ms: Number(arrived - BigInt(said!)) / 1e6 });
});
conversation.on('transfer-start', ({ direction }) => {
  if (direction === 'in') print('start');
});
conversation.on('transfer-done', ({ direction, saved, failed, bytes, code: failedWith }) => {
  if (direction !== 'in') return;
  if (saved !== 1 || failed !== 0)
    failure = `the transfer failed: ${failedWith ?? 'a file failed'}`;
  else print('done', { bytes });
});
const ended = await conversation.done;
if (ended.reason !== 'closed')
  failure ??= `the conversation ended: ${ended.reason} ${ended.code ?? ''}`;
if (failure) {
  process.stderr.write(`${failure}\n`);
  process.exit(1);
}
process.exit(0);
