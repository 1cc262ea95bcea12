/** Test helpers for the receiver: fake io, bounded waits, temp dirs, cleanup, and peers. */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  concatFrame,
  decodeMessage,
  encodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  isMessageType,
  type MessageOf,
  type MessageType,
  type OfferEntry,
} from '@ferry/protocol';
import pino from 'pino';
import { scanOffer } from '../../sender/src/scan.ts';
import { createSender, type SenderEvents } from '../../sender/src/sender.ts';
import { main } from '../src/main.ts';
import type { Prompter } from '../src/ui/prompts.ts';

/** A logger that prints nothing. */
export const silentLogger = pino({ level: 'silent' });

/** Every wait in these tests gives up after this long. */
export const WAIT_MS = 8_000;

const disposers: { what: string; dispose: () => unknown }[] = [];

/** Registers `dispose` to run after the current test, pass or fail (newest first). */
export function onCleanup(what: string, dispose: () => unknown): void {
  disposers.push({ what, dispose });
}

/** Runs every registered disposer; call it from `afterEach`. */
export async function runCleanup(): Promise<void> {
  const errors: unknown[] = [];
  for (let disposer = disposers.pop(); disposer; disposer = disposers.pop()) {
    try {
      await disposer.dispose();
    } catch (error) {
      errors.push(new Error(`cleanup of ${disposer.what} failed`, { cause: error }));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
}

/** A fresh temporary folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-receive-test-'));
  onCleanup(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every path below `dir`, relative and `/`-separated, sorted; folders end in `/`. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((entry) => {
      const relative = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
      return entry.isDirectory() ? `${relative}/` : relative;
    })
    .sort();
}

/** Rejects with `describe()` in the message when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, what: string, describe: () => string = () => '', ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${describe()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A writable stand-in for stdout or stderr that keeps what was written. */
export class FakeOutput {
  text = '';
  readonly isTTY: boolean;
  readonly columns = 100;

  constructor(isTTY = false) {
    this.isTTY = isTTY;
  }

  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }

  /** The complete lines written so far. */
  get lines(): string[] {
    const lines = this.text.split('\n');
    lines.pop();
    return lines;
  }
}

/** Parses `--json` output into event objects. */
export function jsonEvents(output: FakeOutput): ({ event: string } & Record<string, unknown>)[] {
  return output.lines.map((line) => JSON.parse(line) as { event: string } & Record<string, unknown>);
}

/** Runs the receiver's `main()` in-process with fake io; aborted after the test if still running. */
export async function runReceive(
  argv: string[],
  options: {
    prompter?: Prompter;
    stdinTTY?: boolean;
    defaultFolder?: string;
    stdout?: FakeOutput;
    env?: Record<string, string>;
    /** Leave encryption on; by default the receiver runs in clear, as the scripted senders do. */
    encrypted?: boolean;
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
  const exit = main(options.encrypted ? argv : ['--no-encryption', ...argv], io, controller.signal, {
    logger: silentLogger,
    ...(options.prompter ? { prompter: options.prompter } : {}),
    defaultFolder: options.defaultFolder ?? path.join(os.tmpdir(), 'ferry-test-no-default-folder'),
  });
  onCleanup('receiver main', async () => {
    controller.abort();
    await exit.catch(() => {});
  });
  const code = await within(exit, 'ferry-receive main() to return', () => `stdout:\n${io.stdout.text}\nstderr:\n${io.stderr.text}`);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** Records every event a headless core emits and lets a test wait for one (bounded). */
export class EventLog<Events extends Record<string, unknown>> {
  readonly seen: { name: keyof Events; payload: unknown }[] = [];
  #waiters = new Set<() => void>();

  constructor(emitter: { on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): unknown }, names: readonly (keyof Events)[]) {
    for (const name of names) {
      emitter.on(name, (payload) => {
        this.seen.push({ name, payload });
        for (const waiter of [...this.#waiters]) waiter();
      });
    }
  }

  /** Every payload of `name` so far. */
  all<K extends keyof Events>(name: K): Events[K][] {
    return this.seen.filter((e) => e.name === name).map((e) => e.payload as Events[K]);
  }

  /** Resolves with the first payload of `name`, waiting for it if needed. */
  waitFor<K extends keyof Events>(name: K): Promise<Events[K]> {
    const promise = new Promise<Events[K]>((resolve) => {
      const check = () => {
        const payload = this.all(name)[0];
        if (payload === undefined) return;
        this.#waiters.delete(check);
        resolve(payload);
      };
      this.#waiters.add(check);
      check();
    });
    return within(promise, `event ${String(name)}`, () => `events so far: ${JSON.stringify(this.seen)}`);
  }
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
  const sender = createSender({ security: { encryption: false }, offer, host: '127.0.0.1', port: 0, name: 'real-sender', logger: silentLogger });
  const log = new EventLog<SenderEvents>(sender, [
    'listening', 'connected', 'hello', 'request', 'file-sent', 'file-failed', 'session-complete', 'session-failed', 'refused',
  ]);
  onCleanup('sender', () => sender.close(true));
  await within(sender.listen(), 'the sender to listen');
  const { port } = await log.waitFor('listening');
  return { sender, log, port, address: `127.0.0.1:${port}` };
}

/** A port on 127.0.0.1 where nothing listens: bound, noted, closed. */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server on 127.0.0.1 port 0 handing each connection to `onSocket`; closed after the test. */
export async function startServer(
  onSocket: (socket: Socket) => void,
): Promise<{ port: number; address: string; sockets: ReadonlySet<Socket> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // The receiver under test may reset the connection; that is not a test failure.
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup('fake server', async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { port, address: `127.0.0.1:${port}`, sockets };
}

/** A frame a fake sender read from the receiver. */
export type ReceivedFrame = { readonly type: number; readonly message: unknown };

/** The sender's side of one connection, driven step by step by a test script. */
export interface FakePeer {
  readonly socket: Socket;
  /** Every frame received so far. */
  readonly frames: readonly ReceivedFrame[];
  /** The next frame from the receiver (bounded), or null once it has closed the connection. */
  next(): Promise<ReceivedFrame | null>;
  /** The next frame, which must be of `type`. */
  expect<T extends MessageType>(type: T): Promise<MessageOf<T>>;
  /** Sends a control message (encodeMessage checks only its shape, so hostile paths go through). */
  send<T extends MessageType>(type: T, message: MessageOf<T>): void;
  /** Sends one DATA frame around `bytes`. */
  data(bytes: Uint8Array | string): void;
  /** Waits for HELLO, then sends an OFFER of `entries`. */
  offer(entries: OfferEntry[], sender?: { name: string; host: string }): Promise<void>;
  /** Resolves once the receiver has closed the connection; every frame is then in `frames`. */
  readonly closed: Promise<void>;
}

/**
 * A hostile (or merely scripted) sender: sends its preamble at once, decodes what the receiver
 * sends, and runs `script` for the first connection. `script` errors surface through `done`.
 */
export async function startFakeSender(script: (peer: FakePeer) => Promise<void>) {
  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => {});
  let peer: FakePeer | undefined;
  const server = await startServer((socket) => {
    if (peer) {
      socket.destroy();
      return;
    }
    peer = createPeer(socket);
    script(peer).then(resolveDone, rejectDone);
  });
  return {
    ...server,
    /** The accepted connections still open. */
    sockets: server.sockets,
    /** The script's outcome, bounded. */
    done: () => within(done, 'the fake sender script', () => `frames: ${JSON.stringify(peer?.frames ?? [])}`),
    /** Every frame the receiver sent, once it has closed the connection. */
    frames: async () => {
      if (!peer) throw new Error('nobody connected to the fake sender');
      await within(peer.closed, 'the receiver to close the connection', () => JSON.stringify(peer?.frames));
      return peer.frames;
    },
  };
}

function createPeer(socket: Socket): FakePeer {
  const decoder = new FrameDecoder({ expectPreamble: true });
  const frames: ReceivedFrame[] = [];
  let read = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const closed = once(socket, 'close').then(() => {
    ended = true;
    wake?.();
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const event of decoder.push(chunk)) {
        if (event.kind !== 'frame') continue;
        frames.push({ type: event.type, message: isMessageType(event.type) ? decodeMessage(event.type, event.payload) : undefined });
      }
    } catch (error) {
      failure ??= error;
      socket.destroy();
    }
    wake?.();
  });
  socket.write(encodePreamble());

  const next = async (): Promise<ReceivedFrame | null> => {
    for (;;) {
      const frame = frames[read];
      if (frame) {
        read++;
        return frame;
      }
      if (failure) throw failure;
      if (ended) return null;
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await within(arrived, 'a frame from the receiver', () => JSON.stringify(frames));
    }
  };
  const peer: FakePeer = {
    socket,
    frames,
    closed,
    next,
    async expect(type) {
      const frame = await next();
      if (frame?.type !== type) throw new Error(`expected frame type ${type} from the receiver, got ${JSON.stringify(frame)}`);
      return frame.message as never;
    },
    send(type, message) {
      socket.write(concatFrame(type, encodeMessage(type, message)));
    },
    data(bytes) {
      socket.write(concatFrame(FrameType.DATA, typeof bytes === 'string' ? Buffer.from(bytes) : bytes));
    },
    async offer(entries, sender = { name: 'mallory', host: 'evil' }) {
      await peer.expect(FrameType.HELLO);
      peer.send(FrameType.OFFER, { session: randomBytes(16).toString('hex'), sender, entries });
    },
  };
  return peer;
}
