import { escapeForDisplay as esc } from '../text.ts';
import { toJsonLine } from '../terminal.ts';
import { shortFingerprint } from './identity.ts';
import { TrustStore } from './trust.ts';

/** `--peers` and `--forget`, shared by both apps. */
export type PeersCommand = { readonly kind: 'peers' } | { readonly kind: 'forget'; readonly peer: string };

/** Lists or forgets remembered peers in `dir`; returns the exit code (1 when nothing matched). */
export async function runPeersCommand(
  command: PeersCommand,
  dir: string,
  out: { write(text: string): unknown },
  json: boolean,
  what: 'receiver' | 'sender',
): Promise<number> {
  const store = await TrustStore.open(dir, what);
  if (command.kind === 'peers') {
    const peers = store.list();
    if (json) {
      out.write(toJsonLine('peers', { peers: peers.map((peer) => ({ ...peer })) }));
      return 0;
    }
    if (peers.length === 0) {
      out.write(`No remembered ${what}s. Pair with a code and --remember to add one.\n`);
      return 0;
    }
    out.write(`Remembered ${what}s (they need no pairing code):\n`);
    for (const peer of peers) {
      const seen = peer.addresses.length > 0 ? `, last at ${esc(peer.addresses[0]!)}` : '';
      out.write(`  ${esc(peer.name)}  key ${shortFingerprint(peer.fingerprint)}${seen}, since ${peer.added.slice(0, 10)}\n`);
    }
    return 0;
  }
  const removed = await store.forget(command.peer);
  if (json) out.write(toJsonLine('forgot', { peers: removed.map((peer) => ({ ...peer })) }));
  if (removed.length === 0) {
    if (!json) out.write(`No remembered ${what} matches "${esc(command.peer)}". See --peers.\n`);
    return 1;
  }
  if (!json) {
    for (const peer of removed) {
      out.write(`Forgot "${esc(peer.name)}" (key ${shortFingerprint(peer.fingerprint)}); it needs a pairing code next time.\n`);
    }
  }
  return 0;
}
