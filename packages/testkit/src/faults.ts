import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, watch } from 'node:fs';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  concatFrame,
  encodeFrameHeader,
  encodeMessage,
  encodePreamble,
  FrameDecoder,
  FrameType,
  LIMITS,
  type MessageOf,
  type MessageType,
  normalizeCode,
  PairingCodes,
  PreambleFlag,
} from '@ferry/protocol';
import {
  Deadline,
  derivePasswordScalar,
  exchangePreamble,
  loadOrCreateIdentity,
  secureClient,
  secureServer,
} from '@ferry/protocol/node';
import { type CliProcess, makeConfigDir, spawnCli } from './cli-process.ts';
import { onCleanup } from './cleanup.ts';
import type { ReceivedFrame } from './fake-peers.ts';
import { listenOnLoopback } from './hostile/listen.ts';
import { receivedFrame } from './unit/frames.ts';

/** A seeded PRNG (mulberry32): the same seed picks the same fault offsets in every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes that went one way without the other side speaking in between. */
export interface Turn {
  readonly from: 'receiver' | 'sender';
  /** Bytes relayed (both ways) before this turn began. */
  readonly start: number;
  bytes: number;
}

/** What a fault relay does once `at` bytes (both directions together) have passed. */
export type FaultAction = 'reset' | 'hold';

/** A relay on 127.0.0.1 between a receiver and a real ferry-send, for one connection. */
export interface FaultRelay {
  readonly address: string;
  /** Every turn relayed so far, in order. */
  readonly turns: readonly Turn[];
  /** Bytes relayed so far, both directions. */
  forwarded(): number;
  /** Resolves once the fault fired: both sides reset, or the relay holds everything. */
  readonly reached: Promise<void>;
  /** After a hold: forwards what was held and relays normally again. */
  release(): void;
}

/**
 * Relays the first connection to 127.0.0.1:`senderPort`, counting bytes both ways. After `at`
 * bytes (exactly: a chunk is split there) it either resets both TCP connections (RST, as a
 * network fault would) or holds: stops reading and forwarding in both directions, with both
 * connections left open, until `release()`. `at: Infinity` relays untouched (and records turns).
 */
export async function startFaultRelay(
  senderPort: number,
  at: number,
  action: FaultAction,
  options: { readonly senderBytesPerSecond?: number } = {},
): Promise<FaultRelay> {
  const turns: Turn[] = [];
  const sockets = new Set<Socket>();
  let total = 0;
  let held: { to: Socket; chunk: Buffer }[] | undefined;
  let pair: [Socket, Socket] | undefined;
  let fire!: () => void;
  const reached = new Promise<void>((resolve) => {
    fire = resolve;
  });
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  };
  const record = (from: Turn['from'], bytes: number) => {
    const last = turns.at(-1);
    if (last?.from === from) last.bytes += bytes;
    else turns.push({ from, start: total, bytes });
    total += bytes;
  };
  const trigger = (to: Socket, head: Buffer, rest: Buffer) => {
    const [down, up] = pair!;
    if (action === 'reset') {
      const reset = () => {
        for (const socket of [down, up]) if (!socket.destroyed) socket.resetAndDestroy();
        fire();
      };
      if (head.byteLength > 0) to.write(head, reset);
      else reset();
      return;
    }
    if (head.byteLength > 0) to.write(head);
    held = rest.byteLength > 0 ? [{ to, chunk: rest }] : [];
    down.pause();
    up.pause();
    fire();
  };
  const forward = (from: Socket, to: Socket, who: Turn['from']) => {
    from.on('data', (chunk: Buffer) => {
      if (held) {
        held.push({ to, chunk });
        return;
      }
      const room = at - total;
      if (chunk.byteLength < room) {
        record(who, chunk.byteLength);
        to.write(chunk);
        const rate = who === 'sender' ? options.senderBytesPerSecond : undefined;
        if (rate) {
          // Throttled: read nothing more from the sender until this chunk's time is up.
          from.pause();
          setTimeout(() => {
            if (!held) from.resume();
          }, (chunk.byteLength / rate) * 1000);
        }
        return;
      }
      const head = chunk.subarray(0, room);
      record(who, head.byteLength);
      trigger(to, head, chunk.subarray(room));
    });
    // While holding, nothing passes: not even one side giving up.
    from.on('end', () => {
      if (!held) to.end();
    });
    from.on('close', () => {
      if (!held) to.destroy();
    });
  };
  const server = net.createServer((down) => {
    track(down);
    if (pair) {
      down.destroy();
      return;
    }
    down.pause();
    const up = net.connect({ host: '127.0.0.1', port: senderPort });
    track(up);
    pair = [down, up];
    up.once('connect', () => {
      forward(down, up, 'receiver');
      forward(up, down, 'sender');
      down.resume();
    });
  });
  const { address } = await listenOnLoopback(server, sockets, 'fault relay');
  return {
    address,
    turns,
    forwarded: () => total,
    reached,
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      at = Number.POSITIVE_INFINITY;
      for (const { to, chunk } of waiting) to.write(chunk);
      for (const socket of pair ?? []) socket.resume();
    },
  };
}

