import type { Socket } from 'node:net';
import tls from 'node:tls';
import {
  AUTH_FRAME_TYPES,
  FRAME_TYPE_NAMES,
  FrameType,
  LIMITS,
  type Limits,
  PREAMBLE_BYTES,
  PreambleFlag,
  PROTOCOL_VERSION,
  RESUME_EXPORTER_LABEL,
} from '../constants.ts';
import { AuthError, ConnectionClosedError, ErrorCode, FerryError, ProtocolError, TimeoutError } from '../errors.ts';
import { FrameDecoder, type FrameEvent } from '../frame/decoder.ts';
import { concatFrame, encodePreamble } from '../frame/encode.ts';
import { decodeMessage, encodeMessage } from '../messages/codec.ts';
import type { ErrorMessage, MessageOf } from '../messages/schemas.ts';
import type { PairingCodes } from '../pairing/codes.ts';
import { truncateUtf8 } from '../text.ts';
import { explainSocketError, peerError } from './connection.ts';
import { fingerprintHex, type Identity, peerFingerprint, shortFingerprint } from './identity.ts';
import { Spake2, Spake2Error } from './spake2.ts';
import { resumeProof, type Ticket, type TicketStore } from './tickets.ts';
import type { TrustStore } from './trust.ts';

/** The TLS exporter label that binds a SPAKE2 exchange to one TLS session (RFC 8446 §7.5). */
const EXPORTER_LABEL = 'EXPORTER-ferry-pairing-v1';

/** Every frame before authentication is tiny: nothing larger is even buffered (G8, E1). */
const PRE_AUTH_LIMITS: Limits = {
  ...LIMITS,
  maxControlPayloadBytes: 2048,
  maxOfferPayloadBytes: 0,
  maxRequestPayloadBytes: 0,
  maxDataPayloadBytes: 0,
};

/**
 * One deadline for a whole handshake. When it passes the socket is destroyed, so whatever the
 * handshake is waiting for fails; `error` says why.
 */
export class Deadline {
  readonly #timer: NodeJS.Timeout;
  readonly #end: number;
  #socket: Socket;
  error: TimeoutError | undefined;

