export {
  configUsageError,
  FLAG_RULES,
  type FlagSpec,
  flagName,
  parseCommandLine,
  usageHint,
} from './args.ts';
export { ChatOutput } from './chat/chat-output.ts';
export {
  CHAT_COMMANDS,
  type ChatCommand,
  type ChatTarget,
  type ParsedLine,
  parseChatLine,
  splitWords,
} from './chat/commands.ts';
export {
  ChatJsonCommandSchema,
  type ChatJsonCommand,
  type ParsedJsonCommand,
  parseJsonCommand,
} from './chat/json-commands.ts';
export { jsonEventFor, type JsonOut, peerFields } from './chat/json-output.ts';
export { type ChatEventName, ChatView, type ChatViewOptions, LISTED_FILES } from './chat/render.ts';
export { BAD_COMMAND, type ChatIo, type ChatOptions, findPeer, runChat } from './chat/run-chat.ts';
export { type ChatScreen, LinePrompt, PlainScreen, type ScreenInput } from './chat/screen.ts';
export {
  ChatWindowController,
  type ChatWindowOptions,
  type ChatWindowTarget,
  type ListenerInfo,
} from './chat/window-controller.ts';
export {
  type ChatWindowRun,
  type OpenChatWindowOptions,
  openChatWindow,
} from './chat/window-start.ts';
export { defaultFolderIn, expandHome, prepareDefaultFolder } from './default-folder.ts';
export { UsageError } from './errors.ts';
export { EXIT, type ExitCode } from './exit.ts';
export type { Io, OutputStream } from './io.ts';
export { comparePathsNaturally, SUMMARY_ENTRIES, summarizeLines } from './list.ts';
export { type InfoCommand, infoCommand, printHelpOrVersion } from './info-command.ts';
export { flushJsonLines, printJson, printJsonBatched } from './json-lines.ts';
export { createLogger } from './logger.ts';
export { DEFAULT_COLUMNS, truncate, visibleLength, wrapLine } from './fit.ts';
export {
  formatBytes,
  formatDuration,
  formatProgress,
  formatProgressLine,
  formatProgressShort,
  isWorthShowing,
  ProgressMeter,
  ProgressPacer,
  type ProgressSnapshot,
} from './progress.ts';
export {
  createFail,
  encryptionOffWarning,
  type Fail,
  PROGRESS_EVERY_MS,
  plural,
  type RememberedEvent,
  rememberedLines,
} from './render.ts';
export { type OfferView, offerLines, SEE_ALL } from './offer-lines.ts';
export { reportFields, reportLines } from './report-lines.ts';
export { runProcess } from './run-process.ts';
export { StatusLine } from './status-line.ts';
export { describeSystemError } from './system-error.ts';
export { announceWindow, UI_FLAGS, UI_USAGE, type UiOptions, uiOptions } from './window.ts';
export {
  CHAT_JSON_EVENTS,
  type ChatJsonEvent,
  jsonEventProblem,
  RECEIVER_JSON_EVENTS,
  type ReceiverJsonEvent,
  SENDER_JSON_EVENTS,
  type SenderJsonEvent,
} from './json-events.ts';
