import net from 'node:net';
import { ConnectError } from './errors.ts';

const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** Opens a TCP connection within `timeoutMs`; failures become a ConnectError with a reason. */
export function connectTo(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Node hands these options to the socket's stream; the type omits the buffer size.
    const socket = net.connect({ host, port, noDelay: true, highWaterMark: SOCKET_BUFFER_BYTES } as net.NetConnectOpts);
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (error) {
        socket.destroy();
        reject(error);
      } else resolve(socket);
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
