import type { SendDownload } from '@ferry/window/state/send';
import type { Link } from '../link/server.ts';

/** Downloads listed, at most: the oldest finished ones go first. */
export const MAX_LISTED_DOWNLOADS = 50;

/** Where {@link LinkDownloads} publishes its list: now, or built when the window sends it. */
export interface DownloadsSink {
  now(downloads: SendDownload[]): void;
  later(list: () => SendDownload[]): void;
}

/**
 * The link's downloads as the window lists them: who, what, how far, and how each ended.
 * Changes of state are published at once; as bytes move, the window builds the list when it is
 * due to go out.
 */
export class LinkDownloads {
  readonly #list = new Map<number, SendDownload>();
  readonly #publish: DownloadsSink;

  constructor(publish: DownloadsSink) {
    this.#publish = publish;
  }

  /** The downloads listed now, oldest first. */
  list(): SendDownload[] {
    return [...this.#list.values()].map((d) => ({ ...d }));
  }

  /** Follows `link`'s download events; returns a function that stops following them. */
  follow(link: Pick<Link, 'on'>): () => void {
    const offs = [
      link.on('download-start', ({ id, peer, agent, what, bytes }) => {
        this.#list.set(id, {
          id,
          peer,
          agent,
          what,
          bytes: 0,
          total: bytes,
          state: 'running',
          message: null,
        });
        this.#trim();
        this.#flush();
      }),
      link.on('download-progress', ({ id, bytes }) => {
        const download = this.#list.get(id);
        if (!download) return;
        download.bytes = bytes;
        this.#publish.later(() => this.list());
      }),
      link.on('download-done', ({ id, bytes, complete }) =>
        this.#end(id, { bytes, state: complete ? 'done' : 'stopped' }),
      ),
      link.on('download-failed', ({ id, message }) => this.#end(id, { state: 'failed', message })),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  #end(id: number, change: Partial<SendDownload>): void {
    const download = this.#list.get(id);
    if (!download) return;
    Object.assign(download, change);
    this.#flush();
  }

  #trim(): void {
    const finished = [...this.#list.values()].filter((d) => d.state !== 'running');
    for (const d of finished.slice(0, Math.max(0, this.#list.size - MAX_LISTED_DOWNLOADS)))
      this.#list.delete(d.id);
  }

  #flush(): void {
    this.#publish.now(this.list());
  }
}
