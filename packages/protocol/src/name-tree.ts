import type { Limits } from './constants.ts';
import { UnsafeOfferError } from './errors.ts';
import { utf8Length } from './text.ts';
import { collisionKey } from './collision-key.ts';

/** How many times longer, in UTF-8 bytes, a component's collision key may be than the component. */
export const MAX_KEY_EXPANSION = 4;

/**
 * The names of an offer as a tree of components, each node interned by its parent's id and its
 * own component's collision key. Every entry adds one node per component, so memory and work
 * are linear in the offer's size: there is no key per folder prefix of every path.
 */
export class NameTree {
  /** Node id by `${parent id}/${component key}`; the root is node 0. */
  readonly #ids = new Map<string, number>();
  /** Per folder node, its children by spelling, so a repeated spelling is never keyed again. */
  readonly #bySpelling: (Map<string, number> | undefined)[] = [];
  /** Per node: the component as first spelled, whether it is a file, whether an entry names it. */
  readonly #spelling: string[] = [''];
  readonly #isFile: boolean[] = [false];
  readonly #listed: boolean[] = [true];
  readonly #limits: Limits;
  #folders = 0;

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  /** Folders of the offer, listed as `dir` entries or implied by the paths below them. */
  get folderCount(): number {
    return this.#folders;
  }

  /**
   * Adds one entry's components; returns the id of its top-level node. Throws UnsafeOfferError
   * when it collides with an entry already added, whatever the order of the two.
   */
  add(path: string, kind: 'file' | 'dir', components: readonly string[]): number {
    const fail = (reason: string): never => {
      throw new UnsafeOfferError(path, reason);
    };
    let parent = 0;
    let top = 0;
    for (let index = 0; index < components.length; index++) {
      const component = components[index]!;
      const last = index === components.length - 1;
      let spelled = this.#bySpelling[parent];
      if (spelled === undefined) {
        spelled = new Map();
        this.#bySpelling[parent] = spelled;
      }
      let node = spelled.get(component);
      let created = false;
      if (node === undefined) {
        const slot = `${parent}/${componentKey(component, fail)}`;
        node = this.#ids.get(slot);
        if (node === undefined) {
          created = true;
          node = this.#spelling.length;
          this.#ids.set(slot, node);
          this.#spelling.push(component);
          this.#isFile.push(last && kind === 'file');
          this.#listed.push(last);
        }
        if (this.#spelling[node] === component) spelled.set(component, node);
      }
      if (created) {
        if (!this.#isFile[node] && ++this.#folders > this.#limits.maxFolders) {
          fail(`more than ${this.#limits.maxFolders} folders`);
        }
      } else if (last && this.#listed[node]) {
        fail('two entries would be saved under the same name');
      } else if (this.#isFile[node] || (last && kind === 'file')) {
        fail('a file of the offer is also used as a folder');
      } else if (this.#spelling[node] !== component) {
        fail('two folders would be saved under the same name');
      } else if (last) {
        this.#listed[node] = true;
      }
      if (index === 0) top = node;
      parent = node;
    }
    return top;
  }
}

/** A component's collision key, refusing one that normalisation would blow up (U+FDFA: 18 letters). */
function componentKey(component: string, fail: (reason: string) => never): string {
  const key = collisionKey(component);
  if (
    key.length > component.length &&
    utf8Length(key) > MAX_KEY_EXPANSION * utf8Length(component)
  ) {
    fail(`name grows more than ${MAX_KEY_EXPANSION} times under Unicode normalisation`);
  }
  return key;
}
