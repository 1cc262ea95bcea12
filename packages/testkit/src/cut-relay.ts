/**
 * A relay for several connections in a row between a receiver and a real ferry-send, which cuts
 * chosen connections after a chosen number of the sender's bytes and relays the others
 * untouched, counting every byte: what a transfer that resumes costs on the wire. Helpers to
 * kill a CLI at a byte point, for runs that are interrupted and started again.
 */
import net, { type Socket } from 'node:net';
import type { CliProcess } from './cli-process.ts';
import { seededRandom } from './faults.ts';
import { listenOnLoopback } from './hostile/listen.ts';
import type { ExitInfo } from './output-log.ts';

/** One connection through a {@link CutRelay}. */
export interface RelayedConnection {
  /** 0 for the first connection the relay accepted. */
  readonly index: number;
  /** Bytes the sender sent towards the receiver on this connection. */
  fromSender: number;
  /** Bytes the receiver sent towards the sender on this connection. */
  fromReceiver: number;
  /** Whether the relay reset this connection at its cut point. */
  cut: boolean;
  /** Resolves once both of its sockets have closed. */
  readonly closed: Promise<void>;
}

/** A relay on 127.0.0.1 that cuts connections where a test says. */
export interface CutRelay {
  readonly port: number;
  /** `127.0.0.1:<port>`, what the receiver is given instead of the sender's address. */
  readonly address: string;
  /** Every connection accepted so far, in order. */
  readonly connections: readonly RelayedConnection[];
  /** Bytes from the sender to the receiver, over every connection so far. */
  fromSender(): number;
  /** Bytes from the receiver to the sender, over every connection so far. */
  fromReceiver(): number;
  /** Resolves once the `n`-th cut (0-based) has fired: both sockets of that connection reset. */
  cutFired(n: number): Promise<void>;
  /**
   * Resolves once `bytes` sender→receiver bytes have passed (over every connection); rejects
   * after `timeoutMs`.
   */
  passed(bytes: number, timeoutMs: number): Promise<void>;
  /** Relays connections accepted from now on to another port (a sender started again). */
  retarget(senderPort: number): void;
  /** Resets every connection open now (RST both ways), whatever the cut points say. */
  cutNow(): void;
  /**
   * Stops relaying the sender's bytes on every connection, open now or opened later, until
   * `release()`: a transfer stalls mid-file, as on a link that stopped moving.
   */
  hold(): void;
  release(): void;
}

/**
 * Relays each connection to 127.0.0.1:`senderPort`. Connection `n` (0-based, in the order
 * accepted) is reset in both directions (RST, as a network fault would) once exactly
 * `cuts[n]` bytes have passed from the sender on it: the chunk that crosses the point is split
 * there, its head delivered first. Connections past the end of `cuts`, or whose cut is
 * `Infinity`, are relayed untouched. Everything it opens is closed after the test.
 */
