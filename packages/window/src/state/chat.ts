/**
 * The chat window's state (slices) and actions, as zod schemas: the contract between the app's
 * window controller and the page's screens in `client/chat/`.
 */
export {};