  constructor(ms: number, socket: Socket, what: string) {
    this.#end = performance.now() + ms;
    this.#socket = socket;
    this.#timer = setTimeout(() => {
      this.error = new TimeoutError(what);
      this.#socket.destroy(this.error);
    }, ms);
  }

  /** From now on the deadline destroys `socket` (the TLS layer over the first one). */
  track(socket: Socket): void {
    this.#socket = socket;
  }

  /** Milliseconds left, at least zero. */
  get remaining(): number {
    return Math.max(0, this.#end - performance.now());
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** Where the preamble's bytes come from: a socket's `data` events, or its `onread` chunks. */
export interface PreambleSource {
  readonly socket: Socket;
  /** For an `onread` socket: routes its chunks to the given reader. */
  readonly setReader?: (reader: (chunk: Uint8Array) => boolean) => void;
}

/** What the preamble exchange leaves behind: bytes the peer sent after its preamble. */
export interface PreambleResult {
  /** Anything already read past the preamble; for `onread` sources, feed it to the Connection. */
  readonly leftover: Uint8Array;
}

/**
 * Exchanges preambles (PROTOCOL.md §2): the client speaks first and the server answers only a
 * valid preamble. Both must ask for the same mode: encryption is never dropped because the
 * other side did not ask for it (G11). Bytes read past the preamble are kept: for a socket with
 * `data` events they are put back with unshift, for an `onread` socket they are returned.
 */
export async function exchangePreamble(
  source: PreambleSource,
  role: 'client' | 'server',
  encryption: boolean,
  deadline: Deadline,
): Promise<PreambleResult> {
  const { socket } = source;
  const ours = encryption ? PreambleFlag.TLS : 0;
  if (role === 'client') socket.write(encodePreamble(PROTOCOL_VERSION, ours));
  const { flags, leftover } = await readPreamble(source, deadline);
  if (role === 'server') socket.write(encodePreamble(PROTOCOL_VERSION, ours));
  if (flags !== ours) {
    const peer = role === 'client' ? 'sender' : 'receiver';
    const message = encryption
      ? `the ${peer} has encryption turned off (--no-encryption); Ferry never falls back to an unencrypted transfer`
      : `the ${peer} requires encryption, but this side was started with --no-encryption; leave it out to transfer encrypted`;
    throw new AuthError(ErrorCode.ENCRYPTION_MISMATCH, message);
  }
  if (!source.setReader && leftover.byteLength > 0) socket.unshift(Buffer.from(leftover));
  return { leftover: source.setReader ? leftover : new Uint8Array(0) };
}

function readPreamble(source: PreambleSource, deadline: Deadline): Promise<{ flags: number; leftover: Uint8Array }> {
  const { socket } = source;
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder({ expectPreamble: true });
    let have = 0;
    let settled = false;
    const finish = (error: Error | undefined, result?: { flags: number; leftover: Uint8Array }) => {
      if (settled) return;
      settled = true;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (error) reject(error);
      else resolve(result!);
    };
    const onChunk = (chunk: Uint8Array): boolean => {
      if (settled) return false;
      // The decoder checks magic (byte by byte, so something that is not Ferry is refused at
      // once), version and flags; it is given the preamble's bytes only, never what follows.
      const take = Math.min(PREAMBLE_BYTES - have, chunk.byteLength);
      let preamble: FrameEvent | undefined;
      try {
        preamble = decoder.push(chunk.subarray(0, take))[0];
      } catch (error) {
        finish(error as Error);
        return false;
      }
      have += take;
      if (preamble?.kind !== 'preamble') return true;
      const { flags } = preamble;
      // Stop the flow here, so nothing more is read before the next layer takes the socket.
      if (!source.setReader) socket.pause();
      finish(undefined, { flags, leftover: Uint8Array.prototype.slice.call(chunk, take) });
      // An `onread` socket keeps reading: its next chunks go to whoever calls setReader next.
      return true;
    };
    const onData = (chunk: Buffer) => {
      onChunk(chunk);
    };
    const onEnd = () =>
      finish(deadline.error ?? new ProtocolError(ErrorCode.TRUNCATED, 'the connection closed before the Ferry greeting'));
    const onError = (error: Error) => finish(deadline.error ?? explainSocketError(error));
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    if (source.setReader) source.setReader(onChunk);
    else socket.on('data', onData);
  });
}

/** The outcome of securing a connection. */
export interface Secured {
  /** The socket the application protocol runs on: the TLS socket, or the TCP one in clear. */
  readonly socket: Socket;
  readonly encrypted: boolean;
  /**
   * The authenticated peer: its key's fingerprint, how it proved itself, when it was let in by
   * key the name it is remembered under here (which may differ from the name it claims), and,
   * on the sender's side of a reconnection (§13.4), the ticket it proved.
   */
  readonly peer:
    | { readonly fingerprint: Uint8Array; readonly method: AuthMethod; readonly rememberedAs?: string; readonly ticket?: Ticket }
    | undefined;
}

/** How a peer proved itself: a remembered key, a pairing code, or a reconnection ticket (§13.4). */
export type AuthMethod = 'trusted' | 'code' | 'resume';

/** The sender's side of security. */
export interface ServerSecurity {
  readonly identity: Identity;
  /** Receivers remembered after an earlier pairing; they need no code. */
  readonly trust?: TrustStore | undefined;
  /** The one-time codes; without them only remembered receivers get in. */
  readonly pairing?: PairingCodes | undefined;
  /** The app's number for this connection, echoed in the pairing's `attempt-failed` events. */
  readonly connection?: number | undefined;
  /** Told when the list of remembered receivers cannot be read again (nobody is then let in by key). */
  readonly onTrustError?: ((error: unknown) => void) | undefined;
  /** The reconnection tickets this sender gave; without them AUTH `resume` always needs a code. */
  readonly tickets?: TicketStore | undefined;
}

