export {
  configUsageError,
  FLAG_RULES,
  type FlagSpec,
  flagName,
  parseCommandLine,
  usageHint,
} from './args.ts';
export { UsageError } from './errors.ts';
export { EXIT, type ExitCode } from './exit.ts';
export type { Io, OutputStream } from './io.ts';
export { comparePathsNaturally, SUMMARY_ENTRIES, summarizeLines } from './list.ts';
export { type InfoCommand, infoCommand, printHelpOrVersion } from './info-command.ts';
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
export { runProcess } from './run-process.ts';
export { StatusLine } from './status-line.ts';
export { describeSystemError } from './system-error.ts';
export {
  jsonEventProblem,
  RECEIVER_JSON_EVENTS,
  type ReceiverJsonEvent,
  SENDER_JSON_EVENTS,
  type SenderJsonEvent,
} from './json-events.ts';
