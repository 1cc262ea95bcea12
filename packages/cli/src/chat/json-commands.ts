/**
 * The commands `--json` chat mode reads on stdin, one JSON object per line, validated with zod
 * and turned into the same commands a person types (commands.ts).
 */
import { z } from 'zod';
import type { ChatCommand } from './commands.ts';

const offer = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const text = z.string().min(1);

/** One JSON command line, by `cmd`. */
export const ChatJsonCommandSchema = z.discriminatedUnion('cmd', [
  z.strictObject({ cmd: z.literal('say'), text }),
  z.strictObject({
    cmd: z.literal('send'),
    paths: z.array(text).min(1),
    /** A name in the conversation, or a peer number from `peers`. */
    to: z.union([text, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]).optional(),
  }),
  z.strictObject({ cmd: z.literal('accept'), offer, dir: text.optional() }),
  z.strictObject({ cmd: z.literal('decline'), offer }),
  z.strictObject({ cmd: z.literal('peers') }),
  z.strictObject({ cmd: z.literal('quit') }),
]);

/** One JSON command as a script writes it. */
export type ChatJsonCommand = z.input<typeof ChatJsonCommandSchema>;

/** A JSON command line read: the command (undefined for a blank line), or what is wrong with it. */
export type ParsedJsonCommand =
  | { readonly ok: true; readonly command: ChatCommand | undefined }
  | { readonly ok: false; readonly problem: string };

/** Longest command line shown back in a problem. */
const SHOWN = 60;

/** Reads one line of `--json` stdin. */
export function parseJsonCommand(line: string): ParsedJsonCommand {
  const trimmed = line.trim();
  if (trimmed === '') return { ok: true, command: undefined };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { ok: false, problem: `not a JSON object: ${JSON.stringify(trimmed.slice(0, SHOWN))}` };
  }
  const result = ChatJsonCommandSchema.safeParse(value);
  if (!result.success) {
    const cmd = (value as { cmd?: unknown } | null)?.cmd;
    const known = ChatJsonCommandSchema.options.some((option) => option.shape.cmd.value === cmd);
    if (!known) {
      return {
        ok: false,
        problem: 'unknown command: "cmd" must be one of say, send, accept, decline, peers, quit',
      };
    }
    return {
      ok: false,
      problem: `${String(cmd)}: ${z.prettifyError(result.error).replaceAll('\n', ' ')}`,
    };
  }
  return { ok: true, command: toCommand(result.data) };
}

function toCommand(data: z.output<typeof ChatJsonCommandSchema>): ChatCommand {
  switch (data.cmd) {
    case 'say':
      return { kind: 'say', text: data.text };
    case 'send': {
      const to =
        data.to === undefined
          ? undefined
          : typeof data.to === 'number'
            ? { peer: data.to }
            : { name: data.to };
      return { kind: 'send', paths: data.paths, to };
    }
    case 'accept':
      return { kind: 'accept', offer: data.offer, dir: data.dir };
    case 'decline':
      return { kind: 'decline', offer: data.offer };
    case 'peers':
      return { kind: 'peers' };
    case 'quit':
      return { kind: 'quit' };
  }
}
