/**
 * The sender's test helpers: its core started on loopback, the real receiver core as a peer,
 * and the helpers shared with the other packages' tests through @ferry/testkit (fake io,
 * bounded waits, temp dirs, unconditional cleanup, raw clients).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EventLog, onCleanup, silentLogger, tempDir, within } from '@ferry/testkit/unit';
import { createReceiver } from '../../receiver/src/receiver.ts';
import { scanOffer } from '@ferry/engine';
import { createSender, type SenderEvents, type SenderOptions } from '../src/sender.ts';

export {
  EventLog,
  FakeOutput,
  fakeIo,
  header,
  idleClient,
  jsonEvents,
  onCleanup,
  padded,
  rawClient,
  readFrames,
  runCleanup,
  silentLogger,
  tempDir,
  WAIT_MS,
  within,
} from '@ferry/testkit/unit';

/** Every event a sender core emits, for an {@link EventLog} that records them all. */
export const SENDER_EVENTS: readonly (keyof SenderEvents)[] = [
  'listening',
  'code',
  'pairing-failed',
  'pairing-closed',
  'trust-error',
  'connected',
  'authenticated',
  'remembered',
  'hello',
  'request',
  'progress',
  'file-sent',
  'file-failed',
  'session-complete',
  'session-failed',
  'session-resumed',
  'file-restarted',
  'refused',
];

/** One small file: what a sender offers when the test is not about the files. */
export const ONE_FILE: Readonly<Record<string, string>> = { 'a.txt': 'alpha' };

/**
 * A sender core on 127.0.0.1 port 0, in clear unless `options` say otherwise, offering the
 * files and folders at `paths`; every event it emits is in `log`. Stopped after the test.
 */
export async function startSenderOffering(
  paths: readonly string[],
  options: Partial<SenderOptions> = {},
) {
  const offer = await scanOffer([...paths]);
  const sender = createSender({
    security: { encryption: false },
    offer,
    host: '127.0.0.1',
    port: 0,
    name: 'test-sender',
    logger: silentLogger,
    ...options,
  });
  const log = new EventLog<SenderEvents>(sender, SENDER_EVENTS);
  onCleanup('sender', () => sender.close(true));
  await within(sender.listen(), 'listen()');
  const { port } = await log.waitFor('listening');
  return { sender, log, port };
}

/**
 * {@link startSenderOffering} for `files` (name → content), written into a fresh folder `dir`.
 */
export async function startSender(
  files: Readonly<Record<string, string | Buffer>> = ONE_FILE,
  options: Partial<SenderOptions> = {},
) {
  const dir = await tempDir();
  const paths: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    paths.push(path.join(dir, name));
    await writeFile(path.join(dir, name), content);
  }
  return { ...(await startSenderOffering(paths, options)), dir };
}

/**
 * Takes everything the sender at `port` offers into a fresh folder `out`, with the real
 * receiver in clear. `whileChoosing` runs when the offer is in, before the receiver answers:
 * the time its user would take to choose.
 */
export async function receiveAll(
  port: number,
  options: { whileChoosing?: () => void; waitMs?: number } = {},
) {
  const out = await tempDir();
  const receiver = createReceiver({
    security: { encryption: false },
    host: '127.0.0.1',
    port,
    logger: silentLogger,
    decide: async (offer) => {
      options.whileChoosing?.();
      return { items: offer.items.map((_, index) => index), outDir: out };
    },
  });
  const result = await within(receiver.run(), 'the receiver to finish', () => '', options.waitMs);
  return { out, result };
}
