/**
 * Every way a run of the receiving window can end badly, in plain words, with what to do next
 * and whether Try again can help. Messages may quote the sender: they are escaped here as for
 * the terminal, and shown as text.
 */
import { DestinationError } from '@ferry/engine';
import {
  AuthError,
  ErrorCode,
  escapeForDisplay as esc,
  FerryError,
  PeerError,
  UnsafeOfferError,
} from '@ferry/protocol';
import type { ErrorSlice } from '@ferry/window/state/receive';
import { ConnectError, NotFerryError, ResumeStoppedError } from '../errors.ts';
import type { ReceiverEvents } from '../receiver.ts';

/** What the run had reached when it failed. */
export interface FailureContext {
  /** Partial data kept in the destination for a later run to resume. */
  readonly kept: ReceiverEvents['partial-kept'] | undefined;
  /** The user stopped it (Cancel), rather than something failing. */
  readonly cancelled: boolean;
}

const KEPT_NEXT =
  'What arrived is kept: Try again takes up where it stopped, and only the rest is sent.';

/** The slice `error` for `error`. */
export function describeFailure(error: unknown, context: FailureContext): NonNullable<ErrorSlice> {
  const kept = context.kept ? { ...context.kept } : null;
  const info = (code: string, message: string, next: string, retry = true) => ({
    code,
    message,
    next,
    retry,
    kept,
  });
  if (context.cancelled) {
    return info(
      ErrorCode.CANCELLED,
      'You stopped the transfer.',
      kept ? KEPT_NEXT : 'Nothing was saved. Try again to connect to the same sender.',
    );
  }
  if (error instanceof ConnectError) {
    const next =
      error.reason === 'unreachable'
        ? 'Both computers must be on the same network: check the address, or try another one that ferry-send shows.'
        : 'Check the address and port that ferry-send shows, that it is still running, and that a firewall lets that port in; then try again.';
    return info(error.code, `${capital(esc(error.message))}.`, next);
  }
  if (error instanceof NotFerryError) {
    return info(
      error.code,
      `${capital(esc(error.message))}.`,
      'Check that the address is the one ferry-send shows, then try again.',
    );
  }
  if (error instanceof AuthError) {
    switch (error.code) {
      case ErrorCode.PAIRING_FAILED:
        return info(
          error.code,
          'The pairing code does not match the code ferry-send shows.',
          'Try again and type the code ferry-send shows now (after 3 wrong attempts it shows a new one). If you typed it exactly, someone may be intercepting the connection.',
        );
      case ErrorCode.KEY_CHANGED:
      case ErrorCode.KEY_MISMATCH:
        return info(
          error.code,
          `${capital(esc(error.message))}.`,
          'Nothing was sent to that sender. Check the address and the key ferry-send shows before you connect again.',
          false,
        );
      case ErrorCode.ENCRYPTION_MISMATCH:
        return info(
          error.code,
          `${capital(esc(error.message))}.`,
          'Both sides must agree: either both use --no-encryption, or neither does.',
          false,
        );
      default:
        return info(
          error.code,
          `${capital(esc(error.message))}.`,
          'Try again with the pairing code ferry-send shows now.',
        );
    }
  }
  if (error instanceof ResumeStoppedError) {
    return info(
      error.code,
      `The connection to the sender was lost and could not be taken up again: ${esc(error.message)}.`,
      kept ? KEPT_NEXT : 'Try again to connect to the same sender.',
    );
  }
  if (error instanceof DestinationError) {
    return info(
      error.code,
      `Cannot save into that folder: ${esc(error.message)}.`,
      'Try again and pick another folder.',
    );
  }
  if (error instanceof UnsafeOfferError) {
    const name = esc(error.path);
    return info(
      error.code,
      `The whole offer was refused and nothing was written: ${esc(error.message)}${name ? `: "${name}"` : ''}.`,
      'Ask the person sending to offer the files under other names.',
      false,
    );
  }
  if (error instanceof FerryError && error.code === ErrorCode.MODE_MISMATCH) {
    return info(
      error.code,
      `${capital(esc(error.message))}.`,
      'A conversation opens with ferry-receive --chat --ui.',
      false,
    );
  }
  if (error instanceof PeerError) {
    return info(
      error.code,
      `The sender stopped the transfer: ${esc(error.message)} (${error.code}).`,
      kept ? KEPT_NEXT : 'Try again, or ask the person sending what happened.',
    );
  }
  if (
    error instanceof FerryError &&
    (error.code === ErrorCode.TRUNCATED ||
      error.code === ErrorCode.CONNECTION_CLOSED ||
      error.code === ErrorCode.TIMEOUT)
  ) {
    return info(
      error.code,
      kept
        ? 'The sender stopped or the connection was cut before every file arrived.'
        : 'The sender went away or the connection was cut; nothing was saved.',
      kept ? KEPT_NEXT : 'Check that ferry-send is still running, then try again.',
    );
  }
  if (error instanceof FerryError) {
    return info(
      error.code,
      `The transfer failed: ${esc(error.message)} (${error.code}).`,
      'Try again. If it fails again, run ferry-receive in a terminal with --log-level debug to see why.',
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return info(
    'ERR_INTERNAL',
    `Something unexpected went wrong: ${esc(message)}.`,
    'Try again. If it fails again, please report it with what the terminal shows.',
  );
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
