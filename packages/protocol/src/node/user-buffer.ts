import type { Socket } from 'node:net';

/** Called with each chunk read into the reused buffer; return false to stop reading for now. */
export type UserBufferReader = (chunk: Uint8Array) => boolean;

interface StreamHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

interface UserBufferFields {
  readonly handle: StreamHandle & { useUserBuffer: (buffer: Uint8Array) => void };
  readonly kBuffer: symbol;
  readonly kBufferCb: symbol;
}

function userBufferFields(socket: Socket): UserBufferFields | undefined {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  const symbols = new Map(Object.getOwnPropertySymbols(socket).map((symbol) => [symbol.description, symbol]));
  const kBuffer = symbols.get('kBuffer');
  const kBufferCb = symbols.get('kBufferCb');
  if (!handle || typeof handle.useUserBuffer !== 'function' || !kBuffer || !kBufferCb) return undefined;
  const fields = socket as unknown as Record<symbol, unknown>;
  // Already reading into a buffer of its own, or not the fields we know.
  if (fields[kBuffer] !== null || fields[kBufferCb] !== null) return undefined;
  return { handle: handle as UserBufferFields['handle'], kBuffer, kBufferCb };
}

/** Whether {@link readIntoUserBuffer} can switch this socket (on this version of Node). */
export function canReadIntoUserBuffer(socket: Socket): boolean {
  return userBufferFields(socket) !== undefined;
}

/**
 * Switches a socket that is already open, such as the TLS socket made over a connected TCP
 * socket, to reading into one reused buffer: what `onread` does for a socket Node creates
 * itself, and what `tls.connect` ignores when it is given an existing socket.
 *
 * Why: a TLS socket otherwise hands out a fresh 16 KiB buffer per record, 65,536 per GiB, and
 * their allocation, page faults and garbage collection cost the receiver over a CPU-second
 * per GiB. Reading into one buffer removes all of them.
 *
 * This sets the same two fields that `onread` sets. They are Node internals (a test pins them
 * on the Node that Ferry runs on), so they are looked up by name and checked first: see
 * {@link canReadIntoUserBuffer}, and keep reading `data` events where it says no.
 *
 * The socket must be paused. Chunks it buffered before the switch go to `reader` first, in
 * order; then reading resumes, unless `reader` returned false. Each chunk is only valid during
 * the call. After `reader` returns false, the records already read off the socket are still
 * decrypted and handed over (a few, at most one socket read's worth): `reader` must take them.
 */
export function readIntoUserBuffer(socket: Socket, buffer: Uint8Array, reader: UserBufferReader): void {
  const found = userBufferFields(socket);
  if (!found) throw new Error('this socket cannot read into a buffer of its own on this version of Node');
  let more = true;
  for (let chunk: Buffer | null = socket.read(); chunk !== null; chunk = socket.read()) more = reader(chunk) && more;
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[found.kBuffer] = buffer;
  fields[found.kBufferCb] = (bytes: number, into: Uint8Array) => reader(into.subarray(0, bytes));
  found.handle.useUserBuffer(buffer);
  // Unless the reader already asked for a pause: then it resumes the socket when it is ready.
  if (more) socket.resume();
}
