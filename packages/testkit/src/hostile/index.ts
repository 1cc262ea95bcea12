export { type FakeServer, startFakeServer } from './listen.ts';
export { HostilePeer, PEER_WAIT_MS, type PeerSockets, type ReceivedFrame } from './peer.ts';
export {
  connectScriptedReceiver,
  type PairingRecord,
  pairByHand,
  type ScriptedReceiver,
  type ScriptedReceiverOptions,
} from './receiver-role.ts';
export {
  bounded,
  type Handshake,
  pairAsSenderByHand,
  type ScriptedSender,
  type ScriptedSenderOptions,
  startScriptedSender,
} from './sender-role.ts';
export {
  concatBytes,
  type FrameFields,
  type Flips,
  frame,
  header,
  jsonPayload,
  messageFrame,
  OMIT,
  type PreambleFields,
  preamble,
  type Raw,
  toBytes,
} from './wire.ts';
export {
  type ChatPeerOptions,
  connectChatPeer,
  joinChatByHand,
  type ScriptedListener,
  startScriptedListener,
  txDataFrame,
} from './chat.ts';
