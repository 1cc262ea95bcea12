import path from 'node:path';
import { UnsafeOfferError } from '../errors.ts';

type PathApi = Pick<typeof path, 'join' | 'relative' | 'isAbsolute' | 'sep'>;

/**
 * Joins validated components below `root` and proves by components (never by string prefix)
 * that the result stays strictly inside it. `pathApi` lets tests check Windows rules on Linux.
 */
export function resolveInside(root: string, components: readonly string[], pathApi: PathApi = path): string {
  const joined = pathApi.join(root, ...components);
  const relative = pathApi.relative(root, joined);
  const escapes =
    relative === '' ||
    relative === '..' ||
    relative.startsWith(`..${pathApi.sep}`) ||
    pathApi.isAbsolute(relative);
  if (escapes) throw new UnsafeOfferError(components.join('/'), 'name resolves outside the destination');
  return joined;
}
