import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onCleanup, runCleanup, within } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveState } from '../src/server/live-state.ts';
import { openEvents, startTestWindow, stateOf } from './helpers.ts';

afterEach(runCleanup);

describe('the live state over server-sent events', () => {
  it('sends every slice when a stream opens, then only the slices that change', async () => {
    const w = await startTestWindow();
    w.window.set('app', { name: 'Desk', version: '1', encryption: true });
    w.window.set('offer', { files: 2 });
    const stream = await openEvents(w);
    await stream.waitFor((e) => e.event === 'state' && stateOf(e).slice === 'offer');
    expect(stream.events.filter((e) => e.event === 'state').map(stateOf)).toEqual([
      { slice: 'app', value: { name: 'Desk', version: '1', encryption: true } },
      { slice: 'offer', value: { files: 2 } },
    ]);
    const before = stream.events.length;
    w.window.set('offer', { files: 2 });
    w.window.set('offer', { files: 3 });
    const at = await stream.waitFor(
      (e) => e.event === 'state' && stateOf(e).slice === 'offer',
      before,
    );
    expect(stateOf(stream.events[at]!)).toEqual({ slice: 'offer', value: { files: 3 } });
    w.window.set('marker', true);
    await stream.waitFor((e) => e.event === 'state' && stateOf(e).slice === 'marker', before);
    const after = stream.events
      .slice(before)
      .map(stateOf)
      .map((s) => s.slice);
    expect(after).toEqual(['offer', 'marker']);
  });

  it('coalesces a burst of changes to one slice: the latest value wins and few events go out', async () => {
    const w = await startTestWindow();
    w.window.set('progress', { bytes: 0 });
    const stream = await openEvents(w);
    await stream.waitFor((e) => e.event === 'state');
    const before = stream.events.length;
    for (let bytes = 1; bytes <= 1000; bytes++) w.window.set('progress', { bytes });
    await stream.waitFor(
      (e) => e.event === 'state' && (stateOf(e).value as { bytes: number }).bytes === 1000,
      before,
    );
    const sent = stream.events.slice(before).filter((e) => e.event === 'state');
    expect(sent.length).toBeLessThanOrEqual(2);
    expect(stateOf(sent.at(-1)!).value).toEqual({ bytes: 1000 });
  });

  it('builds a slice marked with setLater only when it is due: a burst of marks builds it a few times', async () => {
    const w = await startTestWindow();
    w.window.set('progress', { bytes: 0 });
    const stream = await openEvents(w);
    await stream.waitFor((e) => e.event === 'state');
    const before = stream.events.length;
    let bytes = 0;
    let built = 0;
    const produce = () => {
      built++;
      return { bytes };
    };
    for (bytes = 1; bytes <= 1000; bytes++) w.window.setLater('progress', produce);
    bytes = 1000;
    await stream.waitFor(
      (e) => e.event === 'state' && (stateOf(e).value as { bytes: number }).bytes === 1000,
      before,
    );
    // Once at the first mark (the slice went out long ago), once when the pause is over.
    expect(built).toBeLessThanOrEqual(2);
    const sent = stream.events.slice(before).filter((e) => e.event === 'state');
    expect(sent.length).toBeLessThanOrEqual(2);
    expect(stateOf(sent.at(-1)!).value).toEqual({ bytes: 1000 });
  });

  it('a set after setLater wins: the slice due is not built over the value set', async () => {
    const w = await startTestWindow();
    const stream = await openEvents(w);
    w.window.set('progress', { state: 'running' });
    await stream.waitFor((e) => e.event === 'state' && stateOf(e).slice === 'progress');
    let built = 0;
    w.window.setLater('progress', () => {
      built++;
      return { state: 'stale' };
    });
    w.window.set('progress', { state: 'done' });
    w.window.set('marker', true);
    await stream.waitFor((e) => e.event === 'state' && stateOf(e).slice === 'marker');
    // The pause of the progress slice ends; only the value set goes out.
    await stream.waitFor(
      (e) =>
        e.event === 'state' &&
        stateOf(e).slice === 'progress' &&
        (stateOf(e).value as { state: string }).state === 'done',
    );
    expect(built).toBe(0);
    expect(
      stream.events
        .filter((e) => e.event === 'state' && stateOf(e).slice === 'progress')
        .map((e) => stateOf(e).value),
    ).toEqual([{ state: 'running' }, { state: 'done' }]);
  });

  it('a new stream (a reload) gets the state as it is now, coalesced changes included', async () => {
    const w = await startTestWindow();
    const first = await openEvents(w);
    w.window.set('progress', { bytes: 1 });
    w.window.set('progress', { bytes: 2 });
    w.window.set('phase', 'transferring');
    await first.waitFor((e) => e.event === 'state' && stateOf(e).slice === 'phase');
    first.close();
    const second = await openEvents(w);
    await second.waitFor((e) => e.event === 'state' && stateOf(e).slice === 'phase');
    expect(second.events.filter((e) => e.event === 'state').map(stateOf)).toEqual([
      { slice: 'progress', value: { bytes: 2 } },
      { slice: 'phase', value: 'transferring' },
    ]);
  });

  it('a 10,000-entry slice is sent once, on one line', async () => {
    const w = await startTestWindow();
    const entries = Array.from({ length: 10_000 }, (_, i) => ({
      path: `folder/file ${i}\n<b>.txt`,
      size: i,
    }));
    w.window.set('offer', { entries });
    const stream = await openEvents(w);
    const at = await stream.waitFor((e) => e.event === 'state');
    expect((stateOf(stream.events[at]!).value as { entries: unknown[] }).entries).toEqual(entries);
  });
});

describe('the live state under backpressure', () => {
  it('a stream whose reader stalls is sent only the latest value once it drains, not every change', async () => {
    const state = new LiveState(0);
    const server = http.createServer((request, response) => state.open(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup('server', () => {
      state.close();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    const { port } = server.address() as AddressInfo;
    const response = await new Promise<http.IncomingMessage>((resolve) =>
      http.get({ host: '127.0.0.1', port, agent: false }, resolve),
    );
    response.pause();
    const big = 'x'.repeat(256 * 1024);
    const changes = 200;
    for (let i = 1; i <= changes; i++) state.set('big', `${i}:${big}`);
    let received = 0;
    let text = '';
    const last = new Promise<void>((resolve) => {
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        text = (text + chunk.toString('latin1')).slice(-300_000);
        if (text.includes(`"value":"${changes}:x`)) resolve();
      });
    });
    response.resume();
    await within(last, 'the latest value');
    // Every change written would be 50 MiB; the socket's buffers take a few MiB at most.
    expect(received).toBeLessThan((changes * big.length) / 4);
  });
});
