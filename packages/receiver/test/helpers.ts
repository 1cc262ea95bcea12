/**
 * The receiver's test helpers: its `main()` run in-process, the real sender core as a peer, and
 * the helpers shared with the other packages' tests through @ferry/testkit (fake io, bounded
 * waits, temp dirs, cleanup, a scripted sender).
 */
import type { Browser } from '@ferry/discovery';
import { createFakeNetwork } from '@ferry/discovery/testing';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { scanOffer } from '@ferry/engine';
import { PairingCodes } from '@ferry/protocol';
import { derivePasswordScalar, type Identity, loadOrCreateIdentity } from '@ferry/protocol/node';
import {
  EventLog,
  FakeOutput,
  onCleanup,
  silentLogger,
  tempDir,
  within,
} from '@ferry/testkit/unit';
import { createSender, type SenderEvents } from '../../sender/src/sender.ts';
import { main } from '../src/main.ts';
import { createReceiver, type ReceiverOptions } from '../src/receiver.ts';
import type { Prompter } from '../src/ui/prompts.ts';

export {
  EventLog,
  endSession,
  type FakePeer,
  FakeOutput,
  header,
  jsonEvents,
  listTree,
  onCleanup,
  padded,
  type ReceivedFrame,
  runCleanup,
  sendFile,
  sha256,
  silentLogger,
  startFakeSender,
  startServer,
  tempDir,
  unusedPort,
  WAIT_MS,
  within,
} from '@ferry/testkit/unit';

/** Runs the receiver's `main()` in-process with fake io; aborted after the test if still running. */
export async function runReceive(
  argv: string[],
  options: {
    prompter?: Prompter;
    stdinTTY?: boolean;
    defaultFolder?: string;
    /** The home folder main() sees; without it (and without defaultFolder) the default folder is one that does not exist. */
    home?: string;
    stdout?: FakeOutput;
    env?: Record<string, string>;
    /** Leave encryption on; by default the receiver runs in clear, as the scripted senders do. */
    encrypted?: boolean;
    /** Where a search for senders looks; by default an empty fake network, never the real one. */
    browser?: Browser;
  } = {},
) {
  // Identity and remembered peers go to a folder of this test, never the user's own.
  const config = options.env?.FERRY_CONFIG_DIR ?? (await tempDir());
  const io = {
    stdin: Object.assign(Readable.from([]), { isTTY: options.stdinTTY ?? false }),
    stdout: options.stdout ?? new FakeOutput(),
    stderr: new FakeOutput(),
    env: { FERRY_CONFIG_DIR: config, ...options.env },
  };
  const controller = new AbortController();
  const exit = main(
    options.encrypted ? argv : ['--no-encryption', ...argv],
    io,
    controller.signal,
    {
      logger: silentLogger,
      browser: options.browser ?? createFakeNetwork().browser(),
      ...(options.prompter ? { prompter: options.prompter } : {}),
      ...(options.home ? { home: options.home } : {}),
      ...(options.defaultFolder || !options.home
        ? {
            defaultFolder:
              options.defaultFolder ?? path.join(os.tmpdir(), 'ferry-test-no-default-folder'),
          }
        : {}),
    },
  );
  onCleanup('receiver main', async () => {
    controller.abort();
    await exit.catch(() => {});
  });
  const code = await within(
    exit,
    'ferry-receive main() to return',
    () => `stdout:\n${io.stdout.text}\nstderr:\n${io.stderr.text}`,
  );
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** Writes `files` (name → content) into a fresh folder and returns their paths, in order. */
export async function sourceFiles(files: Record<string, string | Buffer>): Promise<string[]> {
  const dir = await tempDir();
  const paths: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), content);
    paths.push(path.join(dir, name));
  }
  return paths;
}

/** The real sender core offering `paths` on 127.0.0.1 port 0, stopped after the test. */
export async function startRealSender(paths: string[]) {
  const offer = await scanOffer(paths);
  const sender = createSender({
    security: { encryption: false },
    offer,
    host: '127.0.0.1',
    port: 0,
    name: 'real-sender',
    logger: silentLogger,
  });
  const log = new EventLog<SenderEvents>(sender, [
    'listening',
    'connected',
    'hello',
    'request',
    'file-sent',
    'file-failed',
    'session-complete',
    'session-failed',
    'refused',
  ]);
  onCleanup('sender', () => sender.close(true));
  await within(sender.listen(), 'the sender to listen');
  const { port } = await log.waitFor('listening');
  return { sender, log, port, address: `127.0.0.1:${port}` };
}

/**
 * The real sender core with TLS and pairing codes, offering `paths` on 127.0.0.1 port 0 under
 * `identity` (a new key by default), stopped after the test; `code()` is its latest code.
 */
export async function startEncryptedSender(paths: string[], identity?: Identity) {
  const sender = createSender({
    security: {
      encryption: true,
      identity: identity ?? (await loadOrCreateIdentity(await tempDir())),
      pairing: new PairingCodes(derivePasswordScalar),
    },
    offer: await scanOffer(paths),
    host: '127.0.0.1',
    port: 0,
    name: 'alice',
    logger: silentLogger,
  });
  const log = new EventLog<SenderEvents>(sender, [
    'listening',
    'code',
    'authenticated',
    'session-complete',
    'session-failed',
  ]);
  onCleanup('sender', () => sender.close(true));
  await within(sender.listen(), 'the sender to listen');
  const { port } = await log.waitFor('listening');
  await log.waitFor('code');
  return { sender, log, port, code: () => log.all('code').at(-1)!.code };
}

/** The receiver core in clear mode on loopback, with a silent logger, connecting to `port`. */
export function clearReceiver(
  port: number,
  options: Omit<ReceiverOptions, 'security' | 'host' | 'port' | 'logger'>,
) {
  return createReceiver({
    security: { encryption: false },
    host: '127.0.0.1',
    port,
    logger: silentLogger,
    ...options,
  });
}
