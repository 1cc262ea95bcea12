/**
 * Files dropped on the sending window: the page sends each one's bytes to
 * `POST /api/upload?drop=<id>&path=<relative path>` (PROTOCOL.md §11.15 W9), since a browser
 * never tells a page where a dropped file is; the app stages it and answers where it is now.
 * Zod-free: the page imports it.
 */

/** The route that takes one dropped file. */
export const UPLOAD_PATH = '/api/upload';

/** The answer's value: where a dropped file was staged. */
export interface StagedFile {
  /** The staged top-level item it belongs to (the file, or the dropped folder): what is offered. */
  readonly item: string;
  /** The file itself. */
  readonly path: string;
  readonly bytes: number;
}
