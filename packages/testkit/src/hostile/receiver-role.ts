import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { FrameType, type MessageOf, normalizeCode } from '@ferry/protocol';
import {
  Deadline,
  derivePasswordScalar,
  exchangePreamble,
  type Identity,
  loadOrCreateIdentity,
  peerFingerprint,
  secureClient,
  Spake2,
} from '@ferry/protocol/node';
import { makeConfigDir } from '../cli-process.ts';
import { onCleanup } from '../cleanup.ts';
import { tlsClientOptions } from '../tls.ts';
import { HostilePeer, PEER_WAIT_MS, type ReceivedFrame } from './peer.ts';
import type { Handshake } from './sender-role.ts';
import { messageFrame } from './wire.ts';

/** Options of {@link connectScriptedReceiver}. */
export interface ScriptedReceiverOptions {
  /** TLS and pairing (true, the default) or the clear protocol of --no-encryption. */
  readonly encryption?: boolean;
  /** How far to go before handing over (see {@link Handshake}); `pair` by default. */
  readonly handshake?: Handshake;
  /** The pairing code the real sender shows, for `pair`. */
  readonly code?: string;
}

/** A scripted receiver: the peer, and the key it presents in TLS. */
export interface ScriptedReceiver extends HostilePeer {
  readonly identity: Identity | undefined;
}

/**
 * Connects to a real sender on 127.0.0.1:`port` and plays the receiver: the preamble, then
 * (encrypted) TLS 1.3 and SPAKE2 with `code` through the protocol library's `secureClient`,
 * so what follows comes from an authenticated receiver. Closed after the test.
 */
export async function connectScriptedReceiver(
  port: number,
  options: ScriptedReceiverOptions = {},
): Promise<ScriptedReceiver> {
  const encryption = options.encryption ?? true;
  const handshake = options.handshake ?? 'pair';
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  onCleanup('scripted receiver', () => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  if (handshake === 'raw') return Object.assign(new HostilePeer({ socket, tcp: socket }, { expectPreamble: true }), { identity: undefined });
  const deadline = new Deadline(PEER_WAIT_MS, socket, 'the sender did not pair in time');
  try {
    await exchangePreamble({ socket }, 'client', encryption, deadline);
    if (!encryption) return Object.assign(new HostilePeer({ socket, tcp: socket }), { identity: undefined });
    const identity = await loadOrCreateIdentity(makeConfigDir('scripted-receiver'));
    if (handshake === 'tls') {
      const secure = tls.connect({ socket, ...tlsClientOptions(identity) });
      deadline.track(secure);
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', () => resolve());
        secure.once('error', reject);
      });
      return Object.assign(new HostilePeer({ socket: secure, tcp: socket }), { identity });
    }
    if (options.code === undefined) throw new Error('pairing needs the code the sender shows');
    const password = await derivePasswordScalar(digitsOf(options.code));
    const outcome = await secureClient(socket, { identity, host: '127.0.0.1', password }, deadline);
    if (outcome.kind !== 'secured') throw new Error('the sender asked for a code although one was given');
    return Object.assign(new HostilePeer({ socket: outcome.secured.socket, tcp: socket }), { identity });
  } finally {
    deadline.clear();
  }
}

/** The AUTH frames of one pairing, as written: what a recording of it would hold. */
export interface PairingRecord {
  readonly auth: Buffer;
  readonly confirm: Buffer | undefined;
  /** The sender's last answer: AUTH_REPLY ok, or its ERROR. */
  readonly last: ReceivedFrame | null;
}

/**
 * Runs the receiver's half of SPAKE2 by hand over a peer connected with `handshake: 'tls'`,
 * so the frames can be recorded, or replaced by frames recorded from another connection.
 */
export async function pairByHand(
  peer: ScriptedReceiver,
  code: string,
  replay: { auth?: Buffer; confirm?: Buffer } = {},
): Promise<PairingRecord> {
  const secure = peer.socket as TLSSocket;
  const spake = Spake2.start('A', await derivePasswordScalar(digitsOf(code)), {
    idA: peer.identity!.fingerprint,
    idB: peerFingerprint(secure)!,
    aad: secure.exportKeyingMaterial(32, 'EXPORTER-ferry-pairing-v1', Buffer.alloc(0)),
  });
  const auth = replay.auth ?? messageFrame(FrameType.AUTH, { method: 'code', share: hex(spake.message) });
  await peer.write(auth);
  const reply = await peer.next();
  if (reply?.type !== FrameType.AUTH_REPLY) return { auth, confirm: undefined, last: reply };
  const share = (reply.message as MessageOf<typeof FrameType.AUTH_REPLY> & { share: string }).share;
  const keys = spake.finish(new Uint8Array(Buffer.from(share, 'hex')));
  const confirm = replay.confirm ?? messageFrame(FrameType.AUTH_CONFIRM, { confirmation: hex(keys.confirmation) });
  await peer.write(confirm);
  return { auth, confirm, last: await peer.next() };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The digits of a code as shown (`1234-5678`), which is what SPAKE2's password is made of. */
function digitsOf(code: string): string {
  const digits = normalizeCode(code);
  if (digits === undefined) throw new Error('not a pairing code');
  return digits;
}
