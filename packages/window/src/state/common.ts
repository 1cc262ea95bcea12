/**
 * What every window shares between the app and the page: the answers of actions, the file
 * browser's requests and answers, and an error as the page shows it. Isomorphic: zod only.
 */
import { z } from 'zod';

export { WINDOW_APPS, type WindowApp } from './apps.ts';

/** An error as the page shows it: plain words, and what to do next. */
export const ErrorInfoSchema = z.strictObject({
  code: z.string(),
  message: z.string(),
});
/** An error as the page shows it. */
export type ErrorInfo = z.infer<typeof ErrorInfoSchema>;

/** The answer of every action and file browser request. */
export type ActionAnswer<T = unknown> = { ok: true; value?: T } | { error: ErrorInfo };

/** `POST /api/fs/list`: a folder (absolute; absent: home), hidden entries too or not. */
export const FsListInputSchema = z.strictObject({
  path: z.string().min(1).max(4096).optional(),
  hidden: z.boolean().optional(),
});
export type FsListInput = z.infer<typeof FsListInputSchema>;

/** One entry of a listed folder. `other`: a device, socket, or a link to nothing. */
export const FsEntrySchema = z.strictObject({
  name: z.string(),
  kind: z.enum(['file', 'dir', 'other']),
  size: z.number().optional(),
  modified: z.number().optional(),
});
export type FsEntry = z.infer<typeof FsEntrySchema>;

/** The answer of `POST /api/fs/list`. `truncated`: more entries than are listed. */
export const FsListingSchema = z.strictObject({
  path: z.string(),
  parent: z.string().nullable(),
  home: z.string(),
  sep: z.enum(['/', '\\']),
  roots: z.array(z.string()),
  recent: z.array(z.string()),
  entries: z.array(FsEntrySchema),
  truncated: z.boolean(),
});
export type FsListing = z.infer<typeof FsListingSchema>;

/** `POST /api/fs/mkdir`: creates the folder `name` in `parent`; never overwrites. */
export const FsMkdirInputSchema = z.strictObject({
  parent: z.string().min(1).max(4096),
  name: z.string().min(1).max(1024),
});
export type FsMkdirInput = z.infer<typeof FsMkdirInputSchema>;

/** `POST /api/fs/space`: the free space where `path` is. */
export const FsSpaceInputSchema = z.strictObject({ path: z.string().min(1).max(4096) });
export type FsSpaceInput = z.infer<typeof FsSpaceInputSchema>;

/** `POST /api/fs/recent`: remembers a folder the user picked, for the browser's Recent list. */
export const FsRecentInputSchema = z.strictObject({ path: z.string().min(1).max(4096) });
export type FsRecentInput = z.infer<typeof FsRecentInputSchema>;

/**
 * The slice `app`, which every window sets and the page's header shows: this side's name as
 * peers see it, Ferry's version, and whether transfers are encrypted.
 */
export const AppSliceSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  encryption: z.boolean(),
});
export type AppSlice = z.infer<typeof AppSliceSchema>;
