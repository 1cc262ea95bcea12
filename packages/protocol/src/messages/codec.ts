import { FRAME_TYPE_NAMES } from '../constants.ts';
import { ErrorCode, FerryError, ProtocolError } from '../errors.ts';
import { JsonScanError, scanJson } from './json-scan.ts';
import { MESSAGE_SCHEMAS, type MessageOf, type MessageType } from './schemas.ts';
import { type Shape, shapeOf } from './shape.ts';

const encoder = new TextEncoder();
// ignoreBOM keeps a byte-order mark in the text, so JSON.parse refuses it as the spec requires.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const shapes = new Map<MessageType, Shape>();

/** The shape of a message type's JSON, derived once from its schema. */
function shapeFor(type: MessageType): Shape {
  let shape = shapes.get(type);
  if (shape === undefined) {
    shape = shapeOf(MESSAGE_SCHEMAS[type]);
    shapes.set(type, shape);
  }
  return shape;
}

/** Whether frames of `type` carry a JSON message. */
export function isMessageType(type: number): type is MessageType {
  return Object.hasOwn(MESSAGE_SCHEMAS, type);
}

/**
 * Encodes a control message as the UTF-8 JSON payload of its frame, validating it first;
 * throws FerryError(ERR_INTERNAL) for a message its schema rejects (a local bug, not the peer's).
 */
export function encodeMessage<T extends MessageType>(type: T, message: MessageOf<T>): Uint8Array {
  const result = MESSAGE_SCHEMAS[type].safeParse(message);
  if (!result.success) {
    const name = FRAME_TYPE_NAMES.get(type) ?? String(type);
    const where = result.error.issues[0]?.path.join('.') ?? '';
    throw new FerryError(
      ErrorCode.INTERNAL,
      `refusing to send a malformed ${name}${where ? ` at ${where}` : ''}`,
      {
        cause: result.error,
      },
    );
  }
  return encoder.encode(JSON.stringify(result.data));
}

/**
 * Decodes and validates the payload of a control frame; throws ProtocolError(ERR_BAD_MESSAGE).
 * The text's structure is checked before any value is built (`scanJson`), so an unknown field,
 * nesting deeper than the schema or a number that is not plain digits costs one linear pass.
 */
export function decodeMessage<T extends MessageType>(type: T, payload: Uint8Array): MessageOf<T> {
  const name = FRAME_TYPE_NAMES.get(type) ?? String(type);
  let value: unknown;
  try {
    const text = decoder.decode(payload);
    scanJson(text, shapeFor(type));
    value = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof JsonScanError ? `has ${cause.message}` : 'is not UTF-8 JSON';
    throw new ProtocolError(ErrorCode.BAD_MESSAGE, `${name} ${reason}`, { cause });
  }
  const result = MESSAGE_SCHEMAS[type].safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new ProtocolError(
      ErrorCode.BAD_MESSAGE,
      `${name} is malformed${where}: ${issue?.message}`,
    );
  }
  return result.data as MessageOf<T>;
}
