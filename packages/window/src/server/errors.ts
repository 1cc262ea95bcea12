/**
 * An action refused with a message for the user: plain words that say what to do next. The
 * window answers it as `{ error: { code, message } }` with `status`.
 */
export class WindowActionError extends Error {
  override name = 'WindowActionError';
  /** A stable code, `ERR_...`, that the client may act on. */
  readonly code: string;
  /** The HTTP status of the answer: 4xx for the user's input, 5xx for the app's failure. */
  readonly status: number;
  constructor(code: string, message: string, status = 400, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}
