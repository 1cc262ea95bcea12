/** One fixture per frame type: the value, and its wire form written out by hand. */
import { FrameType } from '../../src/constants.ts';
import type { MessageOf, MessageType } from '../../src/messages/schemas.ts';

/** SHA-256 of the five bytes `hello`. */
export const HELLO_SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';

/** A control-message fixture: `json` is the exact payload text the encoder must produce. */
export interface MessageFixture<T extends MessageType = MessageType> {
  readonly name: string;
  readonly type: T;
  readonly message: MessageOf<T>;
  readonly json: string;
}

function fixture<T extends MessageType>(name: string, type: T, message: MessageOf<T>, json: string): MessageFixture {
  return { name, type, message, json } as MessageFixture;
}

/** Every message type, FILE_ACK both ways. Key order is schema order. */
export const MESSAGE_FIXTURES: readonly MessageFixture[] = [
  fixture('HELLO', FrameType.HELLO, { software: 'ferry/0.1.0', name: 'alice', features: [] }, '{"software":"ferry/0.1.0","name":"alice","features":[]}'),
  fixture(
    'OFFER',
    FrameType.OFFER,
    {
      session: '00112233445566778899aabbccddeeff',
      sender: { name: 'bob', host: 'laptop' },
      entries: [
        { kind: 'dir', path: 'Fotos' },
        { kind: 'file', path: 'Fotos/naïve café.txt', size: 5 },
        { kind: 'file', path: 'big.iso', size: 9007199254740991 },
      ],
    },
    '{"session":"00112233445566778899aabbccddeeff","sender":{"name":"bob","host":"laptop"},"entries":[{"kind":"dir","path":"Fotos"},{"kind":"file","path":"Fotos/naïve café.txt","size":5},{"kind":"file","path":"big.iso","size":9007199254740991}]}',
  ),
  fixture('REQUEST', FrameType.REQUEST, { files: [{ id: 2, offset: 0 }, { id: 1, offset: 0 }] }, '{"files":[{"id":2,"offset":0},{"id":1,"offset":0}]}'),
  fixture('REQUEST (empty)', FrameType.REQUEST, { files: [] }, '{"files":[]}'),
  fixture('FILE_START', FrameType.FILE_START, { id: 1, offset: 0, size: 5 }, '{"id":1,"offset":0,"size":5}'),
  fixture('FILE_END', FrameType.FILE_END, { id: 1, sha256: HELLO_SHA256 }, `{"id":1,"sha256":"${HELLO_SHA256}"}`),
  fixture(
    'FILE_ABORT',
    FrameType.FILE_ABORT,
    { id: 1, code: 'ERR_SOURCE_CHANGED', message: 'the file changed while it was read' },
    '{"id":1,"code":"ERR_SOURCE_CHANGED","message":"the file changed while it was read"}',
  ),
  fixture('FILE_ACK ok', FrameType.FILE_ACK, { id: 1, ok: true, sha256: HELLO_SHA256 }, `{"id":1,"ok":true,"sha256":"${HELLO_SHA256}"}`),
  fixture('FILE_ACK not ok', FrameType.FILE_ACK, { id: 1, ok: false, code: 'ERR_DIGEST_MISMATCH' }, '{"id":1,"ok":false,"code":"ERR_DIGEST_MISMATCH"}'),
  fixture('END', FrameType.END, {}, '{}'),
  fixture('DONE', FrameType.DONE, { saved: 1, failed: 0 }, '{"saved":1,"failed":0}'),
  fixture('ERROR', FrameType.ERROR, { code: 'ERR_DECLINED', message: 'no thanks' }, '{"code":"ERR_DECLINED","message":"no thanks"}'),
];
