export { Connection, type ConnectionOptions, type Incoming, peerError, unexpectedFrame } from './connection.ts';
export { localUserName } from './local-name.ts';
export { resolveInside } from './paths.ts';
export { ConfigFileError, configDir, ensureConfigDir } from './config-dir.ts';
export {
  fingerprintHex,
  fingerprintOf,
  type Identity,
  IdentityError,
  loadOrCreateIdentity,
  peerFingerprint,
  keyPrefix,
  shortFingerprint,
} from './identity.ts';
export { type PeersCommand, runPeersCommand } from './peers-command.ts';
export {
  type AuthMethod,
  type ClientOutcome,
  type ClientSecurity,
  Deadline,
  exchangePreamble,
  peekFirstByte,
  type PreambleSource,
  type Secured,
  secureClient,
  secureServer,
  type ServerSecurity,
} from './secure.ts';
export { derivePasswordScalar, Spake2, Spake2Error } from './spake2.ts';
export { resumeProof, Ticket, TicketStore, type TicketStoreOptions } from './tickets.ts';
export { type PeerRole, type RememberResult, rememberedName, type TrustedPeer, TrustStore, TrustStoreError } from './trust.ts';
export { canReadIntoUserBuffer, readIntoUserBuffer, type UserBufferReader } from './user-buffer.ts';
