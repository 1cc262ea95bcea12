import { ErrorCode, FerryError } from '@ferry/protocol';

export { UsageError } from '@ferry/cli';

/** The sender could not start listening (port in use, no permission, bad address). */
export class ListenError extends FerryError {
  override name = 'ListenError';
  readonly reason: 'in-use' | 'denied' | 'bad-address' | 'other';
  constructor(reason: ListenError['reason'], message: string, options?: { cause?: unknown }) {
    super(ErrorCode.INTERNAL, message, options);
    this.reason = reason;
  }
}
