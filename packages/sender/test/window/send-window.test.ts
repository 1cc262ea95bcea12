import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { scanOffer } from '@ferry/engine';
import { Emitter } from '@ferry/protocol';
import { TrustStore } from '@ferry/protocol/node';
import { WindowActionError } from '@ferry/window';
import { SEND_SLICES } from '@ferry/window/state/send';
import { FakeWindow } from '@ferry/window/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { SenderEvents } from '../../src/sender.ts';
import { OfferEditor } from '../../src/window/offer-editor.ts';
import { MAX_FINISHED_RECEIVERS } from '../../src/window/receivers.ts';
import { SendWindow } from '../../src/window/send-window.ts';
import { receiveAll, runCleanup, startSender, tempDir } from '../helpers.ts';

afterEach(runCleanup);

const APP = { name: 'alice', version: '0.1.0', encryption: true };

async function setUp(options: { trust?: TrustStore; paths?: string[]; clock?: () => number } = {}) {
  const window = new FakeWindow(SEND_SLICES);
  const paths = options.paths ?? [];
  const editor = new OfferEditor(paths, await scanOffer(paths));
  const stops: number[] = [];
  const controller = new SendWindow({
    window,
    app: APP,
    editor,
    trust: options.trust,
    onStop: () => stops.push(1),
    clock: options.clock,
  });
  const sender = new Emitter<SenderEvents>();
  controller.follow(sender);
  return { window, editor, controller, sender, stops };
}

const KEY = '558E F330 5F2B D3DE';

