import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { linkUrl } from '../../src/link/server.ts';
import { folderZip } from '../../src/link/zip.ts';
import { receiveAll, runCleanup } from '../helpers.ts';
import { rawRequest, request, startLinkSender, statusOf, TOKEN } from './helpers.ts';

afterEach(runCleanup);

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

const FILES = {
  'a.txt': 'alpha',
  'photos/x.jpg': 'jpeg bytes',
  'photos/deep/<b>"q".txt': 'quoted',
  'résumé €.pdf': 'pdf',
};

/** The headers every answer carries, the 404 included. */
const SECURITY = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The headers of an answer that a 404 must match exactly, Date left out. */
function comparable(headers: Record<string, unknown>): Record<string, unknown> {
  const { date: _date, ...rest } = headers;
  return rest;
}

describe('the link page and its routes (§15)', () => {
  it('serves the page: every name escaped as text, sizes and digests, a link per file, SHA256SUMS and the strict headers', async () => {
    const { port, base, offer } = await startLinkSender(FILES);
    const page = await request(port, base);
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({ ...SECURITY, 'content-type': 'text/html; charset=utf-8' });
    expect(Number(page.headers['content-length'])).toBe(page.body.byteLength);
    const html = page.body.toString('utf8');
    expect(html).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    // The quoted name appears only escaped, never as markup.
    expect(html).not.toContain('<b>"q"');
    expect(html).toContain('photos/deep/&#60;b&#62;&#34;q&#34;.txt');
    for (const [id, entry] of offer.entries.entries()) {
      if (entry.kind !== 'file') continue;
      const base = entry.path.split('/').at(-1)!;
      expect(html).toContain(`href="f/${id}/${encodeURIComponent(base).replace(/"/g, '&#34;')}"`);
      expect(html).toContain(sha(FILES[entry.path as keyof typeof FILES]));
    }
    expect(html).toContain('href="SHA256SUMS"');
    // Nowhere does the page write its own token.
    expect(html).not.toContain(TOKEN);
  });

  it('serves SHA256SUMS in the format of sha256sum -c, with every file by its offered path', async () => {
    const { port, base } = await startLinkSender(FILES);
    const sums = await request(port, `${base}SHA256SUMS`);
    expect(sums.status).toBe(200);
    expect(sums.headers['content-type']).toBe('text/plain; charset=utf-8');
    const lines = sums.body.toString('utf8').trimEnd().split('\n').sort();
    const expected = Object.entries(FILES)
      .map(([name, content]) => `${sha(content)}  ${name}`)
      .sort();
    expect(lines).toEqual(expected);
  });

  it('L7: serves a file with Content-Length, Content-Type, an RFC 6266/5987 Content-Disposition, a strong ETag, Last-Modified and Accept-Ranges', async () => {
    const { port, base, offer, events } = await startLinkSender(FILES);
    const id = offer.entries.findIndex((e) => e.path === 'résumé €.pdf');
    const got = await request(port, `${base}f/${id}/${encodeURIComponent('résumé €.pdf')}`, {
      headers: { 'User-Agent': 'test agent' },
    });
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('pdf');
    expect(got.headers).toMatchObject({
      ...SECURITY,
      'content-length': '3',
      'content-type': 'application/pdf',
      'content-disposition': `attachment; filename="r_sum_ _.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.pdf`,
      'accept-ranges': 'bytes',
      etag: `"${sha('pdf')}"`,
    });
    expect(Date.parse(String(got.headers['last-modified']))).toBeGreaterThan(0);
    expect(await events.waitFor('download-start')).toMatchObject({
      what: 'résumé €.pdf',
      bytes: 3,
      agent: 'test agent',
    });
    expect(await events.waitFor('download-done')).toMatchObject({ bytes: 3, complete: true });
  });

  it('L7: a name with quotes and markup never reaches a header raw', async () => {
    const { port, base, offer } = await startLinkSender(FILES);
    const id = offer.entries.findIndex((e) => e.path === 'photos/deep/<b>"q".txt');
    const answer = await rawRequest(
      port,
      `GET ${base}f/${id}/${encodeURIComponent('<b>"q".txt')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(statusOf(answer)).toBe(200);
    const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
    expect(head).toContain(
      `Content-Disposition: attachment; filename="<b>_q_.txt"; filename*=UTF-8''%3Cb%3E%22q%22.txt\r\n`,
    );
    expect(head.split('\r\n').filter((line) => line.includes('q'))).toHaveLength(1);
  });

  it('HEAD answers with the same headers as GET and no body', async () => {
    const { port, base } = await startLinkSender(FILES);
    const get = await request(port, `${base}f/0/a.txt`);
    const head = await request(port, `${base}f/0/a.txt`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(comparable(head.headers)).toEqual(comparable(get.headers));
    const page = await request(port, base, { method: 'HEAD' });
    expect(page.status).toBe(200);
    expect(page.body.byteLength).toBe(0);
  });

  it('answers other methods with 405 and Allow: GET, HEAD', async () => {
    const { port, base } = await startLinkSender(FILES);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const got = await request(port, `${base}f/0/a.txt`, { method });
      expect(got.status, method).toBe(405);
      expect(got.headers.allow).toBe('GET, HEAD');
    }
  });

  it('L2: a wrong token, a missing token and a missing file get the same 404: same body, same headers', async () => {
    const { port, base } = await startLinkSender(FILES);
    const wrong = `/t/${'B'.repeat(22)}/`;
    const answers = await Promise.all(
      [
        `${wrong}f/0/a.txt`,
        `${wrong}`,
        '/',
        '/favicon.ico',
        '/t/',
        `/t/${TOKEN}`,
        `${base}f/0/b.txt`,
        `${base}f/99/a.txt`,
        `${base}f/1/photos`,
        `${base}f/00/a.txt`,
        `${base}z/0/a.txt.zip`,
        `${base}nothing`,
        `${base}f/0/a.txt/more`,
      ].map((target) => request(port, target)),
    );
    const first = answers[0]!;
    expect(first.status).toBe(404);
    expect(first.body.toString()).toBe('Not Found\n');
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body.equals(first.body)).toBe(true);
      expect(comparable(answer.headers)).toEqual(comparable(first.headers));
    }
  });

  it('L1: traversal in every encoding never leaves the offer: 404, or 400 for what cannot be decoded', async () => {
    const { port, base } = await startLinkSender(FILES);
    const cases: [string, number][] = [
      [`${base}f/0/../a.txt`, 404],
      [`${base}../../etc/passwd`, 404],
      [`${base}f/0/%2e%2e%2fa.txt`, 404],
      [`${base}f/0/..%2f..%2fetc%2fpasswd`, 404],
      [`${base}%2e%2e/%2e%2e/etc/passwd`, 404],
      [`${base}f/0/%252e%252e%252fa.txt`, 404],
      [`${base}f/0/..%5c..%5ca.txt`, 404],
      [`${base}f/0/..\\..\\a.txt`, 404],
      [`/t/${TOKEN}%2ff/0/a.txt`, 404],
      [`${base}f/1/photos%2fx.jpg`, 404],
      [`${base}f/0/a.txt%00.jpg`, 400],
      [`${base}f/0/%c0%ae%c0%ae%c0%afa.txt`, 400],
      [`${base}f/0/%e0%80%ae`, 400],
      [`${base}f/0/%ff`, 400],
      [`${base}f/0/%zz`, 400],
    ];
    for (const [target, status] of cases) {
      const answer = await rawRequest(
        port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(statusOf(answer), target).toBe(status);
      expect(answer, target).not.toContain('root:');
    }
    // A raw NUL in the request line never reaches the link: the HTTP parser refuses it.
    const nul = await rawRequest(port, `GET ${base}f/0/a.txt\0 HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(statusOf(nul)).toBe(400);
  });

  it('serves a top-level folder as a zip with its exact Content-Length, no ranges, and links it from the page', async () => {
    const { port, base, offer, events } = await startLinkSender(FILES, { zipper: folderZip });
    const id = offer.entries.findIndex((e) => e.path === 'photos');
    const page = (await request(port, base)).body.toString();
    expect(page).toContain(`href="z/${id}/photos.zip"`);
    const got = await request(port, `${base}z/${id}/photos.zip`, {
      headers: { Range: 'bytes=0-9' },
    });
    expect(got.status).toBe(200);
    expect(got.headers).toMatchObject({
      ...SECURITY,
      'content-type': 'application/zip',
      'accept-ranges': 'none',
    });
    expect(got.headers['content-disposition']).toBe(
      `attachment; filename="photos.zip"; filename*=UTF-8''photos.zip`,
    );
    expect(Number(got.headers['content-length'])).toBe(got.body.byteLength);
    expect(got.body.subarray(0, 4).toString('latin1')).toBe('PK\u0003\u0004');
    expect(got.body.includes(Buffer.from('photos/deep/<b>"q".txt'))).toBe(true);
    expect(await events.waitFor('download-done')).toMatchObject({
      bytes: got.body.byteLength,
      complete: true,
    });
    const head = await request(port, `${base}z/${id}/photos.zip`, { method: 'HEAD' });
    expect([head.status, head.body.byteLength, head.headers['content-length']]).toEqual([
      200,
      0,
      String(got.body.byteLength),
    ]);
    // A nested folder, a file id, or another name: the same 404.
    const nested = offer.entries.findIndex((e) => e.path === 'photos/deep');
    for (const target of [
      `z/${nested}/deep.zip`,
      `z/0/a.txt.zip`,
      `z/${id}/other.zip`,
      `z/${id}/photos`,
    ]) {
      expect((await request(port, `${base}${target}`)).status, target).toBe(404);
    }
  });

  it('L2: the log names each request path without the token, right or wrong', async () => {
    let logged = '';
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        logged += String(chunk);
        callback();
      },
    });
    const token = 'Zq3vK8pW2mX9tR4yL7nB1c';
    const { port } = await startLinkSender(FILES, { logger: pino({ level: 'debug' }, sink), token });
    const base = `/t/${token}/`;
    expect((await request(port, base)).status).toBe(200);
    await request(port, `${base}f/0/a.txt`);
    await request(port, `${base}f/0/missing.txt`);
    await request(port, `/t/${token.slice(0, 21)}x/f/0/a.txt`);
    expect(logged).toContain('/t/…/f/0/a.txt');
    expect(logged).toContain('wrong or missing link token');
    expect(logged).not.toContain(token.slice(0, 8));
  });

  it('the Ferry side goes on: a receiver takes the offer while the link serves it, on the same port', async () => {
    const { port, base, log } = await startLinkSender(FILES);
    const [page, received] = await Promise.all([request(port, base), receiveAll(port)]);
    expect(page.status).toBe(200);
    expect(received.result.saved).toHaveLength(Object.keys(FILES).length);
    expect(await log.waitFor('session-complete')).toMatchObject({ failed: 0 });
  });

  it('reports a download by its download events alone: connected is for Ferry connections only', async () => {
    const { port, base, log, events } = await startLinkSender(FILES);
    expect((await request(port, `${base}f/0/a.txt`)).status).toBe(200);
    expect(await events.waitFor('download-done')).toMatchObject({ complete: true });
    expect(log.all('connected')).toEqual([]);
    await receiveAll(port);
    expect(log.all('connected')).toHaveLength(1);
  });
});

