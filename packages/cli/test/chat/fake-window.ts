import {
  CHAT_SLICES,
  type ChatEntry,
  type ChatSlice,
  type ChatTransfer,
} from '@ferry/window/state/chat';
import type { z } from 'zod';

/** A window that keeps each slice's last value (checked against its schema) and its actions. */
export class FakeWindow {
  readonly slices = new Map<string, unknown>();
  readonly actions = new Map<string, { schema: z.ZodType; run: (input: unknown) => unknown }>();

  set(slice: string, value: unknown): void {
    const schema = CHAT_SLICES[slice as keyof typeof CHAT_SLICES];
    if (!schema) throw new Error(`unknown slice ${slice}`);
    this.slices.set(slice, schema.parse(value));
  }

  /** Builds the slice at once: the real window builds it when it is due to go out. */
  setLater(slice: string, produce: () => unknown): void {
    this.set(slice, produce());
  }

  action<S extends z.ZodType>(name: string, schema: S, run: (input: z.infer<S>) => unknown): void {
    this.actions.set(name, { schema, run: run as (input: unknown) => unknown });
  }

  /** Runs an action as the server does: the input checked with its schema first. */
  async call(name: string, input: unknown): Promise<unknown> {
    const action = this.actions.get(name);
    if (!action) throw new Error(`no action ${name}`);
    return action.run(action.schema.parse(input));
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
