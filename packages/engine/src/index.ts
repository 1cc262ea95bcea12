export { BufferPool } from './buffer-pool.ts';
export {
  alternativeName,
  checkFreeSpace,
  Destination,
  folderProblem,
  isPathError,
  MAX_RENAME_ATTEMPTS,
  openDestination,
} from './destination.ts';
export {
  countFolders,
  type DestinationPlan,
  FOLDER_DISK_BYTES,
  type PathLimits,
  pathLimits,
  planDestination,
  type RenamedItem,
  type UnsavableEntry,
} from './destination-plan.ts';
export { DestinationError, UnsavablePathError } from './errors.ts';
export { FileSink, type FileSinkOptions, MAX_WRITE_BYTES } from './file-sink.ts';
export {
  asWriteError,
  type FailedFile,
  IncomingFile,
  type IncomingOptions,
  type SavedFile,
  type SavingFile,
} from './incoming-file.ts';
export {
  acceptedEntries,
  type DestinationReport,
  type InspectOptions,
  type Inspection,
  inspectDestination,
} from './inspection.ts';
export { hiddenTopLevel } from './offer-report.ts';
export {
  type FileFrames,
  type OutgoingHooks,
  type OutgoingOptions,
  type PlannedFile,
  plannedBytes,
  planRequest,
  sendPlannedFiles,
} from './outgoing.ts';
export { type FileSource, type OfferSource, openSource, scanOffer, type Skipped } from './scan.ts';
export { type AckHooks, SentFiles } from './sent-files.ts';
export { describeChange, type FileStamp, isOtherFile, stampOf } from './stamp.ts';
export { type PreparedReceiving, prepareReceiving } from './receiving.ts';
export type { ChatPeer, Conversation, ConversationEvents, Direction, IncomingOffer } from './chat/conversation.ts';
export { ChatLink, type LinkEnd, type LinkEvents, type LinkOptions } from './chat/link.ts';
export { ChatRoom, type JoinerInfo, type RoomOptions } from './chat/room.ts';
export { JoinedConversation, type JoinedOptions } from './chat/joined.ts';
