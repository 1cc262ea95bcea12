import { access, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { listTree, runCleanup, tempDir, within } from '@ferry/testkit/unit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { uploadPathProblem } from '../src/server/uploads.ts';
import { request, startTestWindow, type TestWindow } from './helpers.ts';

afterEach(runCleanup);

/** A sending window that takes dropped files into a staging folder below a folder of the test's. */
async function dropWindow(
  options: { space?: (folder: string) => Promise<number | null>; bodyIdleMs?: number } = {},
) {
  const root = await tempDir();
  const w = await startTestWindow({
    uploads: true,
    uploadRoot: root,
    ...(options.space ? { uploadSpace: options.space } : {}),
    ...(options.bodyIdleMs ? { bodyIdleMs: options.bodyIdleMs } : {}),
  });
  return { w, root };
}

/** A raw connection to the window that sent `head` and `body` and then nothing more. */
async function stalled(w: TestWindow, head: string[], body: Buffer | string): Promise<net.Socket> {
  const socket = net.connect(w.port, '127.0.0.1');
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    'connecting',
  );
  socket.on('error', () => {});
  socket.write([...head, '', ''].join('\r\n'));
  socket.write(body);
  return socket;
}

function headLines(start: string, headers: Record<string, string>): string[] {
  return [start, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
}

/** The headers of the page's upload of a dropped file. */
function uploadHeaders(w: TestWindow, extra: Record<string, string> = {}): Record<string, string> {
  return {
    Host: w.host,
    Cookie: w.cookie,
    Origin: `http://${w.host}`,
    'Content-Type': 'application/octet-stream',
    ...extra,
  };
}

function uploadPath(drop: string, relative: string): string {
  return `/api/upload?drop=${encodeURIComponent(drop)}&path=${encodeURIComponent(relative)}`;
}

/** Uploads `body` as the page does; the answer's status and JSON. */
async function upload(
  w: TestWindow,
  drop: string,
  relative: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes, checked by the tests
): Promise<{ status: number; json: any }> {
  const answer = await request(w.port, {
    method: 'POST',
    path: uploadPath(drop, relative),
    headers: uploadHeaders(w, { 'Content-Length': String(Buffer.byteLength(body)), ...headers }),
    body,
  });
  return { status: answer.status, json: answer.body === '' ? {} : JSON.parse(answer.body) };
}

describe('the window server: files dropped on the page (POST /api/upload)', () => {
  it('W9: a dropped file is written whole in a staging folder of its own, a dropped folder keeps its tree, and closing removes them', async () => {
    const { w, root } = await dropWindow();
    const file = await upload(w, 'd1', 'notes.txt', 'alpha\n');
    expect(file.status).toBe(200);
    const staging = path.dirname(file.json.value.path);
    expect(path.dirname(staging)).toBe(root);
    expect(path.basename(staging)).toMatch(/^ferry-drop-/);
    expect(file.json.value).toEqual({
      item: path.join(staging, 'notes.txt'),
      path: path.join(staging, 'notes.txt'),
      bytes: 6,
    });
    // A folder: the browser names each file by its path below the dropped folder.
    const first = await upload(w, 'd2', 'photos/2024/x.bin', Buffer.alloc(70_000, 7));
    const second = await upload(w, 'd2', 'photos/y.txt', 'why\n');
    expect(first.json.value.item).toBe(path.join(staging, 'photos'));
    expect(second.json.value.item).toBe(path.join(staging, 'photos'));
    expect(await listTree(staging)).toEqual([
      'notes.txt',
      'photos/',
      'photos/2024/',
      'photos/2024/x.bin',
      'photos/y.txt',
    ]);
    expect(await readFile(path.join(staging, 'photos/2024/x.bin'))).toEqual(
      Buffer.alloc(70_000, 7),
    );
    if (process.platform !== 'win32') {
      expect((await stat(staging)).mode & 0o777).toBe(0o700);
    }
    await w.window.close();
    expect(await listTree(root)).toEqual([]);
  });

  it('W9: two drops of the same name give two files, a (2) beside the first; one path twice in one drop is refused, the first kept', async () => {
    const { w } = await dropWindow();
    const one = await upload(w, 'd1', 'a.txt', 'first\n');
    const two = await upload(w, 'd2', 'a.txt', 'second\n');
    const three = await upload(w, 'd3', 'A.TXT', 'third\n');
    expect([one.status, two.status, three.status]).toEqual([200, 200, 200]);
    const staging = path.dirname(one.json.value.path);
    expect(path.basename(two.json.value.item)).toBe('a (2).txt');
    // Apart under case folding too: a case-insensitive disk must not merge them.
    expect(path.basename(three.json.value.item)).toBe('A (3).TXT');
    expect(await readFile(path.join(staging, 'a.txt'), 'utf8')).toBe('first\n');
    expect(await readFile(path.join(staging, 'a (2).txt'), 'utf8')).toBe('second\n');
    const folder = await upload(w, 'd4', 'a.txt/inner.txt', 'in a folder\n');
    expect(path.basename(folder.json.value.item)).toBe('a (4).txt');
    const again = await upload(w, 'd1', 'a.txt', 'overwrite?\n');
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('ERR_EXISTS');
    expect(await readFile(path.join(staging, 'a.txt'), 'utf8')).toBe('first\n');
    expect(await listTree(staging)).toEqual([
      'A (3).TXT',
      'a (2).txt',
      'a (4).txt/',
      'a (4).txt/inner.txt',
      'a.txt',
    ]);
  });

  it('W9: without the cookie, from a foreign Origin or with none, with a foreign Host, not POST, not octet-stream, or without a length: refused, nothing written', async () => {
    const { w, root } = await dropWindow();
    const refused = async (
      status: number,
      options: { method?: string; headers: Record<string, string> },
    ) => {
      const answer = await request(w.port, {
        method: options.method ?? 'POST',
        path: uploadPath('d1', 'a.txt'),
        headers: options.headers,
        body: options.method === 'GET' ? undefined : 'alpha\n',
      });
      expect(answer.status, JSON.stringify(options)).toBe(status);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    };
    await refused(403, { headers: uploadHeaders(w, { Cookie: '' }) });
    await refused(403, {
      headers: uploadHeaders(w, { Cookie: `ferry-window-${w.port}=${w.token}x` }),
    });
    await refused(403, { headers: uploadHeaders(w, { Origin: 'http://attacker.example' }) });
    await refused(403, { headers: uploadHeaders(w, { Origin: 'null' }) });
    const { Origin: _, ...noOrigin } = uploadHeaders(w);
    await refused(403, { headers: noOrigin });
    await refused(421, { headers: uploadHeaders(w, { Host: `attacker.example:${w.port}` }) });
    await refused(421, { headers: uploadHeaders(w, { Host: `127.0.0.1:${w.port + 1}` }) });
    await refused(405, { method: 'GET', headers: uploadHeaders(w) });
    await refused(405, { method: 'PUT', headers: uploadHeaders(w) });
    await refused(415, { headers: uploadHeaders(w, { 'Content-Type': 'application/json' }) });
    await refused(415, { headers: uploadHeaders(w, { 'Content-Type': 'multipart/form-data' }) });
    await refused(411, { headers: uploadHeaders(w, { 'Transfer-Encoding': 'chunked' }) });
    expect(await listTree(root)).toEqual([]);
    // A window that takes no drops (the receiving one) has no such route.
    const plain = await startTestWindow({ app: 'receive' });
    const none = await request(plain.port, {
      method: 'POST',
      path: uploadPath('d1', 'a.txt'),
      headers: uploadHeaders(plain, { 'Content-Length': '6' }),
      body: 'alpha\n',
    });
    expect(none.status).toBe(404);
  });

  it('W9: a path that climbs out, is absolute, or holds a bad name is refused, and nothing is written', async () => {
    const { w, root } = await dropWindow();
    const bad = [
      '../escape.txt',
      'a/../../escape.txt',
      '/etc/passwd',
      'a\\..\\escape.txt',
      'C:\\escape.txt',
      '.',
      '..',
      '',
      'a//b.txt',
      'a/./b.txt',
      'nul\u0000byte.txt',
      'bidi\u202Etxt.exe',
      'line\nbreak',
      '\uFF0E\uFF0E/escape.txt',
      `${'x'.repeat(300)}.txt`,
      `${'d/'.repeat(70)}deep.txt`,
    ];
    for (const name of bad) {
      const answer = await upload(w, 'd1', name, 'evil\n');
      expect(answer.status, JSON.stringify(name)).toBe(400);
      expect(answer.json.error.code).toMatch(/^ERR_BAD_(NAME|REQUEST)$/);
    }
    const badDrop = await upload(w, '../x', 'a.txt', 'evil\n');
    expect(badDrop.status).toBe(400);
    // Nothing at all: not even the staging folder was made.
    expect(await listTree(root)).toEqual([]);
    await expect(access(path.join(path.dirname(root), 'escape.txt'))).rejects.toThrow();
  });

  it('W9: names Windows reserves are refused on Windows, as a peer could not give them there', () => {
    for (const name of ['CON', 'con.txt', 'a/LPT1.log', 'a:b.txt', 'trailing.', 'q?.txt']) {
      expect(uploadPathProblem(name, 'win32'), name).toMatch(/Windows cannot store it/);
      expect(uploadPathProblem(name, 'linux'), name).toBeUndefined();
    }
    expect(uploadPathProblem('../x', 'linux')).toBeDefined();
    expect(uploadPathProblem('photos/2024/x.bin', 'win32')).toBeUndefined();
  });

  it('W9: a body that ends before its declared length leaves no file, under its name or a temporary one; the same file can be sent again', async () => {
    const { w } = await dropWindow();
    const first = await upload(w, 'd0', 'first.txt', 'one\n');
    const staging = path.dirname(first.json.value.path);
    const socket = await stalled(
      w,
      headLines(
        `POST ${uploadPath('d1', 'cut/big.bin')} HTTP/1.1`,
        uploadHeaders(w, { 'Content-Length': '1000000' }),
      ),
      Buffer.alloc(100_000, 1),
    );
    // The partial file exists under a temporary name while the body comes...
    await vi.waitFor(async () =>
      expect((await listTree(staging)).some((p) => p.endsWith('.part'))).toBe(true),
    );
    socket.destroy();
    // ...and is gone once the server has seen the connection end.
    await vi.waitFor(() =>
      expect(w.logs.some((line) => line.includes('"reason":"ERR_CUT_SHORT"'))).toBe(true),
    );
    expect(await listTree(staging)).toEqual(['cut/', 'first.txt']);
    const again = await upload(w, 'd1', 'cut/big.bin', Buffer.alloc(1000, 2));
    expect(again.status).toBe(200);
    expect(await listTree(staging)).toEqual(['cut/', 'cut/big.bin', 'first.txt']);
  });

  it("W9: a body that stops coming is cut off after the idle time, an upload's leaving nothing, an action's too", async () => {
    const { w } = await dropWindow({ bodyIdleMs: 300 });
    const first = await upload(w, 'd0', 'first.txt', 'one\n');
    const staging = path.dirname(first.json.value.path);
    const socket = await stalled(
      w,
      headLines(
        `POST ${uploadPath('d1', 'slow.bin')} HTTP/1.1`,
        uploadHeaders(w, { 'Content-Length': '5000' }),
      ),
      Buffer.alloc(1000, 1),
    );
    await within(new Promise((resolve) => socket.once('close', resolve)), 'the cut');
    await vi.waitFor(() =>
      expect(w.logs.some((line) => line.includes('"reason":"ERR_CUT_SHORT"'))).toBe(true),
    );
    expect(await listTree(staging)).toEqual(['first.txt']);
    w.window.action('echo', z.strictObject({ text: z.string() }), (input) => input);
    const action = await stalled(
      w,
      headLines('POST /api/action/echo HTTP/1.1', {
        Host: w.host,
        Cookie: w.cookie,
        Origin: `http://${w.host}`,
        'Content-Type': 'application/json',
        'Content-Length': '100',
      }),
      '{"text":',
    );
    await within(new Promise((resolve) => action.once('close', resolve)), 'the cut');
  });

  it('W9: a file larger than the free space is refused before it is written (507), and the answer says what to do', async () => {
    const { w, root } = await dropWindow({ space: async () => 1000 });
    const fits = await upload(w, 'd1', 'small.bin', Buffer.alloc(1000));
    expect(fits.status).toBe(200);
    const big = await upload(w, 'd2', 'big.bin', Buffer.alloc(1001));
    expect(big.status).toBe(507);
    expect(big.json.error.code).toBe('ERR_NO_SPACE');
    expect(big.json.error.message).toMatch(/Add files/);
    expect((await listTree(root)).filter((p) => p.includes('big'))).toEqual([]);
  });
});
