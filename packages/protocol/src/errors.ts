/** Ferry's typed errors. Each class has a literal `code`; callers match on `code`, never on text. */

/** Every error code Ferry puts on the wire or raises locally; PROTOCOL.md lists each reaction. */
export const ErrorCode = {
  BAD_MAGIC: 'ERR_BAD_MAGIC',
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  UNKNOWN_FRAME_TYPE: 'ERR_UNKNOWN_FRAME_TYPE',
  TRUNCATED: 'ERR_TRUNCATED',
  BAD_MESSAGE: 'ERR_BAD_MESSAGE',
  UNEXPECTED_FRAME: 'ERR_UNEXPECTED_FRAME',
  UNSAFE_OFFER: 'ERR_UNSAFE_OFFER',
  LIMIT_EXCEEDED: 'ERR_LIMIT_EXCEEDED',
  UNKNOWN_FILE: 'ERR_UNKNOWN_FILE',
  SIZE_MISMATCH: 'ERR_SIZE_MISMATCH',
  DIGEST_MISMATCH: 'ERR_DIGEST_MISMATCH',
  SOURCE_CHANGED: 'ERR_SOURCE_CHANGED',
  SOURCE_UNREADABLE: 'ERR_SOURCE_UNREADABLE',
  NO_SPACE: 'ERR_NO_SPACE',
  WRITE_FAILED: 'ERR_WRITE_FAILED',
  DECLINED: 'ERR_DECLINED',
  TIMEOUT: 'ERR_TIMEOUT',
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  CANCELLED: 'ERR_CANCELLED',
  INTERNAL: 'ERR_INTERNAL',
  ENCRYPTION_MISMATCH: 'ERR_ENCRYPTION_MISMATCH',
  TLS_FAILED: 'ERR_TLS_FAILED',
  PAIRING_FAILED: 'ERR_PAIRING_FAILED',
  PAIRING_UNAVAILABLE: 'ERR_PAIRING_UNAVAILABLE',
  CODE_REQUIRED: 'ERR_CODE_REQUIRED',
  KEY_CHANGED: 'ERR_KEY_CHANGED',
  ACK_MISMATCH: 'ERR_ACK_MISMATCH',
  /** One side asked for a conversation (§12) and the other holds a one-way transfer, or the reverse. */
  MODE_MISMATCH: 'ERR_MODE_MISMATCH',
  /** The key a sender found on the network presents does not start with the fingerprint it announced (§14). */
  KEY_MISMATCH: 'ERR_KEY_MISMATCH',
} as const;

/** One of Ferry's error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Whether a string received from a peer is one of the codes this version knows. */
export function isErrorCode(value: string): value is ErrorCode {
  return KNOWN_CODES.has(value);
}

/** Base of every Ferry error. */
export class FerryError extends Error {
  override name = 'FerryError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The peer broke the protocol: bad bytes, a bad message, or a frame in the wrong state. */
export class ProtocolError extends FerryError {
  override name = 'ProtocolError';
}

/** A peer announced a length, count or size beyond a named limit. */
export class LimitError extends FerryError {
  override name = 'LimitError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.LIMIT_EXCEEDED, message, options);
  }
}

/** An offer contains a name that is unsafe to write on some platform; nothing is written. */
export class UnsafeOfferError extends FerryError {
  override name = 'UnsafeOfferError';
  /** The offending path as received (escape it before showing it). */
  readonly path: string;
  constructor(path: string, reason: string) {
    super(ErrorCode.UNSAFE_OFFER, reason);
    this.path = path;
  }
}

/** A file arrived with the wrong size or digest, or its source changed while it was read. */
export class IntegrityError extends FerryError {
  override name = 'IntegrityError';
}

/** The peer sent an ERROR frame; `code` is the peer's code. */
export class PeerError extends FerryError {
  override name = 'PeerError';
}

/**
 * Encryption or authentication failed: the modes did not match, TLS failed, the pairing code
 * was wrong, or a remembered peer showed another key. Messages never contain the code.
 */
export class AuthError extends FerryError {
  override name = 'AuthError';
}

/** A deadline passed. */
export class TimeoutError extends FerryError {
  override name = 'TimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.TIMEOUT, message, options);
  }
}

/** The connection ended before the exchange did. */
export class ConnectionClosedError extends FerryError {
  override name = 'ConnectionClosedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CONNECTION_CLOSED, message, options);
  }
}

/**
 * Whether an error should be explained to the peer in an ERROR frame before closing: not when
 * the peer itself sent the error, the link is already gone, or a deadline passed.
 */
export function shouldTellPeer(error: unknown): error is FerryError {
  if (!(error instanceof FerryError) || error instanceof PeerError) return false;
  return error.code !== ErrorCode.CONNECTION_CLOSED && error.code !== ErrorCode.TIMEOUT && error.code !== ErrorCode.CANCELLED;
}
