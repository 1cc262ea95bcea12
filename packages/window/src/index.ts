export { type ClientAssets, clientAssets } from './server/assets.ts';
export { WindowActionError } from './server/errors.ts';
export { freeSpace, MAX_LISTED_ENTRIES } from './server/fs-api.ts';
export { LIVE_STATE } from './server/live-state.ts';
export { MAX_BODY_BYTES } from './server/body.ts';
export { openFolder, openInBrowser } from './server/open.ts';
export { MAX_RECENT, RECENT_FILE } from './server/recent.ts';
export { SECURITY_HEADERS } from './server/security.ts';
export {
  startWindow,
  type Window,
  type WindowOptions,
  type WindowSurface,
} from './server/window.ts';
export type { WindowApp } from './state/common.ts';
