import { ErrorCode, FerryError } from '@ferry/protocol';

import { UsageError } from '@ferry/cli';

export { UsageError };
export { DestinationError } from '@ferry/engine';

/** A usage error that comes with its own advice, shown instead of the pointer to --help. */
export class AdvisedUsageError extends UsageError {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

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

/**
 * The transfer stopped after the connection broke and could not be resumed: the window of
 * `--retry` ran out, the sender no longer knows the transfer, or its offer changed (§13).
 */
export class ResumeStoppedError extends FerryError {
  override name = 'ResumeStoppedError';
}
