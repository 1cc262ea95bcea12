export { BufferPool, FreshBuffers, type ReadBuffers } from './buffer-pool.ts';
export {
  alternativeName,
  checkFreeSpace,
  Destination,
  type DestinationOptions,
  folderProblem,
  type KeptPartials,
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
  type PresentFile,
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
export { openStartedFile, type RestartReason, startMatches } from './file-start.ts';
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
export { type Chunk, ChunkReader, checkUnchanged } from './source-reader.ts';
export { describeChange, type FileStamp, isOtherFile, stampOf } from './stamp.ts';
export { BULK_READ_GATE, SyncGate } from './sync-gate.ts';
export {
  type HeldPrefix,
  type PrepareOptions,
  type PreparedReceiving,
  prepareAgain,
  prepareReceiving,
} from './receiving.ts';
export {
  cleanPartials,
  type KeptPartialDir,
  type OpenedPartial,
  PartialStore,
} from './partials.ts';
export { type Busy, hashPrefix, PREFIX_READ_BYTES } from './prefix-hash.ts';
export { planResume, type ResumeOptions, type ResumePlan } from './resume-plan.ts';
export {
  type FoundState,
  matchResumeState,
  type OwnerOptions,
  PARTIAL_DIR_PREFIX,
  partialName,
  readResumeStates,
  type ResumeSender,
  type ResumeState,
  ResumeStateSchema,
  STATE_FILE,
  type TopClaim,
  writeResumeState,
} from './resume-state.ts';
export type {
  ChatPeer,
  Conversation,
  ConversationEvents,
  Direction,
  IncomingOffer,
} from './chat/conversation.ts';
export {
  ChatLink,
  type LinkEnd,
  type LinkEvents,
  type LinkOptions,
  type LinkSettings,
} from './chat/link.ts';
export type {
  SuspendedIncoming,
  SuspendedOutgoing,
  SuspendedWork,
} from './chat/suspended.ts';
export { ChatRoom, type JoinerInfo, type LeftHow, type RoomOptions } from './chat/room.ts';
export { JoinedConversation, type JoinedOptions, type Reconnect } from './chat/joined.ts';