/** The receiver's side of security. */
export interface ClientSecurity {
  readonly identity: Identity;
  readonly trust?: TrustStore | undefined;
  /** The host the user asked for: a remembered sender last seen there must show the same key. */
  readonly host: string;
  /** The SPAKE2 password scalar of the code the user gave, if any yet. */
  readonly password?: bigint | undefined;
  /** The key the sender showed on the connection before this one (the code was asked between). */
  readonly expectFingerprint?: Uint8Array | undefined;
  /**
   * The reconnection ticket that sender gave (OFFER `resume`, §13.4): used only together with
   * `expectFingerprint`, so it is proved to no other key.
   */
  readonly ticket?: Uint8Array | undefined;
  /**
   * What a sender found on the network announced (TXT `fp`, PROTOCOL.md §14): its key's
   * fingerprint must start with `hint` (16 lowercase hex digits), checked right after the
   * handshake and before any AUTH, or ERR_KEY_MISMATCH. A hint only: it never makes a key
   * trusted. `sender` names it in the refusal (e.g. `"alice" at 10.0.0.2:7878`), which is
   * escaped where it is shown, like every message with a peer's words in it.
   */
  readonly announcedKey?: { readonly hint: string; readonly sender: string } | undefined;
}

/** The receiver's outcome: secured, or the sender wants a code that the user has not given yet. */
export type ClientOutcome =
  | { readonly kind: 'secured'; readonly secured: Secured }
  | { readonly kind: 'code-needed'; readonly fingerprint: Uint8Array };

/**
 * TLS 1.3 suites, fastest first: AES-128-GCM costs a third less CPU than AES-256-GCM with
 * AES-NI, and both leave a 128-bit security margin for a local transfer.
 */
const CIPHER_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/**
 * Bytes a TLS socket buffers before asking its writer to wait: like the TCP sockets', far
 * above the default 16 KiB, so several 1 MiB DATA frames are in flight and encryption never
 * waits for the previous write to drain.
 */
// Node passes `highWaterMark` on to the socket, though its type definitions leave it out.
const BUFFERING = { highWaterMark: 4 * 1024 * 1024 } as object;

const contexts = new WeakMap<Identity, tls.SecureContext>();

function contextFor(identity: Identity): tls.SecureContext {
  let context = contexts.get(identity);
  if (!context) {
    context = tls.createSecureContext({
      key: identity.key,
      cert: identity.cert,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ciphers: CIPHER_SUITES,
    });
    contexts.set(identity, context);
  }
  return context;
}

/**
 * The sender's side, after the preambles: TLS 1.3 with a client certificate, then AUTH. A
 * remembered receiver is let in by its key; anyone else must run SPAKE2 with the current code,
 * bound to this TLS session. Nothing of the application is sent before that succeeds.
 */
