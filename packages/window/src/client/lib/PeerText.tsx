import { escapeForDisplay } from '@ferry/protocol/text';

/** Characters shown of a long string before it is cut (the whole text stays in `title`). */
export const PEER_TEXT_MAX = 160;

/**
 * A string from a peer (a file name, a peer's name, a message), shown as text only: controls and
 * bidi overrides made visible as the terminal shows them, isolated with `<bdi>` so it cannot
 * reorder what is around it, wrapped anywhere, and cut when long with the whole in `title`.
 */
export function PeerText({
  text,
  max = PEER_TEXT_MAX,
  class: className,
}: {
  text: string;
  max?: number;
  class?: string;
}) {
  const safe = escapeForDisplay(text);
  const chars = Array.from(safe);
  const shown = chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : safe;
  return (
    <bdi class={className ? `peer-text ${className}` : 'peer-text'} title={safe}>
      {shown}
    </bdi>
  );
}