/** Resolves once `file` exists (watching its folder); rejects after `timeoutMs`. */
export async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  // Watching starts before the first look, so a file made in between is not missed.
  const watcher = watch(path.dirname(file));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${file} did not appear within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (!existsSync(file)) return;
        clearTimeout(timer);
        resolve();
      };
      watcher.on('change', check);
      watcher.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      check();
    });
  } finally {
    watcher.close();
  }
}

/** Byte ranges [start, end) of a whole encrypted session, by phase, as relayed. */
export type Phases = Record<'preamble' | 'tls' | 'auth' | 'hello' | 'offer' | 'request' | 'file', readonly [number, number]>;

/**
 * Finds the phases in the turns of one whole session (a calibration run): the preambles, the
 * TLS handshake (ClientHello and the sender's flight), authentication (the receiver's last TLS
 * flight with its AUTH, up to the sender's final AUTH_REPLY), then HELLO, OFFER, REQUEST, and
 * the file, which is the largest turn from the sender.
 */
export function phasesOf(turns: readonly Turn[]): Phases {
  const file = turns.reduce((best, turn, index) => (turn.from === 'sender' && turn.bytes > turns[best]!.bytes ? index : best), 0);
  const turn = (index: number, from: Turn['from']): Turn => {
    const found = turns[index];
    if (found?.from !== from) throw new Error(`unexpected turns: ${JSON.stringify(turns)}`);
    return found;
  };
  const span = (first: Turn, next: Turn) => [first.start, next.start] as const;
  const [request, offer, hello] = [turn(file - 1, 'receiver'), turn(file - 2, 'sender'), turn(file - 3, 'receiver')];
  const fileTurn = turn(file, 'sender');
  return {
    preamble: [1, turn(2, 'receiver').start],
    tls: span(turn(2, 'receiver'), turn(4, 'receiver')),
    auth: span(turn(4, 'receiver'), hello),
    hello: span(hello, offer),
    offer: span(offer, request),
    request: span(request, fileTurn),
    file: [fileTurn.start, fileTurn.start + fileTurn.bytes],
  };
}

/** What a flood saw. */
export interface FloodStats {
  /** Connections opened so far. */
  opened: number;
  /** How long each closed connection stayed open, in ms, in closing order. */
  readonly lifetimes: number[];
  /** Connections to which the sender sent anything (its preamble): none should get more. */
  answered: number;
}

/**
 * Keeps `width` connections to 127.0.0.1:`port` open from the loopback `sources`, round robin,
 * each sending a valid preamble and then nothing, reopened `pauseMs` after the sender closes
 * it, until `stop()`. No connection ever authenticates.
 */
export function startFlood(port: number, width: number, sources: readonly string[], pauseMs: number) {
  const stats: FloodStats = { opened: 0, lifetimes: [], answered: 0 };
  const live = new Set<Socket>();
  let stopped = false;
  let next = 0;
  const open = () => {
    if (stopped) return;
    const localAddress = sources[next++ % sources.length]!;
    const started = performance.now();
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    stats.opened++;
    live.add(socket);
    socket.on('error', () => {});
    socket.on('connect', () => socket.write(encodePreamble(1, PreambleFlag.TLS)));
    socket.resume();
    socket.once('close', () => {
      live.delete(socket);
      stats.lifetimes.push(performance.now() - started);
      if (socket.bytesRead > 0) stats.answered++;
      if (!stopped) setTimeout(open, pauseMs).unref();
    });
  };
  for (let i = 0; i < width; i++) open();
  const stop = async () => {
    stopped = true;
    const closing = [...live].map((socket) => once(socket, 'close'));
    for (const socket of live) socket.destroy();
    await Promise.all(closing);
  };
  onCleanup('flood', stop);
  return { stats, stop };
}