export async function secureServer(socket: Socket, security: ServerSecurity, deadline: Deadline): Promise<Secured> {
  const secure = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext: contextFor(security.identity),
    requestCert: true,
    // Peers have self-signed keys: they are checked below against remembered keys or the code (G6).
    rejectUnauthorized: false,
    ...BUFFERING,
  });
  deadline.track(secure);
  await tlsReady(secure, 'secure', deadline);
  const fingerprint = peerFingerprint(secure);
  const channel = new AuthChannel(secure, deadline, 'sender');
  if (!fingerprint) {
    const error = new AuthError(ErrorCode.TLS_FAILED, 'the receiver presented no Ed25519 key');
    await channel.fail(error);
    throw error;
  }
  try {
    let auth = await channel.next(FrameType.AUTH);
    if (auth.method === 'trusted' || auth.method === 'resume') {
      if (auth.method === 'resume') {
        // Not counted as a pairing attempt: a 256-bit ticket cannot be guessed (§13.4).
        const ticket = security.tickets?.verify(fingerprint, auth.proof, resumeExporter(secure));
        if (ticket) {
          channel.send(FrameType.AUTH_REPLY, { result: 'ok' });
          channel.detach();
          const rememberedAs = security.trust?.byFingerprint(fingerprint)?.name;
          const peer = { fingerprint, method: 'resume', ticket, ...(rememberedAs === undefined ? {} : { rememberedAs }) } as const;
          return { socket: secure, encrypted: true, peer };
        }
      } else {
        // The list may have changed since this sender started (--forget in another process).
        await security.trust?.refresh().catch((error: unknown) => security.onTrustError?.(error));
        const remembered = security.trust?.byFingerprint(fingerprint);
        if (remembered) {
          channel.send(FrameType.AUTH_REPLY, { result: 'ok' });
          channel.detach();
          return { socket: secure, encrypted: true, peer: { fingerprint, method: 'trusted', rememberedAs: remembered.name } };
        }
      }
      // An unknown or forgotten key, or a ticket this sender does not hold, learns nothing but
      // that a code is needed (G12, §13).
      channel.send(FrameType.AUTH_REPLY, { result: 'code-needed' });
      auth = await channel.next(FrameType.AUTH);
      if (auth.method !== 'code') throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'a second AUTH that is not a pairing attempt');
    }
    if (!security.pairing) {
      throw new AuthError(ErrorCode.PAIRING_UNAVAILABLE, 'this sender accepts only receivers it remembers');
    }
    // Taken before the wait for the code's scrypt: the session may be gone after it.
    const aad = exporter(secure);
    const attempt = await security.pairing.begin(security.connection);
    try {
      // The attempt counts from here, whatever the share: refusing a share that unblinds to the
      // identity (one made from this very code) without counting would be a free guess (S1).
      attempt.shareReceived();
      const spake = Spake2.start('B', attempt.password, { idA: fingerprint, idB: security.identity.fingerprint, aad });
      const keys = finishSpake(spake, auth.share);
      channel.send(FrameType.AUTH_REPLY, { result: 'share', share: hex(spake.message), confirmation: hex(keys.confirmation) });
      const confirm = await channel.next(FrameType.AUTH_CONFIRM);
      if (!keys.verify(fromHex(confirm.confirmation))) {
        throw new AuthError(ErrorCode.PAIRING_FAILED, 'the receiver gave a wrong pairing code');
      }
      attempt.succeed();
    } finally {
      attempt.end();
    }
    channel.send(FrameType.AUTH_REPLY, { result: 'ok' });
    channel.detach();
    return { socket: secure, encrypted: true, peer: { fingerprint, method: 'code' } };
  } catch (error) {
    await channel.fail(error);
    throw error;
  }
}

/**
 * The receiver's side, after the preambles: TLS 1.3 with our certificate, then AUTH. A sender
 * whose key we remember is asked to let us in by key; a sender at an address where we
 * remember another key is refused before anything is sent (G5); otherwise the code is used
 * through SPAKE2, or, if we have none yet, we hang up so the user can be asked for it.
 */
