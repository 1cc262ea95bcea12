import type { Emitter, Renamed, ValidatedOffer } from '@ferry/protocol';
import type { DestinationReport } from '../inspection.ts';

/**
 * A conversation as one side sees it (PROTOCOL.md §12): the listener's room, or a joiner's
 * link to it. Both apps' screens drive it through this interface alone.
 */

/** Someone in the conversation. Peer 0 is the listener; joiners are numbered from 1. */
export interface ChatPeer {
  readonly peer: number;
  /** Their name in the conversation, unique in it (peer text: escape before showing). */
  readonly name: string;
  /** Their key's fingerprint as people see it (`A1B2 C3D4 E5F6 0718`), or '' in clear. */
  readonly key: string;
  /** Their address as `host:port`, where this side knows it ('' for other joiners). */
  readonly address: string;
  /** Offers with them that are being sent or received right now. */
  readonly transfers: number;
}

/** Which way a transfer goes, seen from this side. */
export type Direction = 'in' | 'out';

/** An offer from a peer, waiting for this user's answer. `number` is local: `#1`, `#2`, … */
export interface IncomingOffer {
  readonly number: number;
  readonly peer: number;
  readonly name: string;
  readonly offer: ValidatedOffer;
  /** Names this system cannot store, and the name each would be saved under. */
  readonly renamed: readonly Renamed[];
  /** Folders it creates. */
  readonly folders: number;
}

export interface ConversationEvents extends Record<string, unknown> {
  /** This side is in: its name in the conversation and who else is there. */
  ready: { self: ChatPeer; peers: readonly ChatPeer[] };
  joined: ChatPeer;
  /** `reason`: `quit` (said goodbye), `lost` (connection failed), `cut-off` (broke the rules). */
  left: {
    peer: number;
    name: string;
    reason: 'quit' | 'lost' | 'cut-off';
    code?: string | undefined;
    message?: string | undefined;
  };
  message: { peer: number; name: string; text: string };
  /**
   * This side said `text` (once per successful `say`, whichever front-end called it): `peer`
   * and `name` are this side's own. Emitted synchronously, before `say` returns.
   */
  said: { peer: number; name: string; text: string };
  offer: IncomingOffer;
  /** Before accepting: what saving offer `number` into a folder would do. */
  report: { number: number; report: DestinationReport };
  /** A proposal of this side's was declined (`code` ERR_DECLINED, ERR_CANCELLED, …). */
  declined: { number: number; peer: number; name: string; code: string };
  /** A transfer began: an accepted incoming offer, or an outgoing one the peer accepted. */
  'transfer-start': {
    number: number;
    direction: Direction;
    peer: number;
    name: string;
    files: number;
    bytes: number;
    outDir?: string | undefined;
    /**
     * Bytes held already and not sent again, when the transfer resumes from partial data on
     * disk (§13.11 item 8) rather than continuing one of this conversation (`transfer-resumed`).
     */
    heldBytes?: number | undefined;
  };
  /**
   * Just before `transfer-start` of a transfer that continues `previous` (a local number), after
   * a reconnection: `bytes` still to move, `heldBytes` not sent again (files already there too).
   */
  'transfer-resumed': {
    number: number;
    previous: number;
    direction: Direction;
    peer: number;
    name: string;
    files: number;
    bytes: number;
    heldBytes: number;
  };
  progress: { number: number; direction: Direction; bytes: number };
  /** `present`: the file was already there whole (same path, size and digest): nothing was written. */
  'file-saved': {
    number: number;
    peer: number;
    path: string;
    offered: string;
    size: number;
    sha256: string;
    present?: boolean | undefined;
  };
  /**
   * A file of a resumed transfer starts over from byte 0: `changed` since the interruption (the
   * proposer's check), or the part kept here `differs` (the proposer answered it with offset 0).
   */
  'file-restarted': {
    number: number;
    direction: Direction;
    peer: number;
    offered: string;
    reason: 'changed' | 'differs';
  };
  'file-failed': {
    number: number;
    direction: Direction;
    peer: number;
    offered: string;
    code: string;
    message: string;
  };
  'file-sent': { number: number; peer: number; path: string; size: number; sha256: string };
  /**
   * A transfer ended: every file accounted for, or the connection with its peer ended.
   * `suspended`: the connection was lost and the transfer waits for the peer to come back.
   */
  'transfer-done': {
    number: number;
    direction: Direction;
    peer: number;
    name: string;
    saved: number;
    failed: number;
    bytes: number;
    ms: number;
    code?: string | undefined;
    suspended?: boolean | undefined;
  };
  /** A joiner lost the listener `by` and tries to reconnect for up to `seconds`. */
  reconnecting: { by: string; seconds: number };
  /** A joiner is back in the conversation: its (new) self, and who is there now. */
  reconnected: { by: string; self: ChatPeer; peers: readonly ChatPeer[] };
  /**
   * Partial data of incoming transfer `number` stays in `dir` (inside `outDir`): accepting the
   * same files from that peer into `outDir` resumes from it.
   */
  'partial-kept': { number: number; peer: number; name: string; outDir: string; dir: string };
  /** The conversation ended for this side: this user quit, the listener closed it, or the link failed. */
  ended: {
    reason: 'quit' | 'closed' | 'lost' | 'cut-off';
    by?: string | undefined;
    code?: string | undefined;
    message?: string | undefined;
  };
}

/** What a user can do in a conversation. Every method is safe to call after it ended (no-op or rejects with a clear error). */
export interface Conversation extends Emitter<ConversationEvents> {
  /** This side as the others see it. */
  readonly self: ChatPeer;
  /** Everyone else in the conversation now. */
  peers(): readonly ChatPeer[];
  /**
   * Sends a message to everyone and emits `said`. Throws a FerryError (ERR_BAD_MESSAGE) for text
   * that may not travel, and then emits nothing.
   */
  say(text: string): void;
  /**
   * Offers files and folders: to one peer (`to`), or to everyone (listener) / the listener
   * (joiner). Resolves with the local numbers of the offers made; rejects with a FerryError a
   * user can read (unreadable paths, too many open offers).
   */
  send(paths: readonly string[], to?: number): Promise<readonly number[]>;
  /** Offers this user has not answered yet, oldest first. */
  waiting(): readonly IncomingOffer[];
  /** Checks a folder for an offer (emits `report`) without accepting. */
  inspect(number: number, outDir: string): Promise<DestinationReport>;
  /** Accepts offer `number` (all of it) into `outDir`. Rejects if it is not waiting, or the folder cannot take it. */
  accept(number: number, outDir: string): Promise<void>;
  /** Declines offer `number`. */
  decline(number: number): Promise<void>;
  /** Leaves (the listener: ends the conversation for everyone). Resolves once the goodbyes went out. */
  quit(): Promise<void>;
  /** Resolves when the conversation ended for this side (after `ended`). */
  readonly done: Promise<ConversationEvents['ended']>;
}
