import type { Announcer } from '@ferry/discovery';
import {
  type OutputStream,
  printJson,
  type SENDER_JSON_EVENTS,
  type SenderJsonEvent,
  StatusLine,
} from '@ferry/cli';
import { escapeForDisplay } from '@ferry/protocol';

/** What to announce, and where to say how it went. */
export interface AnnounceOptions {
  readonly announcer: Announcer;
  readonly name: string;
  readonly port: number;
  readonly chat: boolean;
  /** The sender's key fingerprint in hex; undefined in clear. */
  readonly fingerprint: string | undefined;
  readonly out: OutputStream;
  readonly json: boolean;
  /** Once aborted (the sender stopped), the outcome is no longer printed. */
  readonly signal?: AbortSignal;
}

/**
 * Announces a listening sender (PROTOCOL.md §14) and prints one line, or one JSON event,
 * saying so. A failure is not fatal: receivers can still type an address.
 */
export async function announceSender(options: AnnounceOptions): Promise<void> {
  const { out, json } = options;
  const print = <K extends keyof typeof SENDER_JSON_EVENTS>(event: K, fields: SenderJsonEvent<K>) =>
    printJson(out, event, fields);
  try {
    const announced = await options.announcer.start({
      name: options.name,
      port: options.port,
      encrypted: options.fingerprint !== undefined,
      chat: options.chat,
      fingerprint: options.fingerprint,
    });
    if (options.signal?.aborted) return;
    if (json) print('announced', { name: announced.name, port: options.port });
    else {
      const receive = options.chat ? 'ferry-receive --chat' : 'ferry-receive';
      StatusLine.for(out).print(
        `Announced as "${escapeForDisplay(announced.name)}" on this network: ${receive} with no address finds it.`,
      );
    }
  } catch (error) {
    if (options.signal?.aborted) return;
    const reason = escapeForDisplay((error as Error)?.message ?? String(error));
    if (json) print('announce-failed', { message: reason });
    else
      StatusLine.for(out).print(
        `Could not announce on the network (${reason}); receivers can still type an address.`,
      );
  }
}

/** Whether listening on `host` leaves the sender reachable from other machines (a loopback address does not). */
export function reachableFromNetwork(host: string | undefined): boolean {
  if (host === undefined) return true;
  const plain = host.replace(/^\[|\]$/g, '').toLowerCase();
  return !(
    plain === 'localhost' ||
    plain === '::1' ||
    /^127\./.test(plain) ||
    /^::ffff:127\./.test(plain)
  );
}
