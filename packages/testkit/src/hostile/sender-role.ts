import type { Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { FrameType, normalizeCode, PairingCodes } from '@ferry/protocol';
import {
  Deadline,
  derivePasswordScalar,
  exchangePreamble,
  type Identity,
  loadOrCreateIdentity,
  peerFingerprint,
  secureServer,
  Spake2,
} from '@ferry/protocol/node';
import { makeConfigDir } from '../cli-process.ts';
import { tlsServerOptions } from '../tls.ts';
import { startFakeServer } from './listen.ts';
import { HostilePeer, PEER_WAIT_MS, type ReceivedFrame } from './peer.ts';
import { messageFrame } from './wire.ts';

/**
 * How far the emulator goes before the script takes over:
 * - `pair` (the default): preamble, TLS 1.3 and SPAKE2 pairing exactly as ferry-send does them
 *   (the protocol library's `secureServer`), so the script is an authenticated, hostile sender;
 * - `tls`: preamble and TLS only; the receiver's AUTH frames reach the script;
 * - `raw`: nothing; the script writes the preamble itself (or something else) and reads the
 *   receiver's preamble as its first bytes.
 * With `encryption: false`, `pair` and `tls` mean the clear preamble exchange only.
 */
export type Handshake = 'pair' | 'tls' | 'raw';

/** Options of {@link startScriptedSender}. */
export interface ScriptedSenderOptions {
  /** TLS and pairing (true, the default) or the clear protocol of --no-encryption. */
  readonly encryption?: boolean;
  readonly handshake?: Handshake;
  /** The key to present in TLS; a new one by default. */
  readonly identity?: Identity;
  /** With `tls`: the code to report as shown, for a script that pairs by hand. */
  readonly code?: string;
}

/** A scripted sender listening on 127.0.0.1, for a real receiver to connect to. */
export interface ScriptedSender {
  readonly port: number;
  readonly address: string;
  /** The pairing code it shows (`1234-5678`); undefined in clear or before it is known. */
  code(): string | undefined;
  /** Its key, as the receiver will see it in TLS. */
  readonly identity: Identity | undefined;
  /** The peer of the first connection, once the handshake asked for is done. */
  peer(): Promise<HostilePeer>;
  /** The script's outcome, bounded: rejects with what the script threw. */
  done(ms?: number): Promise<void>;
}

/**
 * Listens on 127.0.0.1:0 and plays the sender for the first connection: does the handshake
 * asked for, then runs `script` with the peer. Later connections are closed at once.
 */
export async function startScriptedSender(
  script: (peer: HostilePeer) => Promise<void>,
  options: ScriptedSenderOptions = {},
): Promise<ScriptedSender> {
  const encryption = options.encryption ?? true;
  const handshake = options.handshake ?? 'pair';
  let code = options.code;
  let identity: Identity | undefined;
  let pairing: PairingCodes | undefined;
  if (encryption && handshake !== 'raw') {
    identity = options.identity ?? (await loadOrCreateIdentity(makeConfigDir('scripted-sender')));
    if (handshake === 'pair') {
      pairing = new PairingCodes(derivePasswordScalar);
      pairing.on('code', (event) => {
        code = event.code;
      });
      pairing.start();
    }
  }
  let resolvePeer!: (peer: HostilePeer) => void;
  let rejectPeer!: (error: unknown) => void;
  const peerReady = new Promise<HostilePeer>((resolve, reject) => {
    resolvePeer = resolve;
    rejectPeer = reject;
  });
  peerReady.catch(() => {});
  const outcome = peerReady.then(script);
  outcome.catch(() => {});
  let accepted = false;
  const server = await startFakeServer((socket) => {
    if (accepted) {
      socket.destroy();
      return;
    }
    accepted = true;
    handshakeAsSender(socket, encryption, handshake, identity, pairing).then(resolvePeer, (error: unknown) => {
      socket.destroy();
      rejectPeer(error);
    });
  });
  return {
    port: server.port,
    address: server.address,
    code: () => code,
    identity,
    peer: () => bounded(peerReady, PEER_WAIT_MS, 'the receiver to connect and pair'),
    done: (ms = PEER_WAIT_MS) => bounded(outcome, ms, 'the scripted sender'),
  };
}

async function handshakeAsSender(
  socket: Socket,
  encryption: boolean,
  handshake: Handshake,
  identity: Identity | undefined,
  pairing: PairingCodes | undefined,
): Promise<HostilePeer> {
  if (handshake === 'raw') return new HostilePeer({ socket, tcp: socket }, { expectPreamble: true });
  const deadline = new Deadline(PEER_WAIT_MS, socket, 'the receiver did not pair in time');
  try {
    await exchangePreamble({ socket }, 'server', encryption, deadline);
    if (!encryption) return new HostilePeer({ socket, tcp: socket });
    if (handshake === 'pair') {
      const secured = await secureServer(socket, { identity: identity!, pairing }, deadline);
      return new HostilePeer({ socket: secured.socket, tcp: socket });
    }
    const secure = new tls.TLSSocket(socket, tlsServerOptions(identity!));
    deadline.track(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', () => resolve());
      secure.once('error', reject);
      secure.once('close', () => reject(new Error('closed during the TLS handshake')));
    });
    return new HostilePeer({ socket: secure, tcp: socket });
  } finally {
    deadline.clear();
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs the sender's half of SPAKE2 by hand over a peer started with `handshake: 'tls'`, with a
 * code of the test's choosing, so its AUTH_REPLY can be recorded or replaced by one recorded on
 * another connection. Answers `ok` only if the receiver's confirmation verifies.
 */
export async function pairAsSenderByHand(
  peer: HostilePeer,
  identity: Identity,
  code: string,
  replay: { reply?: Buffer } = {},
): Promise<{ reply: Buffer; last: ReceivedFrame | null; paired: boolean }> {
  const secure = peer.socket as TLSSocket;
  const auth = await peer.expect(FrameType.AUTH);
  if (auth.method !== 'code') throw new Error('the receiver did not offer a pairing share');
  const spake = Spake2.start('B', await derivePasswordScalar(digitsOf(code)), {
    idA: peerFingerprint(secure)!,
    idB: identity.fingerprint,
    aad: secure.exportKeyingMaterial(32, 'EXPORTER-ferry-pairing-v1', Buffer.alloc(0)),
  });
  const keys = spake.finish(new Uint8Array(Buffer.from(auth.share, 'hex')));
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  const reply =
    replay.reply ??
    messageFrame(FrameType.AUTH_REPLY, { result: 'share', share: hex(spake.message), confirmation: hex(keys.confirmation) });
  await peer.write(reply);
  const last = await peer.next();
  const confirmation = (last?.message as { confirmation?: string } | undefined)?.confirmation;
  const paired =
    last?.type === FrameType.AUTH_CONFIRM &&
    confirmation !== undefined &&
    keys.verify(new Uint8Array(Buffer.from(confirmation, 'hex')));
  if (paired) await peer.send(FrameType.AUTH_REPLY, { result: 'ok' });
  return { reply, last, paired };
}

/** The digits of a code as shown (`1234-5678`), which is what SPAKE2's password is made of. */
function digitsOf(code: string): string {
  const digits = normalizeCode(code);
  if (digits === undefined) throw new Error('not a pairing code');
  return digits;
}