describe('SendWindow', () => {
  it('sets every slice at once: the app, the offer, nothing listening yet, no receivers', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'a.txt'), 'alpha');
    const { window } = await setUp({ paths: [path.join(dir, 'a.txt')] });
    expect(window.get('app')).toEqual(APP);
    expect(window.get('offer')).toEqual({
      items: [{ path: path.join(dir, 'a.txt'), name: 'a.txt', kind: 'file', files: 1, bytes: 5 }],
      files: 1,
      bytes: 5,
      skipped: [],
    });
    expect(window.get('listening')).toBeNull();
    expect(window.get('receivers')).toEqual([]);
    expect(window.get('stopped')).toBeNull();
    expect(window.get('remembered')).toEqual({ peers: [], error: null });
  });

  it('shows the addresses with the command to run there, the key and the code', async () => {
    const { window, sender } = await setUp();
    sender.emit('listening', {
      port: 7878,
      host: undefined,
      addresses: [
        { address: '192.168.1.20', family: 'IPv4', interface: 'eth0' },
        { address: '2001:db8::1', family: 'IPv6', interface: 'eth0' },
      ],
      encryption: true,
      fingerprint: KEY,
    });
    sender.emit('code', { code: '1234-5678', reason: 'first', failed: 0 });
    expect(window.get('listening')).toEqual({
      port: 7878,
      addresses: [
        { address: '192.168.1.20', interface: 'eth0', command: 'ferry-receive 192.168.1.20:7878' },
        { address: '2001:db8::1', interface: 'eth0', command: 'ferry-receive [2001:db8::1]:7878' },
      ],
      loopbackOnly: false,
    });
    expect(window.get('pairing')).toMatchObject({
      code: '1234-5678',
      fingerprint: KEY,
      failed: 0,
      closed: false,
    });
    sender.emit('pairing-failed', { client: 3, failed: 2, limit: 5 });
    expect(window.get('pairing')).toMatchObject({ code: '1234-5678', failed: 2, limit: 5 });
    sender.emit('pairing-closed', { failed: 5 });
    expect(window.get('pairing')).toMatchObject({ code: null, closed: true });
  });

  it('shows a sender with no network address as reachable on loopback only', async () => {
    const { window, sender } = await setUp();
    sender.emit('listening', {
      port: 4000,
      host: undefined,
      addresses: [],
      encryption: false,
      fingerprint: undefined,
    });
    expect(window.get('listening')).toEqual({
      port: 4000,
      addresses: [{ address: '127.0.0.1', command: 'ferry-receive 127.0.0.1:4000' }],
      loopbackOnly: true,
    });
  });

  it('follows a receiver from connected to paired, choosing, transferring with rate and time left, and done', async () => {
    let now = 0;
    const { window, sender } = await setUp({ clock: () => now });
    const peer = '127.0.0.1:50000';
    sender.emit('connected', { client: 1, peer });
    expect(window.get('receivers')).toMatchObject([
      { client: 1, peer, state: 'connected', number: null },
    ]);
    sender.emit('authenticated', { client: 1, peer, method: 'code', fingerprint: KEY });
    expect(window.get('receivers')[0]).toMatchObject({
      state: 'paired',
      auth: { method: 'code', fingerprint: KEY, rememberedAs: null },
    });
    sender.emit('hello', { client: 1, peer, name: 'bob' });
    expect(window.get('receivers')[0]).toMatchObject({ state: 'choosing', name: 'bob', number: 1 });
    sender.emit('remembered', { client: 1, name: 'bob', fingerprint: KEY, result: 'added' });
    sender.emit('request', { client: 1, files: 2, bytes: 4000 });
    expect(window.get('receivers')[0]).toMatchObject({
      state: 'transferring',
      files: 2,
      total: 4000,
      bytes: 0,
    });
    now = 2000;
    sender.emit('progress', { client: 1, bytes: 1000 });
    sender.emit('file-sent', { client: 1, path: 'a.txt', size: 1000, sha256: '0'.repeat(64) });
    const [receiver] = window.get('receivers');
    expect(receiver).toMatchObject({
      bytes: 1000,
      total: 4000,
      rate: 500,
      eta: 6,
      sent: 1,
      remembered: { result: 'added', name: 'bob', reason: null },
    });
    sender.emit('file-failed', { client: 1, path: 'b.txt', code: 'ERR_SOURCE_CHANGED' });
    sender.emit('session-complete', {
      client: 1,
      peer,
      files: 1,
      failed: 1,
      bytes: 1000,
      ms: 2000,
    });
    expect(window.get('receivers')[0]).toMatchObject({
      state: 'done',
      sent: 1,
      failed: 1,
      failedFiles: [{ path: 'b.txt', code: 'ERR_SOURCE_CHANGED' }],
      bytes: 1000,
      ms: 2000,
      rate: 500,
      eta: 0,
    });
  });

  it('leaves out a receiver that hangs up before greeting (asking its user for the code), as the terminal does', async () => {
    const { window, sender } = await setUp();
    sender.emit('connected', { client: 1, peer: '127.0.0.1:1' });
    sender.emit('session-failed', {
      client: 1,
      peer: '127.0.0.1:1',
      code: 'ERR_CONNECTION_CLOSED',
      message: 'closed',
    });
    sender.emit('connected', { client: 2, peer: '127.0.0.1:2' });
    sender.emit('session-failed', {
      client: 2,
      peer: '127.0.0.1:2',
      code: 'ERR_PAIRING_UNAVAILABLE',
      message: 'busy',
    });
    expect(window.get('receivers')).toMatchObject([
      { client: 2, state: 'failed', error: { code: 'ERR_PAIRING_UNAVAILABLE' } },
    ]);
  });

  it('says a receiver that lost its connection can resume, and one cut off by stopping ferry-send was stopped', async () => {
    const { window, sender, controller } = await setUp();
    for (const client of [1, 2]) {
      sender.emit('connected', { client, peer: `127.0.0.1:${client}` });
      sender.emit('hello', { client, peer: `127.0.0.1:${client}`, name: `r${client}` });
      sender.emit('request', { client, files: 1, bytes: 10 });
    }
    sender.emit('session-failed', {
      client: 1,
      peer: '127.0.0.1:1',
      code: 'ERR_CONNECTION_CLOSED',
      message: 'gone',
      resumable: true,
    });
    controller.interrupt();
    sender.emit('session-failed', {
      client: 2,
      peer: '127.0.0.1:2',
      code: 'ERR_CONNECTION_CLOSED',
      message: 'gone',
      resumable: true,
    });
    expect(window.get('receivers')).toMatchObject([
      {
        client: 1,
        state: 'failed',
        error: { code: 'ERR_CONNECTION_CLOSED', message: 'gone', resumable: true },
      },
      { client: 2, state: 'failed', error: { code: 'ERR_STOPPED', resumable: false } },
    ]);
  });

  it('shows a resumed transfer and a file sent whole again', async () => {
    const { window, sender } = await setUp();
    sender.emit('connected', { client: 1, peer: 'p' });
    sender.emit('hello', { client: 1, peer: 'p', name: 'r' });
    sender.emit('request', { client: 1, files: 2, bytes: 100 });
    sender.emit('session-resumed', { client: 1, peer: 'p', files: 1, skippedBytes: 50 });
    sender.emit('file-restarted', { client: 1, path: 'x.bin', reason: 'changed', bytes: 30 });
    expect(window.get('receivers')[0]).toMatchObject({
      resumed: { files: 1, bytes: 50 },
      restarted: ['x.bin'],
      total: 130,
    });
  });

  it(`keeps at most ${MAX_FINISHED_RECEIVERS} finished receivers, dropping the oldest`, async () => {
    const { window, sender } = await setUp();
    for (let client = 1; client <= MAX_FINISHED_RECEIVERS + 5; client++) {
      sender.emit('connected', { client, peer: 'p' });
      sender.emit('hello', { client, peer: 'p', name: 'r' });
      sender.emit('session-failed', {
        client,
        peer: 'p',
        code: 'ERR_DECLINED',
        message: 'declined',
      });
    }
    const receivers = window.get('receivers');
    expect(receivers).toHaveLength(MAX_FINISHED_RECEIVERS);
    expect(receivers[0].client).toBe(6);
  });

  it('counts refused connections and lists the latest', async () => {
    const { window, sender } = await setUp();
    for (let i = 0; i < 30; i++)
      sender.emit('refused', { peer: `10.0.0.${i}:1`, reason: 'too many connections at once' });
    const refusals = window.get('refusals');
    expect(refusals.total).toBe(30);
    expect(refusals.recent).toHaveLength(20);
    expect(refusals.recent.at(-1)).toEqual({
      peer: '10.0.0.29:1',
      reason: 'too many connections at once',
    });
  });

  it('adds and removes files through its actions, and the offer follows', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'a.txt'), 'alpha');
    await mkdir(path.join(dir, 'photos'));
    await writeFile(path.join(dir, 'photos', 'p1.jpg'), '12345678');
    await writeFile(path.join(dir, 'photos', 'p2.jpg'), '123');
    const { window, editor } = await setUp();
    const applied: number[] = [];
    editor.onChange((offer) => {
      applied.push(offer.fileCount);
    });
    await window.call('add', { paths: [path.join(dir, 'a.txt'), path.join(dir, 'photos')] });
    expect(window.get('offer')).toEqual({
      items: [
        { path: path.join(dir, 'a.txt'), name: 'a.txt', kind: 'file', files: 1, bytes: 5 },
        { path: path.join(dir, 'photos'), name: 'photos', kind: 'dir', files: 2, bytes: 11 },
      ],
      files: 3,
      bytes: 16,
      skipped: [],
    });
    // Added twice: offered once.
    await window.call('add', { paths: [path.join(dir, 'a.txt')] });
    await window.call('remove', { paths: [path.join(dir, 'a.txt')] });
    expect(window.get('offer')).toMatchObject({ items: [{ name: 'photos' }], files: 2, bytes: 11 });
    expect(applied).toEqual([3, 3, 2]);
  });

  it('refuses a path that is not absolute, or cannot be read, and keeps the offer as it was', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'a.txt'), 'alpha');
    const { window } = await setUp({ paths: [path.join(dir, 'a.txt')] });
    await expect(window.call('add', { paths: ['relative.txt'] })).rejects.toMatchObject({
      code: 'ERR_BAD_REQUEST',
    });
    const missing = window.call('add', { paths: [path.join(dir, 'missing.txt')] });
    await expect(missing).rejects.toBeInstanceOf(WindowActionError);
    await expect(missing).rejects.toMatchObject({ code: 'ERR_CANNOT_OFFER', status: 400 });
    expect(window.get('offer')).toMatchObject({ items: [{ name: 'a.txt' }], files: 1 });
  });

  it('forgets a remembered receiver, and lists those remembered after pairing', async () => {
    const config = await tempDir();
    const trust = await TrustStore.open(config, 'receiver');
    const fingerprint = new Uint8Array(32).fill(7);
    await trust.remember({ name: 'bob', fingerprint, address: '192.168.1.30' });
    const { window, sender } = await setUp({ trust });
    const [bob] = window.get('remembered').peers;
    expect(bob).toMatchObject({
      name: 'bob',
      fingerprint: '07'.repeat(32),
      key: '0707 0707 0707 0707',
      addresses: ['192.168.1.30'],
    });
    await window.call('forget', { fingerprint: '07'.repeat(32) });
    expect(window.get('remembered').peers).toEqual([]);
    expect((await TrustStore.open(config, 'receiver')).list()).toEqual([]);
    await expect(window.call('forget', { fingerprint: '07'.repeat(32) })).rejects.toMatchObject({
      code: 'ERR_NOT_REMEMBERED',
    });
    // Remembered by the core after pairing: the list is read again.
    await trust.remember({ name: 'carol', fingerprint: new Uint8Array(32).fill(9) });
    sender.emit('remembered', { client: 1, name: 'carol', fingerprint: KEY, result: 'added' });
    await expect
      .poll(() => window.get('remembered').peers.map((p: { name: string }) => p.name))
      .toEqual(['carol']);
  });

  it('stops through its stop action, and says it stopped', async () => {
    const { window, stops, controller } = await setUp();
    await window.call('stop', {});
    expect(stops).toEqual([1]);
    controller.stopped('stopped');
    expect(window.get('stopped')).toEqual({ reason: 'stopped' });
  });

  it('shows the link, its QR code and its downloads', async () => {
    const { window, controller } = await setUp();
    const link = new Emitter<import('../../src/link/server.ts').LinkEvents>();
    controller.followLink(link, async (url) => `<svg>${url}</svg>`);
    link.emit('link', { urls: ['http://192.168.1.20:7878/t/abc/'], downloads: 2 });
    await expect
      .poll(() => window.get('link')?.qr)
      .toBe('<svg>http://192.168.1.20:7878/t/abc/</svg>');
    link.emit('download-start', {
      id: 1,
      peer: '192.168.1.30:5000',
      agent: 'curl/8',
      what: 'a.txt',
      bytes: 5,
    });
    link.emit('download-done', { id: 1, bytes: 5, complete: true });
    link.emit('link-ended', { reason: 'downloads' });
    expect(window.get('link')).toMatchObject({
      urls: ['http://192.168.1.20:7878/t/abc/'],
      limit: 2,
      ended: 'downloads',
      downloads: [
        {
          id: 1,
          peer: '192.168.1.30:5000',
          agent: 'curl/8',
          what: 'a.txt',
          bytes: 5,
          total: 5,
          state: 'done',
        },
      ],
    });
  });

  it('shows a real transfer between the sender core and the receiver core as done, with what was taken', async () => {
    const { sender, port } = await startSender({ 'a.txt': 'alpha', 'b.txt': 'bravo!' });
    const window = new FakeWindow(SEND_SLICES);
    const controller = new SendWindow({
      window,
      app: APP,
      editor: new OfferEditor([], await scanOffer([])),
      onStop: () => {},
    });
    controller.follow(sender);
    await receiveAll(port);
    await expect.poll(() => window.get('receivers')[0]?.state).toBe('done');
    expect(window.get('receivers')[0]).toMatchObject({
      number: 1,
      files: 2,
      sent: 2,
      failed: 0,
      bytes: 11,
      total: 11,
    });
  });
});
