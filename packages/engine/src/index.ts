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
export { FileSink, MAX_WRITE_BYTES } from './file-sink.ts';
export {
  acceptedEntries,
  type DestinationReport,
  type InspectOptions,
  type Inspection,
  inspectDestination,
} from './inspection.ts';
export { hiddenTopLevel } from './offer-report.ts';
export { type FileSource, type OfferSource, openSource, scanOffer, type Skipped } from './scan.ts';
export { describeChange, type FileStamp, isOtherFile, stampOf } from './stamp.ts';
