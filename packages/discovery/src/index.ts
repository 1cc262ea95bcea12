export { type AnnouncerOptions, createAnnouncer } from './announcer.ts';
export { BrowseError, type BrowserOptions, createBrowser } from './browser.ts';
export { type Dropped, type MdnsRecord, SenderTable } from './table.ts';
export {
  type Announcement,
  encodeTxt,
  instanceName,
  parseTxt,
  SERVICE_NAME,
  type TxtFields,
  txtPairs,
  txtStrings,
} from './txt.ts';
export type { AnnouncedAs, Announcer, BrowseOptions, Browser, FoundSender } from './types.ts';