/** Resident memory of a running process, from /proc: now, and its peak so far (kB). */
export function memoryOf(pid: number): { rssKb: number; peakKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

/** Bounds the raw peers' own handshakes, like a real peer's deadline. */
const PEER_HANDSHAKE_MS = 20_000;

/** A receiver written here that pairs for real, then does only what the test tells it. */
export interface RawReceiver {
  /** The TLS socket, authenticated. */
  readonly socket: tls.TLSSocket;
  /** The TCP socket under it. */
  readonly tcp: Socket;
  send<T extends MessageType>(type: T, message: MessageOf<T>): void;
  /** The next frame from the sender (DATA bytes are skipped); rejects if the link closes first. */
  next(): Promise<ReceivedFrame>;
  /** Resolves when the connection has closed. */
  readonly closed: Promise<void>;
}

/** Connects to a real ferry-send at 127.0.0.1:`port` and pairs with `code` (`1234-5678`). */
export async function connectRawReceiver(port: number, code: string): Promise<RawReceiver> {
  const identity = await loadOrCreateIdentity(makeConfigDir('raw-receiver'));
  const tcp = net.connect({ host: '127.0.0.1', port });
  tcp.on('error', () => {});
  onCleanup('raw receiver', () => {
    tcp.destroy();
  });
  await once(tcp, 'connect');
  const closed = once(tcp, 'close').then(() => undefined);
  const deadline = new Deadline(PEER_HANDSHAKE_MS, tcp, 'raw receiver: handshake');
  const password = await derivePasswordScalar(normalizeCode(code)!);
  let outcome: Awaited<ReturnType<typeof secureClient>>;
  try {
    await exchangePreamble({ socket: tcp }, 'client', true, deadline);
    outcome = await secureClient(tcp, { identity, host: '127.0.0.1', password }, deadline);
  } finally {
    deadline.clear();
  }
  if (outcome.kind !== 'secured') throw new Error('the sender asked the raw receiver for a code twice');
  const socket = outcome.secured.socket as tls.TLSSocket;
  socket.on('error', () => {});
  const decoder = new FrameDecoder({ limits: LIMITS });
  const frames: ReceivedFrame[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  socket.on('data', (chunk: Buffer) => {
    for (const event of decoder.push(chunk)) {
      if (event.kind !== 'frame') continue;
      frames.push(receivedFrame(event.type, event.payload));
    }
    wake?.();
  });
  socket.once('close', () => {
    ended = true;
    wake?.();
  });
  socket.resume();
  return {
    socket,
    tcp,
    closed,
    send: (type, message) => {
      socket.write(concatFrame(type, encodeMessage(type, message)));
    },
    next: async () => {
      for (;;) {
        const frame = frames.shift();
        if (frame) return frame;
        if (ended) throw new Error('the sender closed the connection');
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

/** The encoded frame of `message`, for a peer that sends it a byte at a time. */
export function frameBytes<T extends MessageType>(type: T, message: MessageOf<T>): Uint8Array {
  return concatFrame(type, encodeMessage(type, message));
}

/**
 * Writes `bytes` one at a time, `everyMs` apart, until all are sent or the socket closes.
 * Resolves with how many were written.
 */
export async function trickle(socket: Socket, bytes: Uint8Array, everyMs: number): Promise<number> {
  let sent = 0;
  while (sent < bytes.byteLength && !socket.destroyed && socket.writable) {
    socket.write(bytes.subarray(sent, sent + 1));
    sent++;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return sent;
}

/** The first flight of a TLS 1.3 client (its ClientHello), as bytes, without any network. */
export async function clientHello(): Promise<Uint8Array> {
  const written: Buffer[] = [];
  const wire = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk);
      done();
    },
  });
  const client = tls.connect({ socket: wire, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
  client.on('error', () => {});
  while (written.length === 0) await new Promise((resolve) => setImmediate(resolve));
  client.destroy();
  return Buffer.concat(written);
}

/** A sender written here that pairs for real, offers one file, then trickles its only DATA frame. */
export interface TricklingSender {
  readonly address: string;
  /** Its current pairing code (`1234-5678`), once shown. */
  code(): string | undefined;
  /** Resolves with the number of file bytes trickled when the receiver closed the connection. */
  readonly closed: Promise<number>;
}

/**
 * Offers `slow.bin` of `size` bytes; on REQUEST sends FILE_START and one DATA frame header for
 * the whole file, then the file's bytes one at a time, `everyMs` apart: a steady stream of
 * progress inside one frame that never completes in time.
 */
export async function startTricklingSender(size: number, everyMs: number): Promise<TricklingSender> {
  const pairing = new PairingCodes(derivePasswordScalar);
  let code: string | undefined;
  pairing.on('code', (event) => {
    code = event.code;
  });
  const security = { identity: await loadOrCreateIdentity(makeConfigDir('trickling-sender')), pairing };
  pairing.start();
  let resolveClosed!: (sent: number) => void;
  const closed = new Promise<number>((resolve) => {
    resolveClosed = resolve;
  });
  const sockets = new Set<Socket>();
  const server = net.createServer((tcp) => {
    sockets.add(tcp);
    tcp.on('error', () => {});
    void (async () => {
      const deadline = new Deadline(PEER_HANDSHAKE_MS, tcp, 'trickling sender: handshake');
      let channel: Socket;
      try {
        await exchangePreamble({ socket: tcp }, 'server', true, deadline);
        channel = (await secureServer(tcp, security, deadline)).socket;
      } catch {
        tcp.destroy();
        return;
      } finally {
        deadline.clear();
      }
      channel.on('error', () => {});
      let trickling = false;
      channel.once('close', () => {
        if (!trickling) resolveClosed(0);
      });
      const decoder = new FrameDecoder({ limits: LIMITS });
      channel.on('data', (chunk: Buffer) => {
        for (const event of decoder.push(chunk)) {
          if (event.kind !== 'frame') continue;
          if (event.type === FrameType.HELLO) {
            channel.write(
              frameBytes(FrameType.OFFER, {
                session: '0'.repeat(32),
                sender: { name: 'slow', host: 'loris' },
                entries: [{ kind: 'file', path: 'slow.bin', size }],
              }),
            );
          } else if (event.type === FrameType.REQUEST) {
            channel.write(frameBytes(FrameType.FILE_START, { id: 0, offset: 0, size }));
            channel.write(encodeFrameHeader(FrameType.DATA, size));
            trickling = true;
            void trickle(channel, new Uint8Array(size).fill(0x61), everyMs).then(resolveClosed);
          }
        }
      });
      channel.resume();
    })();
  });
  const { address } = await listenOnLoopback(server, sockets, 'trickling sender');
  return { address, code: () => code, closed };
}

/** How ferry-receive's folder is mounted inside its own mount namespace. */
export interface MountPlan {
  /** The folder to mount over (it stays empty outside the namespace). */
  readonly dir: string;
  /** tmpfs options, e.g. `size=4m` or `ro,size=1m`. */
  readonly options: string;
  /**
   * Fill the tmpfs (a `.filler` file) as soon as the first `.part` file appears anywhere in it, then
   * create this file (outside the mount) to say so.
   */
  readonly fillThenTouch?: string;
  /** Where the listing of the mounted folder is written when ferry-receive has exited. */
  readonly listing: string;
}

/** Mounts the tmpfs, runs the command, and lists the tmpfs before it disappears. */
const MOUNT_SCRIPT = `
out=$1; opts=$2; listing=$3; fill=$4; shift 4
mount -t tmpfs -o "$opts" tmpfs "$out" || exit 97
"$@" &
child=$!
if [ -n "$fill" ]; then
  while [ -z "$(find "$out" -name '*.part' | head -n 1)" ]; do
    kill -0 "$child" 2>/dev/null || break
    sleep 0.02
  done
  dd if=/dev/zero of="$out/.filler" bs=64k 2>/dev/null
  : > "$fill"
fi
wait "$child"
rc=$?
(cd "$out" && find . -mindepth 1 | sort) > "$listing"
exit "$rc"
`;

let unshareArgs: string[] | undefined;

/**
 * How to get a private mount namespace here: as any user through a user namespace (root
 * inside it may mount a tmpfs), or, where those are disabled, as root directly. A new PID
 * namespace too, so killing `unshare` ends everything started inside.
 */
function namespaceArgs(): string[] {
  if (unshareArgs) return unshareArgs;
  const common = ['--mount', '--pid', '--fork', '--kill-child'];
  const candidates = [['--user', '--map-root-user', ...common], ...(process.getuid?.() === 0 ? [common] : [])];
  for (const args of candidates) {
    const probe = spawnSync('unshare', [...args, 'sh', '-c', 'mount -t tmpfs tmpfs /mnt'], { stdio: 'ignore', timeout: 10_000 });
    if (probe.status === 0) {
      unshareArgs = args;
      return args;
    }
  }
  throw new Error('cannot create a mount namespace here: unshare --user --map-root-user --mount failed, and this is not root');
}

/** Runs `node <script> ...args` in a mount namespace with `mount.dir` on a tmpfs of its own. */
export function spawnWithMount(script: string, args: readonly string[], mount: MountPlan, env: NodeJS.ProcessEnv): CliProcess {
  const prefix = [...namespaceArgs(), 'sh', '-c', MOUNT_SCRIPT, 'sh', mount.dir, mount.options, mount.listing, mount.fillThenTouch ?? ''];
  return spawnCli(script, args, { env, wrapper: { file: 'unshare', prefix, label: 'in a mount namespace' } });
}
