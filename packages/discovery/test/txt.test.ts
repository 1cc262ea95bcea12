import { readFileSync } from 'node:fs';
import { DISCOVERY } from '@ferry/protocol';
import { describe, expect, it } from 'vitest';
import { encodeTxt, instanceName, parseTxt, txtPairs, txtStrings } from '../src/txt.ts';

const doc = readFileSync(new URL('../../protocol/PROTOCOL.md', import.meta.url), 'utf8');
const FINGERPRINT = `a1b2c3d4e5f60718${'9'.repeat(48)}`;

/** The bytes between the markers of §14.2's test vector. */
function vectorBytes(): Uint8Array {
  const block =
    /<!-- discovery-txt:start -->\n```text\n([\s\S]*?)```\n<!-- discovery-txt:end -->/.exec(
      doc,
    )?.[1];
  expect(block, 'PROTOCOL.md §14.2 has the TXT vector').toBeDefined();
  return Buffer.from(block!.replace(/\s+/g, ''), 'hex');
}

/** A TXT record's strings, from its wire form. */
function strings(...entries: string[]): Uint8Array[] {
  return entries.map((entry) => Buffer.from(entry, 'utf8'));
}

describe('the TXT record (PROTOCOL.md §14.2)', () => {
  it('M6: the vector of §14.2 is what an encrypted one-way sender announces, and reads back', () => {
    const announced = txtStrings({
      name: 'alice',
      port: 7878,
      encrypted: true,
      chat: false,
      fingerprint: FINGERPRINT,
    });
    expect(announced).toEqual(['v=1', 'enc=1', 'mode=send', 'fp=a1b2c3d4e5f60718']);
    expect(Buffer.from(encodeTxt(announced)).toString('hex')).toBe(
      Buffer.from(vectorBytes()).toString('hex'),
    );
    expect(parseTxt(strings(...announced))).toEqual({
      version: '1',
      encrypted: true,
      chat: false,
      keyHint: 'a1b2c3d4e5f60718',
    });
  });

  it('M6: carries no secret: only the version, mode and the first 16 hex digits of the key', () => {
    const pairs = txtPairs({
      name: 'alice',
      port: 7878,
      encrypted: true,
      chat: true,
      fingerprint: FINGERPRINT.toUpperCase(),
    });
    expect(pairs).toEqual({ v: '1', enc: '1', mode: 'chat', fp: 'a1b2c3d4e5f60718' });
    expect(Object.keys(pairs)).toEqual(['v', 'enc', 'mode', 'fp']);
  });

  it('a sender in clear announces enc=0 and no fp', () => {
    expect(txtStrings({ name: 'alice', port: 1, encrypted: false, chat: false })).toEqual([
      'v=1',
      'enc=0',
      'mode=send',
    ]);
    expect(parseTxt(strings('v=1', 'enc=0', 'mode=send', 'fp=a1b2c3d4e5f60718'))).toEqual({
      version: '1',
      encrypted: false,
      chat: false,
      keyHint: '',
    });
  });

  it('reads keys case-insensitively, takes the first of a repeated key and ignores unknown ones', () => {
    expect(
      parseTxt(
        strings(
          'V=1',
          'ENC=1',
          'Mode=chat',
          'fp=0123456789abcdef',
          'fp=ffffffffffffffff',
          'x=y',
          'flag',
        ),
      ),
    ).toEqual({
      version: '1',
      encrypted: true,
      chat: true,
      keyHint: '0123456789abcdef',
    });
  });

  it.each([
    ['no v', ['enc=1', 'mode=send', 'fp=0123456789abcdef']],
    ['a malformed v', ['v=one', 'enc=1', 'mode=send', 'fp=0123456789abcdef']],
    ['v=0', ['v=0', 'enc=1', 'mode=send', 'fp=0123456789abcdef']],
    ['no enc', ['v=1', 'mode=send', 'fp=0123456789abcdef']],
    ['enc=yes', ['v=1', 'enc=yes', 'mode=send', 'fp=0123456789abcdef']],
    ['no mode', ['v=1', 'enc=1', 'fp=0123456789abcdef']],
    ['mode=pull', ['v=1', 'enc=1', 'mode=pull', 'fp=0123456789abcdef']],
    ['no fp with enc=1', ['v=1', 'enc=1', 'mode=send']],
    ['an uppercase fp', ['v=1', 'enc=1', 'mode=send', 'fp=0123456789ABCDEF']],
    ['a short fp', ['v=1', 'enc=1', 'mode=send', 'fp=0123456789abcde']],
    ['a long fp', ['v=1', 'enc=1', 'mode=send', 'fp=0123456789abcdef0']],
    ['v as a boolean attribute', ['v', 'enc=1', 'mode=send', 'fp=0123456789abcdef']],
  ])('M2: drops a record with %s', (_, entries) => {
    expect(parseTxt(strings(...entries))).toBeUndefined();
  });

  it('lists another version without reading its key', () => {
    expect(parseTxt(strings('v=2', 'enc=1', 'mode=send', 'fp=whatever'))).toEqual({
      version: '2',
      encrypted: true,
      chat: false,
      keyHint: '',
    });
  });

  it('M2: drops a string over 255 bytes, and a record over 1024 bytes', () => {
    const base = ['v=1', 'enc=1', 'mode=send', 'fp=0123456789abcdef'];
    expect(
      parseTxt([...strings(...base), new Uint8Array(DISCOVERY.maxTxtStringBytes + 1)]),
    ).toBeUndefined();
    expect(
      parseTxt([...strings(...base), new Uint8Array(DISCOVERY.maxTxtStringBytes)]),
    ).toBeDefined();
    // Fill the record to exactly 1024 bytes (strings of at most 255 bytes, each with its length byte).
    const used = base.reduce((sum, entry) => sum + 1 + entry.length, 0);
    const room = DISCOVERY.maxTxtBytes - used;
    const filler = (size: number) =>
      Array.from(
        { length: Math.ceil(size / 256) },
        (_, i) => new Uint8Array(Math.min(255, size - i * 256 - 1)),
      );
    const exact = filler(room);
    expect(exact.reduce((sum, entry) => sum + 1 + entry.byteLength, 0)).toBe(room);
    expect(parseTxt([...strings(...base), ...exact])).toBeDefined();
    expect(parseTxt([...strings(...base), ...exact, new Uint8Array(0)])).toBeUndefined();
  });

  it('cuts an instance name to 63 UTF-8 bytes between characters', () => {
    expect(instanceName('a'.repeat(70))).toBe('a'.repeat(63));
    const cut = instanceName('é'.repeat(40));
    expect(Buffer.byteLength(cut)).toBe(62);
    expect(cut).toBe('é'.repeat(31));
  });
});