describe('byte ranges (L3)', () => {
  const TEXT = '0123456789abcdefghij';
  const cases: [string, string, number, string | undefined, string][] = [
    ['a closed range', 'bytes=2-5', 206, 'bytes 2-5/20', '2345'],
    ['an open-ended range', 'bytes=15-', 206, 'bytes 15-19/20', 'fghij'],
    ['a suffix', 'bytes=-3', 206, 'bytes 17-19/20', 'hij'],
    ['a suffix longer than the file', 'bytes=-100', 206, 'bytes 0-19/20', TEXT],
    ['an end past the file', 'bytes=18-1000', 206, 'bytes 18-19/20', 'ij'],
    ['huge numbers', 'bytes=5-99999999999999999999', 416, 'bytes */20', ''],
    ['a start past the end', 'bytes=20-', 416, 'bytes */20', ''],
    ['bytes=-0', 'bytes=-0', 416, 'bytes */20', ''],
    ['an inverted range', 'bytes=5-2', 416, 'bytes */20', ''],
    ['another unit', 'items=0-1', 416, 'bytes */20', ''],
    ['no dash', 'bytes=5', 416, 'bytes */20', ''],
    ['a negative start', 'bytes=--5', 416, 'bytes */20', ''],
    ['garbage', 'bytes=a-b', 416, 'bytes */20', ''],
    ['two ranges (answered whole)', 'bytes=0-1,5-6', 200, undefined, TEXT],
    ['overlapping ranges (answered whole)', 'bytes=0-10,5-15', 200, undefined, TEXT],
    [
      'twenty ranges (answered whole)',
      `bytes=${Array.from({ length: 20 }, (_, i) => `${i}-${i}`).join(',')}`,
      200,
      undefined,
      TEXT,
    ],
    ['a Range header too long to read', `bytes=${'0-0,'.repeat(100)}0-0`, 416, 'bytes */20', ''],
  ];
  it.each(cases)('L3: %s (%s) → %i', async (_, range, status, contentRange, body) => {
    const { port, base } = await startLinkSender({ 'f.txt': TEXT });
    const got = await request(port, `${base}f/0/f.txt`, { headers: { Range: range } });
    expect(got.status).toBe(status);
    expect(got.headers['content-range']).toBe(contentRange);
    expect(got.body.toString()).toBe(body);
    expect(Number(got.headers['content-length'])).toBe(Buffer.byteLength(body));
  });

  it('L5: If-Range with our ETag serves the range; with another ETag or an older date, the whole file', async () => {
    const { port, base } = await startLinkSender({ 'f.txt': TEXT });
    const etag = `"${sha(TEXT)}"`;
    const same = await request(port, `${base}f/0/f.txt`, {
      headers: { Range: 'bytes=2-3', 'If-Range': etag },
    });
    expect([same.status, same.body.toString()]).toEqual([206, '23']);
    const weak = await request(port, `${base}f/0/f.txt`, {
      headers: { Range: 'bytes=2-3', 'If-Range': `W/${etag}` },
    });
    expect([weak.status, weak.body.toString()]).toEqual([200, TEXT]);
    const other = await request(port, `${base}f/0/f.txt`, {
      headers: { Range: 'bytes=2-3', 'If-Range': `"${sha('other')}"` },
    });
    expect([other.status, other.body.toString()]).toEqual([200, TEXT]);
    const old = await request(port, `${base}f/0/f.txt`, {
      headers: { Range: 'bytes=2-3', 'If-Range': new Date(0).toUTCString() },
    });
    expect([old.status, old.body.toString()]).toEqual([200, TEXT]);
    const modified = String(same.headers['last-modified']);
    const current = await request(port, `${base}f/0/f.txt`, {
      headers: { Range: 'bytes=2-3', 'If-Range': modified },
    });
    expect([current.status, current.body.toString()]).toEqual([206, '23']);
  });
});

describe('linkUrl', () => {
  it('brackets an IPv6 address and writes a link-local zone as %25 (RFC 6874)', () => {
    expect(linkUrl('192.168.1.20', 7878, TOKEN)).toBe(`http://192.168.1.20:7878/t/${TOKEN}/`);
    expect(linkUrl('fd00::5e1', 7878, TOKEN)).toBe(`http://[fd00::5e1]:7878/t/${TOKEN}/`);
    expect(linkUrl('fe80::1%eth0', 7878, TOKEN)).toBe(`http://[fe80::1%25eth0]:7878/t/${TOKEN}/`);
  });
});
