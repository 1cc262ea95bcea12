/**
 * The sender's test helpers: fake io, bounded waits, temp dirs, unconditional cleanup and raw
 * clients, shared with the other packages' tests through @ferry/testkit.
 */
export {
  EventLog,
  FakeOutput,
  fakeIo,
  header,
  idleClient,
  jsonEvents,
  onCleanup,
  padded,
  rawClient,
  readFrames,
  runCleanup,
  silentLogger,
  tempDir,
  WAIT_MS,
  within,
} from '@ferry/testkit/unit';
