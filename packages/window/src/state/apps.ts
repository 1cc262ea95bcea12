/** The apps whose windows exist; the page picks its screen by it. Kept free of zod for the page. */
export const WINDOW_APPS = ['send', 'receive', 'chat-listener', 'chat-joiner'] as const;
/** One of {@link WINDOW_APPS}. */
export type WindowApp = (typeof WINDOW_APPS)[number];
