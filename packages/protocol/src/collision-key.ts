/**
 * The key two names collide under on some file system: Unicode compatibility normalisation
 * and full case folding (so `é`/`e\u0301`, `README`/`readme`, `ẞ`/`ß`/`SS` and `ﬀ`/`FF`
 * meet). Lower-casing before upper-casing makes it idempotent: `ẞ` lowers to `ß`, which
 * upper-cases to `SS`, so a key never changes when taken again (PROTOCOL.md §6.2).
 */
export function collisionKey(path: string): string {
  // ASCII is its own NFKC form, and its case mappings are one to one.
  if (ASCII.test(path)) return path.toLowerCase();
  return path.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
}

const ASCII = /^[\x00-\x7f]*$/;
