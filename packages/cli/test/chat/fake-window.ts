import {
  CHAT_SLICES,
  type ChatEntry,
  type ChatSlice,
  type ChatTransfer,
} from '@ferry/window/state/chat';
import { FakeWindow as MemoryWindow } from '@ferry/window/testing';

/** The chat's slices in memory (see `@ferry/window/testing`), with readers for the chat's. */
export class FakeWindow extends MemoryWindow {
  constructor() {
    super(CHAT_SLICES);
  }

  get chat(): ChatSlice {
    return this.slices.get('chat') as ChatSlice;
  }
  get messages(): ChatEntry[] {
    return this.slices.get('messages') as ChatEntry[];
  }
  get transfers(): ChatTransfer[] {
    return this.slices.get('transfers') as ChatTransfer[];
  }
  /** The notes' text, peer strings in brackets. */
  get notes(): string[] {
    return this.messages.flatMap((entry) =>
      entry.kind === 'note'
        ? [entry.parts.map((part) => (part.peer ? `[${part.text}]` : part.text)).join('')]
        : [],
    );
  }
}
