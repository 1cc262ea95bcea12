export { Connection, type ConnectionOptions, type Incoming, peerError, unexpectedFrame } from './connection.ts';
export { resolveInside } from './paths.ts';
