/**
 * The chat text vectors of PROTOCOL.md §12.9: SAY payloads, as JSON text, that a peer accepts
 * or refuses by the rule of §12.2. `print.ts` writes the table into the document;
 * `chat-text.test.ts` checks each row against the decoder and `chatTextProblem`.
 */

/** One SAY payload and the verdict on it. */
export interface ChatTextVector {
  /** The payload as JSON text, as sent. */
  readonly payload: string;
  /** How the table shows the payload, when it is too long to show whole. */
  readonly shown?: string;
  /** What the text is. */
  readonly about: string;
  readonly accepted: boolean;
}

/** `count` copies of `unit`. */
function repeat(unit: string, count: number): string {
  return unit.repeat(count);
}

export const CHAT_TEXT_VECTORS: readonly ChatTextVector[] = [
  { payload: '{"text":"hi \\ud83d\\udc4b"}', about: 'text and an emoji (U+1F44B)', accepted: true },
  {
    payload: '{"text":"\\ud83d\\udc68\\u200d\\ud83d\\udc69\\u200d\\ud83d\\udc67"}',
    about: 'an emoji sequence joined by U+200D ZERO WIDTH JOINER',
    accepted: true,
  },
  {
    payload: '{"text":"\\u0645\\u0631\\u062d\\u0628\\u0627"}',
    about: 'right-to-left letters, with no bidi control',
    accepted: true,
  },
  {
    payload: `{"text":"${repeat('\\ud83d\\ude00', 1024)}"}`,
    shown: '`{"text":"` then 1024 × `\\ud83d\\ude00` then `"}`',
    about: '4096 UTF-8 bytes (1024 × U+1F600)',
    accepted: true,
  },
  { payload: '{"text":""}', about: 'empty', accepted: false },
  {
    payload: `{"text":"a${repeat('\\ud83d\\ude00', 1024)}"}`,
    shown: '`{"text":"a` then 1024 × `\\ud83d\\ude00` then `"}`',
    about: '4097 UTF-8 bytes',
    accepted: false,
  },
  {
    payload: '{"text":"\\u001b[31mred"}',
    about: 'U+001B ESCAPE (a colour sequence)',
    accepted: false,
  },
  { payload: '{"text":"over\\rwrite"}', about: 'U+000D CARRIAGE RETURN', accepted: false },
  { payload: '{"text":"a\\tb"}', about: 'U+0009 TAB (a C0 control)', accepted: false },
  { payload: '{"text":"\\u007f"}', about: 'U+007F DELETE', accepted: false },
  { payload: '{"text":"a\\u0085b"}', about: 'U+0085 NEXT LINE (a C1 control)', accepted: false },
  {
    payload: '{"text":"invoice\\u202etxt.exe"}',
    about: 'U+202E RIGHT-TO-LEFT OVERRIDE',
    accepted: false,
  },
  {
    payload: '{"text":"\\u2067x\\u2069"}',
    about: 'U+2067 and U+2069, a bidi isolate',
    accepted: false,
  },
  { payload: '{"text":"a\\u200eb"}', about: 'U+200E LEFT-TO-RIGHT MARK', accepted: false },
  { payload: '{"text":"a\\u061cb"}', about: 'U+061C ARABIC LETTER MARK', accepted: false },
  { payload: '{"text":"a\\u2028b"}', about: 'U+2028 LINE SEPARATOR', accepted: false },
  { payload: '{"text":"a\\u2029b"}', about: 'U+2029 PARAGRAPH SEPARATOR', accepted: false },
  { payload: '{"text":"a\\ud800b"}', about: 'a lone surrogate (U+D800)', accepted: false },
];

/** The Markdown table of the chat text vectors, as PROTOCOL.md §12.9 shows it. */
export function chatTextMarkdown(vectors: readonly ChatTextVector[] = CHAT_TEXT_VECTORS): string {
  const rows = vectors.map(
    ({ payload, shown, about, accepted }) =>
      `| ${shown ?? `\`${payload}\``} | ${about} | ${accepted ? 'accepted' : 'refused: `ERR_BAD_MESSAGE`'} |`,
  );
  return `| SAY payload | The text | Verdict |\n|---|---|---|\n${rows.join('\n')}\n`;
}
