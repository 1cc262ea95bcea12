import { createHash } from 'node:crypto';
import { decodeMessage, FrameDecoder, isMessageType } from '@ferry/protocol';
import type { ReceivedFrame } from '../fake-peers.ts';

export { header } from '../hostile/wire.ts';

/** A JSON payload of exactly `bytes` bytes: `json`, then JSON whitespace. */
export function padded(json: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes).fill(0x20);
  out.set(new TextEncoder().encode(json));
  return out;
}

/** The SHA-256 of `content` in lowercase hex, as FILE_END carries it. */
export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** A frame as a test reads it: its type and, for a control message, the decoded message. */
export function receivedFrame(type: number, payload: Uint8Array): ReceivedFrame {
  return { type, message: isMessageType(type) ? decodeMessage(type, payload) : undefined };
}

/**
 * Every whole frame in `bytes`, which start with the peer's preamble. DATA bodies are streamed
 * by the decoder, not framed, so they are not in the list.
 */
export function readFrames(bytes: Uint8Array): ReceivedFrame[] {
  const frames: ReceivedFrame[] = [];
  for (const event of new FrameDecoder({ expectPreamble: true }).push(bytes)) {
    if (event.kind === 'frame') frames.push(receivedFrame(event.type, event.payload));
  }
  return frames;
}
