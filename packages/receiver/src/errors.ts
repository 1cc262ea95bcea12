import { ErrorCode, FerryError } from '@ferry/protocol';

export { UsageError } from '@ferry/cli';

/** Reaching the sender failed before any Ferry byte was exchanged. */
export class ConnectError extends FerryError {
  override name = 'ConnectError';
  readonly reason: 'refused' | 'unreachable' | 'timeout' | 'not-found' | 'other';
  constructor(reason: ConnectError['reason'], message: string, options?: { cause?: unknown }) {
    super(reason === 'timeout' ? ErrorCode.TIMEOUT : ErrorCode.CONNECTION_CLOSED, message, options);
    this.reason = reason;
  }
}

/** Something answered at the address, but it is not a Ferry sender (or not this version). */
export class NotFerryError extends FerryError {
  override name = 'NotFerryError';
}

/** The destination folder cannot take the offer: missing, not writable, or too little space. */
export class DestinationError extends FerryError {
  override name = 'DestinationError';
}
