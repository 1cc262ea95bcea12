import { describe, expect, it } from 'vitest';
import { AddressSchema, PortSchema, ReceiverConfigSchema, SenderConfigSchema } from '../../src/config/schemas.ts';
import { DEFAULT_PORT } from '../../src/constants.ts';

describe('AddressSchema', () => {
  it.each([
    ['host', { host: 'host', port: DEFAULT_PORT }],
    ['192.168.1.20', { host: '192.168.1.20', port: DEFAULT_PORT }],
    ['host:9000', { host: 'host', port: 9000 }],
    ['laptop.local:1', { host: 'laptop.local', port: 1 }],
    ['10.0.0.2:65535', { host: '10.0.0.2', port: 65535 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['[fe80::1%eth0]:7000', { host: 'fe80::1%eth0', port: 7000 }],
    ['[::1]', { host: '::1', port: DEFAULT_PORT }],
    ['::1', { host: '::1', port: DEFAULT_PORT }],
    ['fe80::aa:bb', { host: 'fe80::aa:bb', port: DEFAULT_PORT }],
    ['  host:9000  ', { host: 'host', port: 9000 }],
  ])('parses %j', (text, expected) => {
    expect(AddressSchema.parse(text)).toEqual(expected);
  });

  it.each([
    'host:0',
    'host:70000',
    'host:65536',
    'host:',
    ':9000',
    '',
    '   ',
    '[::1]:0',
    '[::1]:70000',
    '[::1]:',
    '[]:9000',
    'host:abc',
    'host:-1',
    'host:1e3',
    'host:0x50',
    'host: 80',
  ])('rejects %j', (text) => {
    expect(AddressSchema.safeParse(text).success).toBe(false);
  });
});

describe('PortSchema', () => {
  it('accepts 0 to 65535 and rejects numbers outside', () => {
    expect(PortSchema.parse('0')).toBe(0);
    expect(PortSchema.parse(65535)).toBe(65535);
    expect(PortSchema.safeParse(65536).success).toBe(false);
    expect(PortSchema.safeParse(-1).success).toBe(false);
    expect(PortSchema.safeParse('1.5').success).toBe(false);
  });
});

describe('SenderConfigSchema', () => {
  it('fills defaults and rejects unknown keys or no paths', () => {
    expect(SenderConfigSchema.parse({ paths: ['a'] })).toEqual({
      paths: ['a'],
      port: DEFAULT_PORT,
      once: false,
      json: false,
      logLevel: 'silent',
      encryption: true,
      remember: false,
      announce: true,
      qr: false,
      link: false,
      ui: false,
      open: true,
      uiPort: 0,
    });
    expect(SenderConfigSchema.safeParse({ paths: [] }).success).toBe(false);
    // The window starts with nothing offered: files are added there.
    expect(SenderConfigSchema.parse({ paths: [], ui: true })).toMatchObject({ paths: [], ui: true, uiPort: 0 });
    expect(SenderConfigSchema.parse({ paths: ['a'], link: true, linkDownloads: '3' })).toMatchObject({ link: true, linkDownloads: 3 });
    expect(SenderConfigSchema.safeParse({ paths: ['a'], linkDownloads: 3 }).success).toBe(false);
    expect(SenderConfigSchema.safeParse({ paths: ['a'], link: true, linkDownloads: 0 }).success).toBe(false);
    expect(SenderConfigSchema.safeParse({ paths: [], chat: true, link: true }).success).toBe(false);
    expect(SenderConfigSchema.safeParse({ paths: ['a'], extra: 1 }).success).toBe(false);
  });
});

describe('ReceiverConfigSchema', () => {
  it('parses the address and bounds the connect timeout', () => {
    const config = ReceiverConfigSchema.parse({ address: '[::1]:9000' });
    expect(config.address).toEqual({ host: '::1', port: 9000 });
    expect(config.connectTimeoutMs).toBe(10_000);
    expect(ReceiverConfigSchema.safeParse({ address: 'h', connectTimeoutMs: 99 }).success).toBe(false);
    expect(ReceiverConfigSchema.safeParse({ address: 'h', connectTimeoutMs: 600_001 }).success).toBe(false);
  });

  it('leaves the address out to look for senders on the network (§14)', () => {
    expect(ReceiverConfigSchema.parse({}).address).toBeUndefined();
    expect(ReceiverConfigSchema.parse({ address: 'alice', find: 'alice' })).toMatchObject({ address: { host: 'alice' }, find: 'alice' });
  });
});
