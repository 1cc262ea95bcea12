import { describe, expect, it } from 'vitest';
import {
  ConnectionClosedError,
  ErrorCode,
  FerryError,
  IntegrityError,
  isErrorCode,
  LimitError,
  PeerError,
  ProtocolError,
  TimeoutError,
  UnsafeOfferError,
} from '../src/errors.ts';

const cause = new Error('underlying');

describe('error classes', () => {
  it.each([
    ['FerryError', new FerryError(ErrorCode.INTERNAL, 'm', { cause }), ErrorCode.INTERNAL],
    ['ProtocolError', new ProtocolError(ErrorCode.BAD_MAGIC, 'm', { cause }), ErrorCode.BAD_MAGIC],
    ['LimitError', new LimitError('m', { cause }), ErrorCode.LIMIT_EXCEEDED],
    ['UnsafeOfferError', new UnsafeOfferError('../x', 'm'), ErrorCode.UNSAFE_OFFER],
    ['IntegrityError', new IntegrityError(ErrorCode.DIGEST_MISMATCH, 'm', { cause }), ErrorCode.DIGEST_MISMATCH],
    ['PeerError', new PeerError(ErrorCode.DECLINED, 'm', { cause }), ErrorCode.DECLINED],
    ['TimeoutError', new TimeoutError('m', { cause }), ErrorCode.TIMEOUT],
    ['ConnectionClosedError', new ConnectionClosedError('m', { cause }), ErrorCode.CONNECTION_CLOSED],
  ] as const)('%s has its literal name, its code and the cause it wraps', (name, error, code) => {
    expect(error).toBeInstanceOf(FerryError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    if (!(error instanceof UnsafeOfferError)) expect(error.cause).toBe(cause);
  });

  it('keeps the offending path on UnsafeOfferError', () => {
    expect(new UnsafeOfferError('a\u202eb', 'bidi').path).toBe('a\u202eb');
  });
});

describe('isErrorCode', () => {
  it('knows every ErrorCode value and nothing else', () => {
    for (const code of Object.values(ErrorCode)) expect(isErrorCode(code)).toBe(true);
    expect(isErrorCode('ERR_FROM_THE_FUTURE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('')).toBe(false);
  });

  it('uses ERR_ codes that ERROR and FILE_ACK frames can carry', () => {
    for (const code of Object.values(ErrorCode)) expect(code).toMatch(/^ERR_[A-Z0-9_]{1,60}$/);
  });
});
