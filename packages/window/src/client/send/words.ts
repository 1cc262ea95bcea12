import type { SendReceiver } from '../../state/send.ts';
import { formatBytes, formatRate, plural } from '../lib/format.ts';

/** A receiver's state, in a word or two, and the badge's tone. */
export function stateLabel(receiver: SendReceiver): {
  text: string;
  tone: 'ok' | 'warn' | 'danger' | 'info';
} {
  switch (receiver.state) {
    case 'connected':
      return { text: 'Connected', tone: 'info' };
    case 'paired':
      return { text: 'Paired', tone: 'info' };
    case 'choosing':
      return { text: 'Choosing', tone: 'info' };
    case 'transferring':
      return { text: 'Taking files', tone: 'info' };
    case 'done':
      return receiver.failed > 0
        ? { text: 'Done, with failures', tone: 'warn' }
        : { text: 'Done', tone: 'ok' };
    case 'failed':
      return receiver.error?.resumable
        ? { text: 'Interrupted', tone: 'warn' }
        : { text: 'Failed', tone: 'danger' };
  }
}

/** How a receiver got in, with its key; `rememberedAs` is shown apart, as a peer string. */
export function authWords(auth: NonNullable<SendReceiver['auth']>): string {
  if (auth.method === 'trusted') return 'Let in as remembered';
  if (auth.method === 'resume') return "Reconnected with its transfer's ticket";
  return 'Paired with the code';
}

/**
 * Why a receiver ended without taking everything, in the words the terminal uses, and what to
 * do next. `peerMessage`: the receiver's own words, to show as peer text (or null).
 */
export function failureWords(receiver: SendReceiver): { text: string; peerMessage: string | null } {
  const error = receiver.error;
  if (!error) return { text: '', peerMessage: null };
  const requested = receiver.files > 0 || receiver.total > 0;
  if (error.code === 'ERR_STOPPED')
    return {
      text: 'Cut off when Ferry stopped; it keeps only the files it had finished.',
      peerMessage: null,
    };
  if (error.code === 'ERR_DECLINED')
    return { text: 'Took nothing: its user chose no files.', peerMessage: null };
  if (error.code === 'ERR_CANCELLED') {
    return requested
      ? {
          text: 'Stopped: its user cancelled; it keeps only the files it had finished.',
          peerMessage: null,
        }
      : { text: 'Took nothing: its user cancelled before choosing.', peerMessage: null };
  }
  if (error.resumable)
    return { text: 'Lost the connection; it can reconnect to resume.', peerMessage: null };
  if (error.code === 'ERR_PAIRING_UNAVAILABLE') {
    return {
      text: 'Could not pair: pairing is closed, or busy with other attempts. Restart Ferry for a new code.',
      peerMessage: null,
    };
  }
  return { text: `Failed (${error.code}):`, peerMessage: error.message };
}

/** `Took 3 files (1.2 MiB) in 2.7 s at 450 KiB/s`. */
export function tookWords(receiver: SendReceiver): string {
  const ms = receiver.ms ?? 0;
  const time = ms < 100 ? 'in less than 0.1 s' : `in ${(ms / 1000).toFixed(1)} s`;
  // As on the terminal: no rate for a transfer too short to measure one, or one that moved nothing.
  const rate =
    ms >= 100 && receiver.bytes > 0 && receiver.rate ? ` at ${formatRate(receiver.rate)}` : '';
  return `Took ${plural(receiver.sent, 'file')} (${formatBytes(receiver.bytes)}) ${time}${rate}`;
}