export async function startCutRelay(
  senderPort: number,
  cuts: readonly number[] = [],
): Promise<CutRelay> {
  const sockets = new Set<Socket>();
  const connections: RelayedConnection[] = [];
  const fired = cuts.map(() => deferred());
  const byteWaiters = new Set<{ bytes: number; resolve: () => void }>();
  let target = senderPort;
  let totalFromSender = 0;
  let totalFromReceiver = 0;
  let holding = false;
  const senderSides = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    // Either side may reset or vanish (a killed process): the test judges that, not the relay.
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  };
  const senderBytes = (bytes: number) => {
    totalFromSender += bytes;
    for (const waiter of byteWaiters) {
      if (totalFromSender < waiter.bytes) continue;
      byteWaiters.delete(waiter);
      waiter.resolve();
    }
  };

  const server = net.createServer((down) => {
    track(down);
    down.pause();
    const index = connections.length;
    const cutAt = cuts[index] ?? Number.POSITIVE_INFINITY;
    const up = net.connect({ host: '127.0.0.1', port: target });
    track(up);
    senderSides.add(up);
    up.once('close', () => senderSides.delete(up));
    const closed = Promise.all([onceClosed(down), onceClosed(up)]).then(() => undefined);
    const connection: RelayedConnection = {
      index,
      fromSender: 0,
      fromReceiver: 0,
      cut: false,
      closed,
    };
    connections.push(connection);
    // Backpressure both ways, as a network has: what the relay has read it has delivered, or
    // is delivering, so its counts are bytes on their way and never a backlog held here.
    const relay = (from: Socket, to: Socket, chunk: Buffer) => {
      if (to.write(chunk)) return;
      from.pause();
      to.once('drain', () => {
        if (!connection.cut && !(holding && from === up)) from.resume();
      });
    };
    const reset = () => {
      connection.cut = true;
      for (const socket of [down, up]) if (!socket.destroyed) socket.resetAndDestroy();
      fired[index]?.resolve();
    };
    up.once('connect', () => {
      down.on('data', (chunk: Buffer) => {
        if (connection.cut) return;
        connection.fromReceiver += chunk.byteLength;
        totalFromReceiver += chunk.byteLength;
        relay(down, up, chunk);
      });
      up.on('data', (chunk: Buffer) => {
        if (connection.cut) return;
        const room = cutAt - connection.fromSender;
        if (chunk.byteLength < room) {
          connection.fromSender += chunk.byteLength;
          senderBytes(chunk.byteLength);
          relay(up, down, chunk);
          if (holding) up.pause();
          return;
        }
        const head = chunk.subarray(0, room);
        connection.fromSender += head.byteLength;
        senderBytes(head.byteLength);
        // Reading stops here: nothing after the cut point reaches the receiver.
        up.pause();
        if (head.byteLength > 0) down.write(head, reset);
        else reset();
      });
      down.resume();
      if (holding) up.pause();
    });
    // An end is passed on as an end, a failure as a failure: a peer that dies is seen as dead.
    for (const [from, to] of [
      [down, up],
      [up, down],
    ] as const) {
      from.on('end', () => {
        if (!connection.cut) to.end();
      });
      from.on('close', (hadError: boolean) => {
        if (connection.cut) return;
        if (hadError) to.resetAndDestroy();
        else to.destroy();
      });
    }
  });
  const { port, address } = await listenOnLoopback(server, sockets, 'cut relay');
  return {
    port,
    address,
    connections,
    fromSender: () => totalFromSender,
    fromReceiver: () => totalFromReceiver,
    cutFired: (n) => {
      const cut = fired[n];
      if (!cut) throw new Error(`the relay has no cut number ${n} (it has ${cuts.length})`);
      return cut.promise;
    },
    passed: (bytes, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (totalFromSender >= bytes) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          byteWaiters.delete(waiter);
          reject(
            new Error(
              `the relay saw ${totalFromSender} of ${bytes} bytes from the sender within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          bytes,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        byteWaiters.add(waiter);
      }),
    retarget: (senderPort2) => {
      target = senderPort2;
    },
    cutNow: () => {
      for (const socket of sockets) if (!socket.destroyed) socket.resetAndDestroy();
    },
    hold: () => {
      holding = true;
      for (const up of senderSides) up.pause();
    },
    release: () => {
      holding = false;
      for (const up of senderSides) if (!up.destroyed) up.resume();
    },
  };
}

/**
 * `count` cut points for {@link startCutRelay}, picked by `seed` (the same in every run),
 * each in [`min`, `max`).
 */
export function seededCuts(seed: number, count: number, min: number, max: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => min + Math.floor(random() * (max - min)));
}

/**
 * Waits until a `--json` ferry-receive reports (in its `progress` events) at least `bytes`
 * received; rejects after `timeoutMs` or if it exits first.
 */
export async function progressPast(
  receiver: CliProcess,
  bytes: number,
  timeoutMs: number,
): Promise<void> {
  await receiver.waitForEvent('progress', timeoutMs, (event) => Number(event.bytes) >= bytes);
}

/**
 * Kills `proc` with SIGKILL once `when` resolves (a byte point: {@link progressPast},
 * {@link CutRelay.passed}), as a crash or a power cut would, and waits for it to be gone.
 */
export async function killAt(
  proc: CliProcess,
  when: Promise<unknown>,
  timeoutMs = 20_000,
): Promise<ExitInfo> {
  await when;
  proc.signal('SIGKILL');
  const exit = await proc.waitForExit(timeoutMs);
  if (exit.signal !== 'SIGKILL')
    throw new Error(
      proc.log.report(`expected a SIGKILL, but it ended first (${JSON.stringify(exit)})`),
    );
  return exit;
}

function onceClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed && socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
