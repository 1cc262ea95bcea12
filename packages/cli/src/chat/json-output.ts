/**
 * A conversation's events as the fields of chat `--json` events (CHAT_JSON_EVENTS). Names and
 * texts go out as the peer sent them: toJsonLine escapes what could disturb a terminal.
 */
import { type ChatPeer, type ConversationEvents, hiddenTopLevel } from '@ferry/engine';
import type { ChatJsonEvent, CHAT_JSON_EVENTS } from '../json-events.ts';
import { reportFields } from '../report-lines.ts';
import type { ChatEventName } from './render.ts';

/** One printable event: its name and fields. */
export type JsonOut = {
  [K in keyof typeof CHAT_JSON_EVENTS]: [K, ChatJsonEvent<K>];
}[keyof typeof CHAT_JSON_EVENTS];

/** A peer as the `joined`, `chat-ready` and `peers` events show it. */
export function peerFields({
  peer,
  name,
  key,
  address,
  transfers,
}: ChatPeer): ChatJsonEvent<'joined'> {
  return { peer, name, key, address, transfers };
}

/**
 * The JSON event for a conversation event, or undefined for one printed otherwise (`progress`
 * is paced by the caller; `ready` becomes `chat-ready`).
 */
export function jsonEventFor<K extends ChatEventName>(
  name: K,
  event: ConversationEvents[K],
): JsonOut | undefined {
  const e = event as ConversationEvents[keyof ConversationEvents];
  switch (name) {
    case 'ready': {
      const { self, peers } = e as ConversationEvents['ready'];
      return [
        'chat-ready',
        { peer: self.peer, name: self.name, key: self.key, peers: peers.map(peerFields) },
      ];
    }
    case 'joined':
      return ['joined', peerFields(e as ChatPeer)];
    case 'left': {
      const { peer, name: who, reason, code, message } = e as ConversationEvents['left'];
      return [
        'left',
        { peer, name: who, reason, ...(code ? { code } : {}), ...(message ? { message } : {}) },
      ];
    }
    case 'message': {
      const { peer, name: from, text } = e as ConversationEvents['message'];
      return ['message', { from, peer, text }];
    }
    case 'said': {
      const { peer, name: from, text } = e as ConversationEvents['said'];
      return ['said', { from, peer, text }];
    }
    case 'offer': {
      const {
        number,
        peer,
        name: from,
        offer,
        renamed,
        folders,
      } = e as ConversationEvents['offer'];
      return [
        'offer',
        {
          offer: number,
          from,
          peer,
          files: offer.fileCount,
          bytes: offer.totalBytes,
          items: offer.items.map(({ name: item, kind, fileCount, bytes }) => ({
            name: item,
            kind,
            files: fileCount,
            bytes,
          })),
          entries: offer.entries.map(({ path, kind, size }) =>
            kind === 'dir' ? { path, kind } : { path, kind, size },
          ),
          hidden: hiddenTopLevel(offer),
          folders,
          renamed: renamed.map(({ offered, local }) => ({ offered, savedAs: local })),
        },
      ];
    }
    case 'report': {
      const { number, report } = e as ConversationEvents['report'];
      return ['report', { offer: number, ...reportFields(report) }];
    }
    case 'declined': {
      const { number, peer, name: who, code } = e as ConversationEvents['declined'];
      return ['declined', { offer: number, peer, name: who, code }];
    }
    case 'transfer-start': {
      const {
        number,
        direction,
        peer,
        name: who,
        files,
        bytes,
        outDir,
        heldBytes,
      } = e as ConversationEvents['transfer-start'];
      return [
        'transfer-start',
        {
          offer: number,
          direction,
          peer,
          name: who,
          files,
          bytes,
          ...(outDir ? { out: outDir } : {}),
          ...(heldBytes ? { heldBytes } : {}),
        },
      ];
    }
    case 'transfer-resumed': {
      const {
        number,
        previous,
        direction,
        peer,
        name: who,
        files,
        bytes,
        heldBytes,
      } = e as ConversationEvents['transfer-resumed'];
      return [
        'transfer-resumed',
        { offer: number, previous, direction, peer, name: who, files, bytes, heldBytes },
      ];
    }
    case 'file-saved': {
      const { number, peer, path, offered, size, sha256, present } =
        e as ConversationEvents['file-saved'];
      return [
        'file-saved',
        { offer: number, peer, path, offered, size, sha256, ...(present ? { present } : {}) },
      ];
    }
    case 'file-restarted': {
      const { number, direction, peer, offered, reason } =
        e as ConversationEvents['file-restarted'];
      return ['file-restarted', { offer: number, direction, peer, offered, reason }];
    }
    case 'reconnecting': {
      const { by, seconds } = e as ConversationEvents['reconnecting'];
      return ['reconnecting', { by, seconds }];
    }
    case 'reconnected': {
      const { by, self, peers } = e as ConversationEvents['reconnected'];
      return ['reconnected', { by, self: peerFields(self), peers: peers.map(peerFields) }];
    }
    case 'partial-kept': {
      const { number, peer, name: who, outDir, dir } = e as ConversationEvents['partial-kept'];
      return ['partial-kept', { offer: number, peer, name: who, out: outDir, dir }];
    }
    case 'file-failed': {
      const { number, direction, peer, offered, code, message } =
        e as ConversationEvents['file-failed'];
      return ['file-failed', { offer: number, direction, peer, offered, code, message }];
    }
    case 'file-sent': {
      const { number, peer, path, size, sha256 } = e as ConversationEvents['file-sent'];
      return ['file-sent', { offer: number, peer, path, size, sha256 }];
    }
    case 'transfer-done': {
      const {
        number,
        direction,
        peer,
        name: who,
        saved,
        failed,
        bytes,
        ms,
        code,
        suspended,
      } = e as ConversationEvents['transfer-done'];
      return [
        'transfer-done',
        {
          offer: number,
          direction,
          peer,
          name: who,
          files: saved,
          failed,
          bytes,
          ms,
          ...(code ? { code } : {}),
          ...(suspended ? { suspended: true as const } : {}),
        },
      ];
    }
    case 'ended': {
      const { reason, by, code, message } = e as ConversationEvents['ended'];
      return [
        'ended',
        {
          reason,
          ...(by !== undefined ? { by } : {}),
          ...(code ? { code } : {}),
          ...(message ? { message } : {}),
        },
      ];
    }
    default:
      return undefined;
  }
}
