import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';

/** How many recent folders are kept. */
export const MAX_RECENT = 10;

/** The file in the config folder that keeps them. */
export const RECENT_FILE = 'window-recent.json';

const RecentFileSchema = z.strictObject({
  version: z.literal(1),
  folders: z.array(z.string().min(1).max(4096)).max(MAX_RECENT),
});

/**
 * The last folders the user picked in a window, newest first, kept in memory and in the
 * config folder. A missing or broken file counts as none and is replaced on the next pick.
 */
export class RecentFolders {
  readonly #file: string;
  readonly #log: Logger;
  #folders: string[] = [];
  #loaded: Promise<void> | undefined;
  #saving: Promise<void> = Promise.resolve();

  constructor(configDir: string, logger: Logger) {
    this.#file = path.join(configDir, RECENT_FILE);
    this.#log = logger;
  }

  /** The recent folders, newest first. */
  async list(): Promise<string[]> {
    await this.#load();
    return [...this.#folders];
  }

  /** Puts `folder` (absolute) first, keeps at most MAX_RECENT, and saves the list. */
  async add(folder: string): Promise<void> {
    await this.#load();
    this.#folders = [folder, ...this.#folders.filter((f) => f !== folder)].slice(0, MAX_RECENT);
    const body = `${JSON.stringify({ version: 1, folders: this.#folders }, null, 2)}\n`;
    this.#saving = this.#saving.then(() => this.#save(body));
    await this.#saving;
  }

  #load(): Promise<void> {
    this.#loaded ??= readFile(this.#file, 'utf8').then(
      (text) => {
        const parsed = RecentFileSchema.safeParse(safeJson(text));
        if (parsed.success) this.#folders = parsed.data.folders.filter((f) => path.isAbsolute(f));
        else this.#log.warn({ file: this.#file }, 'recent folders file ignored');
      },
      () => {},
    );
    return this.#loaded;
  }

  async #save(body: string): Promise<void> {
    const temp = `${this.#file}.${process.pid}.tmp`;
    try {
      await mkdir(path.dirname(this.#file), { recursive: true, mode: 0o700 });
      await writeFile(temp, body, { mode: 0o600 });
      await rename(temp, this.#file);
    } catch (error) {
      this.#log.warn({ err: error, file: this.#file }, 'recent folders not saved');
      await rm(temp, { force: true });
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