export async function secureClient(socket: Socket, security: ClientSecurity, deadline: Deadline): Promise<ClientOutcome> {
  const secure = tls.connect({
    socket,
    secureContext: contextFor(security.identity),
    rejectUnauthorized: false,
    // Identity is the key, checked below; names in certificates mean nothing here (G6, G7).
    checkServerIdentity: () => undefined,
    minVersion: 'TLSv1.3',
    ...BUFFERING,
  });
  deadline.track(secure);
  await tlsReady(secure, 'secureConnect', deadline);
  const fingerprint = peerFingerprint(secure);
  const channel = new AuthChannel(secure, deadline, 'receiver');
  if (!fingerprint) {
    const error = new AuthError(ErrorCode.TLS_FAILED, 'the sender presented no Ed25519 key');
    await channel.fail(error);
    throw error;
  }
  try {
    const announced = security.announcedKey;
    if (announced && !fingerprintHex(fingerprint).startsWith(announced.hint.toLowerCase())) {
      throw new AuthError(
        ErrorCode.KEY_MISMATCH,
        `${announced.sender} shows key ${shortFingerprint(fingerprint)} but announced ${shortFingerprint(announced.hint)}: ` +
          'it may be an impostor. Nothing was sent. Check the address and key ferry-send shows, and type the address.',
      );
    }
    const remembered = security.trust?.byFingerprint(fingerprint);
    if (security.expectFingerprint && !Buffer.from(security.expectFingerprint).equals(fingerprint)) {
      throw new AuthError(
        ErrorCode.KEY_CHANGED,
        `the sender showed key ${shortFingerprint(security.expectFingerprint)} a moment ago and now shows ` +
          `${shortFingerprint(fingerprint)}; someone may be intercepting the connection`,
      );
    }
    if (!remembered) {
      const other = security.trust?.byAddress(security.host).find((peer) => peer.fingerprint !== fingerprintHex(fingerprint));
      if (other) {
        throw new AuthError(
          ErrorCode.KEY_CHANGED,
          `the sender at ${security.host} shows a different key than "${other.name}", which you paired with there: ` +
            `remembered key ${shortFingerprint(other.fingerprint)}, new key ${shortFingerprint(fingerprint)}. ` +
            'Someone may be impersonating it; nothing was sent. If that machine was reinstalled, or this is another machine, ' +
            `run ferry-receive --forget "${shortFingerprint(other.fingerprint)}" and connect again to pair with a code`,
        );
      }
    }
    if (security.ticket && security.expectFingerprint) {
      // The key was checked above: the ticket is proved only to the sender that gave it.
      const proof = hex(resumeProof(security.ticket, resumeExporter(secure)));
      channel.send(FrameType.AUTH, { method: 'resume', proof });
      const reply = await channel.next(FrameType.AUTH_REPLY);
      if (reply.result === 'ok') {
        channel.detach();
        const peer = { fingerprint, method: 'resume', ...(remembered ? { rememberedAs: remembered.name } : {}) } as const;
        return { kind: 'secured', secured: { socket: secure, encrypted: true, peer } };
      }
      if (reply.result !== 'code-needed') throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'an AUTH_REPLY out of turn');
    } else if (remembered) {
      channel.send(FrameType.AUTH, { method: 'trusted' });
      const reply = await channel.next(FrameType.AUTH_REPLY);
      if (reply.result === 'ok') {
        channel.detach();
        const peer = { fingerprint, method: 'trusted', rememberedAs: remembered.name } as const;
        return { kind: 'secured', secured: { socket: secure, encrypted: true, peer } };
      }
      if (reply.result !== 'code-needed') throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'an AUTH_REPLY out of turn');
    }
    if (security.password === undefined) {
      channel.detach();
      secure.end();
      return { kind: 'code-needed', fingerprint };
    }
    const spake = Spake2.start('A', security.password, {
      idA: security.identity.fingerprint,
      idB: fingerprint,
      aad: exporter(secure),
    });
    channel.send(FrameType.AUTH, { method: 'code', share: hex(spake.message) });
    const reply = await channel.next(FrameType.AUTH_REPLY);
    if (reply.result !== 'share') throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'an AUTH_REPLY out of turn');
    const keys = finishSpake(spake, reply.share);
    if (!keys.verify(fromHex(reply.confirmation))) {
      throw new AuthError(
        ErrorCode.PAIRING_FAILED,
        'wrong pairing code: it does not match the code ferry-send shows ' +
          '(if you typed it exactly, someone may be intercepting the connection)',
      );
    }
    channel.send(FrameType.AUTH_CONFIRM, { confirmation: hex(keys.confirmation) });
    const done = await channel.next(FrameType.AUTH_REPLY);
    if (done.result !== 'ok') throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'an AUTH_REPLY out of turn');
    channel.detach();
    return { kind: 'secured', secured: { socket: secure, encrypted: true, peer: { fingerprint, method: 'code' } } };
  } catch (error) {
    await channel.fail(error);
    throw error;
  }
}

/**
 * The keys from the peer's share (PROTOCOL.md §2.3): a share that is not a point of P-256 is
 * ERR_BAD_MESSAGE; one that unblinds to the identity can only come from a guess of the code,
 * so it fails like a wrong code, ERR_PAIRING_FAILED.
 */
function finishSpake(spake: Spake2, share: string) {
  try {
    return spake.finish(fromHex(share));
  } catch (error) {
    if (error instanceof Spake2Error && error.reason === 'identity') {
      throw new AuthError(ErrorCode.PAIRING_FAILED, 'wrong pairing code: the share does not fit the code');
    }
    if (error instanceof Spake2Error) throw new ProtocolError(ErrorCode.BAD_MESSAGE, 'the pairing share is not a valid point');
    throw error;
  }
}

function exporter(socket: tls.TLSSocket): Uint8Array {
  return socket.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.alloc(0));
}

