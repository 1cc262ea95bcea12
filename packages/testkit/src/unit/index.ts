/**
 * Test support for in-process unit tests: bounded waits, cleanup and temp folders, fake io,
 * event logs, frame helpers, a raw client and a scripted sender on loopback. Nothing here spawns
 * a process or loads a terminal driver; those are in the package's other entries.
 */
export { type FakeServer, startFakeServer, unusedPort } from '../hostile/listen.ts';
export { EventLog } from './event-log.ts';
export { FakeOutput, fakeIo, jsonEvents, silentLogger } from './fake-io.ts';
export { endSession, type FakePeer, sendFile, startFakeSender } from './fake-sender.ts';
export { type HttpAnswer, type HttpRequestOptions, httpRequest } from './http.ts';
export { header, padded, readFrames, receivedFrame, sha256 } from './frames.ts';
export { idleClient, rawClient } from './raw-client.ts';
export { onCleanup, runCleanup, tempDir } from './cleanup.ts';
export { socketPair } from './socket-pair.ts';
export { listTree } from './tree.ts';
export { WAIT_MS, within } from './waits.ts';
export type { ReceivedFrame } from '../fake-peers.ts';

/** The loopback server under the fake peers (the name the unit tests have always used). */
export { startFakeServer as startServer } from '../hostile/listen.ts';
