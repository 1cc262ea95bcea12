import net from 'node:net';
import { ConnectError } from './errors.ts';

/**
 * Bytes one socket read may return. The socket reads into this one buffer again and again
 * (Node's `onread`), so receiving allocates nothing per read and makes no garbage.
 */
const READ_BUFFER_BYTES = 1024 * 1024;

/** A connected socket whose reads go to the function given to `setReader`. */
export interface ConnectedSocket {
  readonly socket: net.Socket;
  /** With `onread`: where each read chunk goes; it is only valid during the call. Return false to pause. */
  readonly setReader?: (reader: (chunk: Uint8Array) => boolean) => void;
}

/** Options of {@link connectTo}. */
export interface ConnectOptions {
  readonly signal?: AbortSignal | undefined;
  /**
   * Read with `onread` into one reused buffer (for a connection in clear). A socket that TLS
   * will take over must keep ordinary `data` events: TLS reads its handle itself.
   */
  readonly onread?: boolean;
}

/**
 * Opens a TCP connection within `timeoutMs`; failures become a ConnectError with a reason.
 * Only an `onread` connection has `setReader`; otherwise read the socket's `data` events.
 */
export function connectTo(host: string, port: number, timeoutMs: number, options: ConnectOptions = {}): Promise<ConnectedSocket> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    let reader: ((chunk: Uint8Array) => boolean) | undefined;
    const early: Buffer[] = [];
    const socket = net.connect({
      host,
      port,
      noDelay: true,
      // A sender may half-close right after END: our FILE_ACKs and DONE must still go out (F3).
      allowHalfOpen: true,
      ...(options.onread
        ? {
            onread: {
              buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
              callback: (bytes: number, buffer: Uint8Array) => {
                const chunk = buffer.subarray(0, bytes);
                if (reader) return reader(chunk);
                early.push(Buffer.from(chunk));
                return true;
              },
            },
          }
        : {}),
    });
    const setReader = (next: (chunk: Uint8Array) => boolean) => {
      reader = next;
      for (const chunk of early.splice(0)) next(chunk);
    };
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (error) {
        socket.destroy();
        reject(error);
      } else resolve(options.onread ? { socket, setReader } : { socket });
    };
    const onConnect = () => finish();
    const onError = (error: NodeJS.ErrnoException) => finish(explain(error, where));
    const onAbort = () => finish(new ConnectError('other', 'interrupted'));
    const timer = setTimeout(
      () => finish(new ConnectError('timeout', `timed out connecting to ${where} after ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
function explain(error: NodeJS.ErrnoException, where: string): ConnectError {
  switch (error.code) {
    case 'ECONNREFUSED':
      return new ConnectError('refused', `connection refused by ${where}: no ferry-send is listening there`, { cause: error });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return new ConnectError('unreachable', `${where} is unreachable from this machine`, { cause: error });
    case 'ETIMEDOUT':
      return new ConnectError('timeout', `timed out connecting to ${where}`, { cause: error });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new ConnectError('not-found', `cannot resolve the host name in ${where}`, { cause: error });
    default:
      return new ConnectError('other', `cannot connect to ${where}: ${error.code ?? error.message}`, { cause: error });
  }
}
