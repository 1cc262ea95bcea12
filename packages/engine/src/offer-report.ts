import type { ValidatedOffer } from '@ferry/protocol';

/**
 * The chosen top-level items whose name starts with a dot (`.ssh`, `.bashrc`): saved into a
 * home folder they would take effect, so they are pointed out before anything is accepted.
 * Folder names end in `/`.
 */
export function hiddenTopLevel(
  offer: ValidatedOffer,
  items: readonly number[] = offer.items.map((_, index) => index),
): string[] {
  const hidden: string[] = [];
  for (const index of items) {
    const item = offer.items[index];
    if (item?.name.startsWith('.')) hidden.push(item.kind === 'dir' ? `${item.name}/` : item.name);
  }
  return hidden;
}
