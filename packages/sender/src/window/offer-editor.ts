import path from 'node:path';
import type { OfferSource } from '@ferry/engine';
import { scanOffer } from '@ferry/engine';
import { escapeForDisplay, UsageError } from '@ferry/protocol';
import { WindowActionError } from '@ferry/window';
import type { SendOffer } from '@ferry/window/state/send';

/** Items in one offer, at most: the file browser picks a few at a time. */
export const MAX_OFFER_ITEMS = 1000;

/**
 * The offer as the window edits it: the paths the user added, scanned again on each change
 * exactly as the command line scans them, so the window offers what `ferry-send <paths>`
 * would. Changes run one after another; a change that cannot be scanned changes nothing and
 * says why.
 */
export class OfferEditor {
  #paths: string[];
  #offer: OfferSource;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Set<(offer: OfferSource) => void | Promise<void>>();
  readonly #scan: (paths: readonly string[]) => Promise<OfferSource>;

  constructor(
    paths: readonly string[],
    offer: OfferSource,
    scan: (paths: readonly string[]) => Promise<OfferSource> = scanOffer,
  ) {
    this.#paths = paths.map((p) => path.resolve(p));
    this.#offer = offer;
    this.#scan = scan;
  }

  /** The offer now. */
  get offer(): OfferSource {
    return this.#offer;
  }

  /** The paths offered now, absolute. */
  get paths(): readonly string[] {
    return this.#paths;
  }

  /** Calls `listener` after each change, before the change's action answers. */
  onChange(listener: (offer: OfferSource) => void | Promise<void>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds files and folders (absolute paths); one already offered is left as it is. */
  add(paths: readonly string[]): Promise<SendOffer> {
    return this.#change(() => {
      const next = [...this.#paths];
      for (const given of paths) {
        if (!path.isAbsolute(given)) {
          throw new WindowActionError(
            'ERR_BAD_REQUEST',
            `"${escapeForDisplay(given)}" is not a full path; pick it with Add files.`,
          );
        }
        const absolute = path.resolve(given);
        if (!next.includes(absolute)) next.push(absolute);
      }
      if (next.length > MAX_OFFER_ITEMS) {
        throw new WindowActionError(
          'ERR_TOO_MANY_ITEMS',
          `At most ${MAX_OFFER_ITEMS} items can be offered; offer their folder instead.`,
        );
      }
      return next;
    });
  }

  /** Takes items out of the offer, by the path they were added with. */
  remove(paths: readonly string[]): Promise<SendOffer> {
    return this.#change(() => {
      const gone = new Set(paths.map((p) => path.resolve(p)));
      return this.#paths.filter((p) => !gone.has(p));
    });
  }

  /** The offer as the window's `offer` slice. */
  slice(): SendOffer {
    return offerSlice(this.#paths, this.#offer);
  }

  #change(next: () => string[]): Promise<SendOffer> {
    const run = this.#queue.then(async () => {
      const paths = next();
      let offer: OfferSource;
      try {
        offer = await this.#scan(paths);
      } catch (error) {
        // Scanning says in words what is wrong with a path (unreadable, two items of one name).
        if (error instanceof UsageError)
          throw new WindowActionError('ERR_CANNOT_OFFER', `${error.message}.`, 400, {
            cause: error,
          });
        throw error;
      }
      this.#paths = paths;
      this.#offer = offer;
      for (const listener of this.#listeners) await listener(offer);
      return this.slice();
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** The `offer` slice of `offer`, scanned from `paths`: one item per path, with its files and bytes. */
export function offerSlice(paths: readonly string[], offer: OfferSource): SendOffer {
  const totals = new Map<string, { files: number; bytes: number; kind: 'file' | 'dir' }>();
  for (const entry of offer.entries) {
    const top = entry.path.split('/')[0]!;
    const total = totals.get(top) ?? { files: 0, bytes: 0, kind: 'dir' as const };
    if (entry.path === top) total.kind = entry.kind;
    if (entry.kind === 'file') {
      total.files++;
      total.bytes += entry.size;
    }
    totals.set(top, total);
  }
  return {
    items: paths.map((absolute) => {
      const name = path.basename(absolute);
      const total = totals.get(name) ?? { files: 0, bytes: 0, kind: 'file' as const };
      return { path: absolute, name, kind: total.kind, files: total.files, bytes: total.bytes };
    }),
    files: offer.fileCount,
    bytes: offer.totalBytes,
    skipped: offer.skipped.map(({ path: skippedPath, reason }) => ({ path: skippedPath, reason })),
  };
}
