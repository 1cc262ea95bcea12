import net from 'node:net';
import { runCleanup } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MAX_BODY_BYTES, SECURITY_HEADERS, WindowActionError } from '../src/index.ts';
import {
  openEvents,
  pageHeaders,
  post,
  request,
  startTestWindow,
  type TestWindow,
} from './helpers.ts';

afterEach(runCleanup);

/** A window with one action, `echo`, that answers its input. */
async function echoWindow(): Promise<TestWindow> {
  const w = await startTestWindow();
  w.window.action('echo', z.strictObject({ text: z.string().max(100) }), (input) => input);
  return w;
}

function expectSecurityHeaders(headers: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS))
    expect(headers[name.toLowerCase()]).toBe(value);
  expect(headers['access-control-allow-origin']).toBeUndefined();
}

describe('the window server: who gets in', () => {
  it('W4: the address carries 256 random bits; opening it sets an HttpOnly, SameSite=Strict cookie and sends the browser to /', async () => {
    const w = await echoWindow();
    expect(w.window.url).toBe(`http://127.0.0.1:${w.port}/?t=${w.token}`);
    expect(w.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const answer = await request(w.port, { path: `/?t=${w.token}`, headers: { Host: w.host } });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/');
    expect(answer.headers['set-cookie']).toEqual([
      `ferry-window-${w.port}=${w.token}; HttpOnly; SameSite=Strict; Path=/`,
    ]);
    expectSecurityHeaders(answer.headers);
    const page = await request(w.port, { headers: { Host: w.host, Cookie: w.cookie } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script type="module" src="/app.js"></script>');
    expect(page.body).not.toContain(w.token);
    expectSecurityHeaders(page.headers);
  });

  it('W4: the browser is opened with a launch code good for one page load, never the token; a failed opener logs neither', async () => {
    const opened: string[] = [];
    const w = await startTestWindow({
      open: true,
      opener: async (address) => {
        opened.push(address);
        // What a failed spawn throws: its arguments ride along on the error.
        throw Object.assign(new Error('spawn xdg-open ENOENT'), {
          code: 'ENOENT',
          spawnargs: [address],
        });
      },
    });
    await vi.waitFor(() =>
      expect(w.logs.some((line) => line.includes('browser not opened'))).toBe(true),
    );
    expect(opened).toHaveLength(1);
    const launched = new URL(opened[0]!);
    const code = launched.searchParams.get('l')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(opened[0]).not.toContain(w.token);
    expect(launched.searchParams.get('t')).toBeNull();
    for (const line of w.logs) {
      expect(line).not.toContain(w.token);
      expect(line).not.toContain(code);
    }
    const path = `${launched.pathname}${launched.search}`;
    const first = await request(w.port, { path, headers: { Host: w.host } });
    expect(first.status).toBe(303);
    expect(first.headers['set-cookie']).toEqual([
      `ferry-window-${w.port}=${w.token}; HttpOnly; SameSite=Strict; Path=/`,
    ]);
    const again = await request(w.port, { path, headers: { Host: w.host } });
    expect(again.status).toBe(403);
    expect(again.headers['set-cookie']).toBeUndefined();
    const wrong = await startTestWindow({ open: true, opener: async () => {} });
    const guess = await request(wrong.port, { path: `/?l=${code}`, headers: { Host: wrong.host } });
    expect(guess.status).toBe(403);
  });

  it('W4: no token, a wrong token in the address and a wrong cookie are each refused with 403, everywhere', async () => {
    const w = await echoWindow();
    const wrong = `${w.token.slice(0, -1)}${w.token.endsWith('A') ? 'B' : 'A'}`;
    const cases: { path: string; cookie?: string }[] = [
      { path: '/' },
      { path: '/app.js' },
      { path: '/api/events' },
      { path: `/?t=${wrong}` },
      { path: '/?t=' },
      { path: '/', cookie: `ferry-window-${w.port}=${wrong}` },
      { path: '/', cookie: `ferry-window-${w.port}=${w.token}x` },
      { path: '/', cookie: `ferry-window=${w.token}` },
      { path: '/app.css', cookie: `ferry-window-${w.port + 1}=${w.token}` },
    ];
    for (const { path, cookie } of cases) {
      const answer = await request(w.port, {
        path,
        headers: cookie ? { Host: w.host, Cookie: cookie } : { Host: w.host },
      });
      expect(answer.status, `${path} ${cookie ?? ''}`).toBe(403);
      expect(answer.body).toContain('Open the address Ferry printed in the terminal');
      expect(answer.body).not.toContain(w.token);
      expect(answer.headers['set-cookie']).toBeUndefined();
      expectSecurityHeaders(answer.headers);
    }
    const action = await request(w.port, {
      method: 'POST',
      path: '/api/action/echo',
      headers: { ...pageHeaders(w), Cookie: '' },
      body: '{"text":"hi"}',
    });
    expect(action.status).toBe(403);
    const list = await request(w.port, {
      method: 'POST',
      path: '/api/fs/list',
      headers: { ...pageHeaders(w), Cookie: `ferry-window-${w.port}=${wrong}` },
      body: '{}',
    });
    expect(list.status).toBe(403);
  });

  it('W2: a Host other than 127.0.0.1:port or localhost:port is refused with 421 before the token is looked at', async () => {
    const w = await echoWindow();
    const hosts = [
      'attacker.example',
      `attacker.example:${w.port}`,
      `127.0.0.1:${w.port + 1}`,
      '127.0.0.1',
      `127.0.0.1.attacker.example:${w.port}`,
      `[::1]:${w.port}`,
      `LOCALHOST:${w.port}x`,
      '',
    ];
    for (const host of hosts) {
      const answer = await request(w.port, {
        path: `/?t=${w.token}`,
        headers: { Host: host, Cookie: w.cookie },
      });
      expect(answer.status, host).toBe(421);
      expect(answer.headers['set-cookie']).toBeUndefined();
      expectSecurityHeaders(answer.headers);
    }
    const none = await request(w.port, { path: '/', headers: { Cookie: w.cookie } });
    expect(none.status).toBe(421);
    const local = await request(w.port, {
      path: '/',
      headers: { Host: `localhost:${w.port}`, Cookie: w.cookie },
    });
    expect(local.status).toBe(200);
  });

  it('W1: an action needs POST, its own Origin, JSON, at most 64 KiB and input that fits its schema', async () => {
    const w = await echoWindow();
    const ok = await post(w, '/api/action/echo', { text: 'hi' });
    expect(ok).toEqual({ status: 200, json: { ok: true, value: { text: 'hi' } } });
    const refused = async (
      status: number,
      options: { method?: string; headers?: Record<string, string>; body?: string },
    ) => {
      const answer = await request(w.port, {
        method: 'POST',
        path: '/api/action/echo',
        body: '{"text":"hi"}',
        ...options,
      });
      expect(answer.status, JSON.stringify(options.headers)).toBe(status);
      expectSecurityHeaders(answer.headers);
      return answer.body === '' ? {} : (JSON.parse(answer.body) as { error: { code: string } });
    };
    expect(await refused(405, { method: 'GET', headers: pageHeaders(w), body: '' })).toMatchObject({
      error: { code: 'ERR_METHOD' },
    });
    expect(
      await refused(403, { headers: pageHeaders(w, { Origin: 'http://attacker.example' }) }),
    ).toMatchObject({ error: { code: 'ERR_ORIGIN' } });
    expect(
      await refused(403, { headers: pageHeaders(w, { Origin: `http://localhost:${w.port}` }) }),
    ).toMatchObject({ error: { code: 'ERR_ORIGIN' } });
    expect(await refused(403, { headers: pageHeaders(w, { Origin: 'null' }) })).toMatchObject({
      error: { code: 'ERR_ORIGIN' },
    });
    const { Origin: _, ...noOrigin } = pageHeaders(w);
    expect(await refused(403, { headers: noOrigin })).toMatchObject({
      error: { code: 'ERR_ORIGIN' },
    });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      expect(
        await refused(415, { headers: pageHeaders(w, { 'Content-Type': type }) }),
      ).toMatchObject({ error: { code: 'ERR_CONTENT_TYPE' } });
    }
    const { 'Content-Type': __, ...noType } = pageHeaders(w);
    expect(await refused(415, { headers: noType })).toMatchObject({
      error: { code: 'ERR_CONTENT_TYPE' },
    });
    expect(await refused(400, { headers: pageHeaders(w), body: '{"text":' })).toMatchObject({
      error: { code: 'ERR_BAD_REQUEST' },
    });
    expect(await refused(400, { headers: pageHeaders(w), body: '{"text":5}' })).toMatchObject({
      error: { code: 'ERR_BAD_REQUEST' },
    });
    expect(
      await refused(400, { headers: pageHeaders(w), body: '{"text":"hi","more":1}' }),
    ).toMatchObject({ error: { code: 'ERR_BAD_REQUEST' } });
  });

  it('W1: a body of exactly 64 KiB is read; one byte more is refused with 413, declared or streamed', async () => {
    const w = await startTestWindow();
    let seen = 0;
    w.window.action('take', z.strictObject({ pad: z.string() }), (input) => {
      seen = input.pad.length;
    });
    const exact = JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES - '{"pad":""}'.length) });
    expect(Buffer.byteLength(exact)).toBe(MAX_BODY_BYTES);
    const fits = await request(w.port, {
      method: 'POST',
      path: '/api/action/take',
      headers: pageHeaders(w),
      body: exact,
    });
    expect(fits.status).toBe(200);
    expect(seen).toBe(MAX_BODY_BYTES - 10);
    const over = `${exact.slice(0, -2)}x"}`;
    const declared = await request(w.port, {
      method: 'POST',
      path: '/api/action/take',
      headers: pageHeaders(w),
      body: over,
    });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ error: { code: 'ERR_TOO_LARGE' } });
    const chunked = await request(w.port, {
      method: 'POST',
      path: '/api/action/take',
      headers: pageHeaders(w, { 'Transfer-Encoding': 'chunked' }),
      body: Buffer.alloc(4 * MAX_BODY_BYTES, 'x'),
    });
    expect(chunked.status).toBe(413);
    expect(seen).toBe(MAX_BODY_BYTES - 10);
  });

  it('W1: an unknown action is 404; a WindowActionError is answered with its status, code and message; any other failure is 500 without detail', async () => {
    const w = await startTestWindow();
    w.window.action('refuse', z.strictObject({}), () => {
      throw new WindowActionError('ERR_NOT_NOW', 'Not now. Wait for the transfer to end.', 409);
    });
    w.window.action('break', z.strictObject({}), () => {
      throw new Error(`internal detail ${'secret'}`);
    });
    expect(await post(w, '/api/action/nothing', {})).toMatchObject({
      status: 404,
      json: { error: { code: 'ERR_NO_ACTION' } },
    });
    expect(await post(w, '/api/action/refuse', {})).toEqual({
      status: 409,
      json: { error: { code: 'ERR_NOT_NOW', message: 'Not now. Wait for the transfer to end.' } },
    });
    const broken = await post(w, '/api/action/break', {});
    expect(broken).toMatchObject({ status: 500, json: { error: { code: 'ERR_INTERNAL' } } });
    expect(JSON.stringify(broken.json)).not.toContain('secret');
    expect(() => w.window.action('Bad Name', z.strictObject({}), () => {})).toThrow();
  });

  it('W3: the event stream needs the cookie and refuses a foreign Origin', async () => {
    const w = await startTestWindow();
    expect((await request(w.port, { path: '/api/events', headers: { Host: w.host } })).status).toBe(
      403,
    );
    const foreign = await request(w.port, {
      path: '/api/events',
      headers: { Host: w.host, Cookie: w.cookie, Origin: 'http://attacker.example' },
    });
    expect(foreign.status).toBe(403);
    const stream = await openEvents(w);
    stream.close();
  });

  it('W6: every answer carries the strict policy: no inline script or style, no framing, no sniffing, no referrer, no cache', async () => {
    const w = await startTestWindow();
    expect(SECURITY_HEADERS['Content-Security-Policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    for (const path of ['/', '/app.js', '/app.css', '/favicon.svg', '/nothing']) {
      const answer = await request(w.port, { path, headers: { Host: w.host, Cookie: w.cookie } });
      expect(answer.status, path).toBe(path === '/nothing' ? 404 : 200);
      expectSecurityHeaders(answer.headers);
    }
    const page = await request(w.port, { headers: { Host: w.host, Cookie: w.cookie } });
    expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]|<style|style=/);
  });

  it('W4: the token never appears in a log line, whatever is requested', async () => {
    const w = await echoWindow();
    await request(w.port, { path: `/?t=${w.token}`, headers: { Host: w.host } });
    await request(w.port, { path: `/?t=${w.token}x`, headers: { Host: w.host } });
    await request(w.port, { path: `/?t=${w.token}`, headers: { Host: 'attacker.example' } });
    await request(w.port, {
      path: `/nothing?t=${w.token}`,
      headers: { Host: w.host, Cookie: w.cookie },
    });
    await request(w.port, {
      method: 'POST',
      path: `/api/action/echo?t=${w.token}`,
      headers: pageHeaders(w, { Origin: 'http://x' }),
      body: '{}',
    });
    await post(w, '/api/action/echo', { text: w.token });
    await post(w, '/api/fs/list', { path: `/${w.token}` });
    await w.window.close();
    expect(w.logs.length).toBeGreaterThan(5);
    for (const line of w.logs) expect(line).not.toContain(w.token);
  });

  it('W8: two windows have their own tokens and cookie names; closing one ends its streams with "stopped" and its port', async () => {
    const a = await startTestWindow();
    const b = await startTestWindow({ app: 'receive' });
    expect(a.token).not.toBe(b.token);
    expect(a.cookie.split('=')[0]).not.toBe(b.cookie.split('=')[0]);
    expect(
      (
        await request(b.port, {
          headers: { Host: b.host, Cookie: a.cookie.replace(`${a.port}`, `${b.port}`) },
        })
      ).status,
    ).toBe(403);
    const stream = await openEvents(a);
    await a.window.close();
    await stream.waitFor((e) => e.event === 'stopped');
    await stream.ended;
    await expect(request(a.port, { headers: { Host: a.host, Cookie: a.cookie } })).rejects.toThrow(
      /ECONNREFUSED/,
    );
    expect((await request(b.port, { headers: { Host: b.host, Cookie: b.cookie } })).status).toBe(
      200,
    );
  });

  it('W2: the window listens on 127.0.0.1 only, not on ::1 or another address', async () => {
    const w = await startTestWindow();
    for (const host of ['::1', '127.0.0.2']) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = net.connect({ host, port: w.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(outcome, host).not.toBe('connected');
    }
  });
});
