export { Connection, type ConnectionOptions, type Incoming, peerError, unexpectedFrame } from './connection.ts';
export { localUserName } from './local-name.ts';
export { resolveInside } from './paths.ts';