/** The value a resume proof covers: this TLS session's exporter of RESUME_EXPORTER_LABEL (§13.4). */
function resumeExporter(socket: tls.TLSSocket): Uint8Array {
  return socket.exportKeyingMaterial(32, RESUME_EXPORTER_LABEL, Buffer.alloc(0));
}

/** Waits for the TLS handshake; its failures become AuthError(ERR_TLS_FAILED). */
function tlsReady(socket: tls.TLSSocket, event: 'secure' | 'secureConnect', deadline: Deadline): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      socket.off(event, onReady);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const onError = (error: NodeJS.ErrnoException) => {
      if (deadline.error) return done(deadline.error);
      const reason = error.code && error.code !== 'ECONNRESET' ? error.code : error.message;
      done(new AuthError(ErrorCode.TLS_FAILED, `the TLS handshake failed (${reason})`, { cause: error }));
    };
    const onClose = () => done(deadline.error ?? new ConnectionClosedError('the peer closed the connection during the TLS handshake'));
    socket.once(event, onReady);
    socket.on('error', onError);
    socket.once('close', onClose);
  });
}

/** Which side of the pairing this end is, so each user reads what concerns them. */
type AuthSide = 'sender' | 'receiver';

/** What Ferry says for an ERROR code received before the peer proved who it is. */
const PRE_AUTH_REASONS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.PAIRING_FAILED]: 'wrong pairing code: ferry-send did not accept it (mistyped, or already used)',
  [ErrorCode.PAIRING_UNAVAILABLE]:
    'the sender is not taking pairing codes right now (too many wrong attempts, or others are pairing); ' +
    'try again in a moment, or restart ferry-send for a new code',
  [ErrorCode.KEY_CHANGED]: 'the other side does not accept this key',
  [ErrorCode.TLS_FAILED]: 'the other side refused the TLS connection',
  [ErrorCode.TIMEOUT]: 'the other side gave up waiting',
  [ErrorCode.CANCELLED]: 'the other side was interrupted',
};

/** The sender's own wording where the receiver's would mislead it. */
const SENDER_PRE_AUTH_REASONS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.PAIRING_FAILED]: 'the receiver gave a wrong pairing code; its user must type the code ferry-send shows now',
};

/**
 * An ERROR from a peer that has not authenticated: its code is kept, but its text is not shown,
 * because anyone on the network can send it (it could say "run this command").
 */
function unauthenticatedPeerError(message: ErrorMessage, side: AuthSide): FerryError {
  const { code } = peerError(message);
  const text =
    (side === 'sender' ? SENDER_PRE_AUTH_REASONS[code] : undefined) ??
    PRE_AUTH_REASONS[code] ??
    `the other side ended the connection during authentication (${code})`;
  return peerError({ code, message: text });
}

type AuthType = typeof FrameType.AUTH | typeof FrameType.AUTH_REPLY | typeof FrameType.AUTH_CONFIRM;

/**
 * Frames before authentication: only AUTH frames and ERROR, each at most a few hundred bytes,
 * one at a time. A peer that sends anything else, or sends ahead, is refused (G8).
 */
