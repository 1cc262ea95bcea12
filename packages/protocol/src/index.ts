export { addressGroup } from './address-group.ts';
export {
  AUTH_FRAME_TYPES,
  CHAT,
  CHAT_DATA_CHUNK_BYTES,
  CHAT_FEATURE,
  CHAT_FRAME_TYPES,
  DATA_CHUNK_BYTES,
  DEFAULT_PORT,
  DIGEST,
  DISCOVERY,
  FRAME_HEADER_BYTES,
  FRAME_TYPE_NAMES,
  FrameType,
  LIMITS,
  type Limits,
  limitsForOffer,
  MAGIC,
  PAIRING,
  PREAMBLE_BYTES,
  PreambleFlag,
  PROTOCOL_VERSION,
  REQUEST_BASE_BYTES,
  REQUEST_ITEM_BYTES,
  RESUME,
  RESUME_EXPORTER_LABEL,
  RESUME_FEATURE,
  SESSIONS,
  TIMEOUTS,
  TX_DATA_HEADER_BYTES,
} from './constants.ts';
export {
  AuthError,
  ConnectionClosedError,
  ErrorCode,
  FerryError,
  IntegrityError,
  isErrorCode,
  LimitError,
  PeerError,
  ProtocolError,
  shouldTellPeer,
  TimeoutError,
  UnsafeOfferError,
} from './errors.ts';
export {
  concatFrame,
  encodeFrame,
  encodeFrameHeader,
  encodePreamble,
  writeTxDataOffer,
} from './frame/encode.ts';
export { FrameDecoder, type FrameEvent, maxPayloadFor } from './frame/decoder.ts';
export { decodeMessage, encodeMessage, isMessageType } from './messages/codec.ts';
export {
  type Auth,
  type AuthReply,
  type Done,
  type ErrorMessage,
  type FileAbort,
  type FileAck,
  type FileEnd,
  type FileStart,
  type Hello,
  type MessageOf,
  type MessageType,
  MESSAGE_SCHEMAS,
  type Offer,
  type OfferEntry,
  type Request,
  type RequestItem,
  RequestItemSchema,
  type Accept,
  type Propose,
  type TxAbort,
  type TxAck,
  type Welcome,
} from './messages/schemas.ts';
export {
  checkRelativePath,
  collisionKey,
  type OfferItem,
  type ValidatedEntry,
  type ValidatedOffer,
  validateOffer,
} from './names.ts';
export { MAX_KEY_EXPANSION } from './name-tree.ts';
export {
  type LocalNames,
  localComponent,
  localNameFor,
  localNamesFor,
  numberedName,
  type Renamed,
} from './local-names.ts';
export {
  chatTextProblem,
  escapeForDisplay,
  formatBytes,
  truncateUtf8,
  utf8Length,
} from './text.ts';
export { describeSystemError } from './system-error.ts';
export { UsageError } from './usage-error.ts';
export {
  AddressSchema,
  LogLevelSchema,
  PortSchema,
  ReceiverCleanSchema,
  type ReceiverConfig,
  ReceiverConfigSchema,
  RetrySecondsSchema,
  type SenderConfig,
  SenderConfigSchema,
} from './config/schemas.ts';
export { Emitter } from './emitter.ts';
export { toJsonLine } from './terminal.ts';
export { formatCode, generateCode, normalizeCode } from './pairing/code.ts';
export { type PairingAttempt, PairingCodes, type PairingEvents } from './pairing/codes.ts';