class AuthChannel {
  readonly #socket: tls.TLSSocket;
  readonly #deadline: Deadline;
  readonly #decoder = new FrameDecoder({ limits: PRE_AUTH_LIMITS });
  #frames: { type: number; payload: Uint8Array }[] = [];
  #error: Error | undefined;
  #ended = false;
  #waiter: (() => void) | undefined;
  #onData = (chunk: Buffer) => {
    try {
      for (const event of this.#decoder.push(chunk)) {
        if (event.kind !== 'frame') throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'unexpected DATA before authentication');
        this.#frames.push({ type: event.type, payload: event.payload });
        // One frame per turn: a peer that sends ahead (say, while the code's scrypt runs) is
        // refused at once rather than queued without bound.
        if (this.#frames.length > 1) throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'frames sent ahead of their turn');
      }
    } catch (error) {
      this.#error ??= error as Error;
      this.#socket.off('data', this.#onData);
      this.#socket.pause();
    }
    this.#wake();
  };
  #onEnd = () => {
    this.#ended = true;
    this.#wake();
  };
  #onError = (error: Error) => {
    this.#error ??= explainSocketError(error);
    this.#wake();
  };

  readonly #side: AuthSide;

  constructor(socket: tls.TLSSocket, deadline: Deadline, side: AuthSide) {
    this.#socket = socket;
    this.#deadline = deadline;
    this.#side = side;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  send<T extends AuthType>(type: T, message: MessageOf<T>): void {
    this.#socket.write(concatFrame(type, encodeMessage(type, message)));
  }

  /** The next frame, which must be of `type`; an ERROR becomes the peer's error. */
  async next<T extends AuthType>(type: T): Promise<MessageOf<T>> {
    for (;;) {
      const frame = this.#frames.shift();
      if (frame) {
        if (frame.type === FrameType.ERROR) throw unauthenticatedPeerError(decodeMessage(FrameType.ERROR, frame.payload), this.#side);
        if (frame.type !== type) {
          const name = FRAME_TYPE_NAMES.get(frame.type) ?? String(frame.type);
          throw new ProtocolError(
            ErrorCode.UNEXPECTED_FRAME,
            AUTH_FRAME_TYPES.has(frame.type) ? `${name} out of turn` : `${name} before authentication`,
          );
        }
        if (this.#frames.length > 0) throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'frames sent ahead of their turn');
        return decodeMessage(type, frame.payload);
      }
      if (this.#deadline.error) throw this.#deadline.error;
      if (this.#error) throw this.#error;
      if (this.#ended) throw new ConnectionClosedError('the peer closed the connection during authentication');
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  /** Hands the socket on: stops reading; anything already received is out of turn. */
  detach(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onError);
    this.#socket.pause();
    if (this.#frames.length > 0 || this.#decoder.midFrame) {
      throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, 'the peer sent data before authentication completed');
    }
  }

  /** Explains a failure to the peer when that is useful and safe, then closes. */
  async fail(error: unknown): Promise<void> {
    this.#socket.off('data', this.#onData);
    const tell =
      error instanceof FerryError &&
      !this.#socket.destroyed &&
      error.name !== 'PeerError' &&
      error.code !== ErrorCode.TIMEOUT &&
      error.code !== ErrorCode.CONNECTION_CLOSED;
    if (tell) {
      // A refused key is explained here, not to the peer: it learns nothing about whom we expected.
      const text =
        error.code === ErrorCode.KEY_CHANGED || error.code === ErrorCode.KEY_MISMATCH
          ? 'the receiver does not accept this key'
          : error.code === ErrorCode.PAIRING_FAILED
            ? 'wrong pairing code: the confirmation did not verify'
            : error.message;
      const message = truncateUtf8(text, LIMITS.maxErrorMessageBytes);
      const socket = this.#socket;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        timer.unref();
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.end(concatFrame(FrameType.ERROR, encodeMessage(FrameType.ERROR, { code: error.code, message })));
        // Read and drop what the peer still sends until it closes (bounded by the timer):
        // closing with unread bytes would reset the connection, and the reset could destroy
        // the ERROR before the peer reads it.
        socket.on('data', () => {});
        socket.resume();
      });
    }
    this.#socket.destroy();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * Waits for the first byte a peer sends and puts it back, so whoever reads next gets it again:
 * one port can then tell a Ferry preamble (`0x89`) from anything else, such as an HTTP request
 * (PROTOCOL.md §15). The socket is left paused; resume it once the next reader listens. Rejects
 * as the preamble exchange would when the connection ends or the deadline passes first.
 */
export function peekFirstByte(socket: Socket, deadline: Deadline): Promise<number> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      if (chunk.byteLength === 0) return;
      settle();
      socket.pause();
      socket.unshift(chunk);
      resolve(chunk[0]!);
    };
    const onEnd = () => {
      settle();
      reject(
        deadline.error ??
          new ProtocolError(ErrorCode.TRUNCATED, 'the connection closed before the Ferry greeting'),
      );
    };
    const onError = (error: Error) => {
      settle();
      reject(deadline.error ?? explainSocketError(error));
    };
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    socket.on('data', onData);
  });
}
