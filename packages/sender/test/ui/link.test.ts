import { jsonEventProblem, SENDER_JSON_EVENTS } from '@ferry/cli';
import { afterEach, describe, expect, it } from 'vitest';
import type { Link } from '../../src/link/server.ts';
import { PLAIN_HTTP_WARNING, renderLink } from '../../src/ui/link.ts';
import { fakeIo, runCleanup } from '../helpers.ts';
import { request, startLinkSender, TOKEN } from '../link/helpers.ts';

afterEach(runCleanup);

/** One download's events, as a link emits them, with a hostile user agent. */
function emitDownload(link: Link): void {
  link.announce(['192.168.1.20', 'fd00::20'], 7878);
  link.emit('download-start', {
    id: 1,
    peer: '192.168.1.5:51000',
    agent: 'evil\u001b[2J\u0007agent\nline',
    what: 'a\u001b[31mb.txt',
    bytes: 5,
    range: { start: 0, end: 4 },
  });
  link.emit('download-progress', { id: 1, bytes: 5 });
  link.emit('download-done', { id: 1, bytes: 5, complete: true });
  link.emit('download-start', {
    id: 2,
    peer: '192.168.1.5:51001',
    agent: '',
    what: 'photos.zip',
    bytes: 10,
  });
  link.emit('download-failed', {
    id: 2,
    message: 'the file changed while it was sent: it was modified',
  });
  link.emit('link-ended', { reason: 'downloads' });
}

describe('the link on the terminal and in --json', () => {
  it('J1: prints the URLs, a QR code, the plain-HTTP warning and each download within 80 columns, peer strings escaped', async () => {
    const { link } = await startLinkSender({ 'a.txt': 'alpha' });
    const io = fakeIo({ stdoutTTY: true });
    // An 80-column terminal.
    Object.defineProperty(io.stdout, 'columns', { value: 80 });
    renderLink(link, io, false);
    emitDownload(link);
    const text = io.stdout.text;
    expect(text).toContain(`  http://192.168.1.20:7878/t/${TOKEN}/`);
    expect(text).toContain(`  http://[fd00::20]:7878/t/${TOKEN}/`);
    expect(text.replace(/\s+/g, ' ')).toContain(PLAIN_HTTP_WARNING);
    expect(text).toContain('▀');
    // No control character from the peer reaches the terminal.
    expect(text).not.toMatch(/\u001b\[2J|\u0007|\u001b\[31m/);
    expect(text).toContain('Download 1 by 192.168.1.5:51000 (evil');
    expect(text).toContain('Download 1 complete: 5 B.');
    expect(text).toContain('Download 2 failed: the file changed while it was sent');
    expect(text).toContain('The link has ended');
    for (const line of io.stdout.lines)
      expect([...line.replace(/\r?\u001b\[2K/g, '')].length, line).toBeLessThanOrEqual(80);
  });

  it('S6: --json prints link, download-start, download-done, download-failed and link-ended exactly as the README documents them', async () => {
    const { link } = await startLinkSender({ 'a.txt': 'alpha' }, { downloads: 1 });
    const io = fakeIo();
    renderLink(link, io, true);
    emitDownload(link);
    const lines = io.stdout.lines;
    for (const line of lines) expect(jsonEventProblem(SENDER_JSON_EVENTS, line)).toBeUndefined();
    const events = lines.map((line) => JSON.parse(line).event);
    expect(events).toEqual([
      'link',
      'download-start',
      'download-done',
      'download-start',
      'download-failed',
      'link-ended',
    ]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ downloads: 1 });
  });

  it('--link-downloads: after that many complete downloads the link ends and answers 404; the Ferry side goes on', async () => {
    const { link, port, base, events } = await startLinkSender(
      { 'a.txt': 'alpha', 'b.txt': 'beta' },
      { downloads: 2 },
    );
    expect((await request(port, `${base}f/0/a.txt`, { method: 'HEAD' })).status).toBe(200);
    expect(
      (await request(port, `${base}f/0/a.txt`, { headers: { Range: 'bytes=0-1' } })).status,
    ).toBe(206);
    expect(link.ended).toBe(false);
    expect((await request(port, `${base}f/0/a.txt`)).status).toBe(200);
    expect(link.ended).toBe(false);
    expect((await request(port, `${base}f/1/b.txt`)).status).toBe(200);
    expect(await events.waitFor('link-ended')).toEqual({ reason: 'downloads' });
    expect(link.ended).toBe(true);
    expect((await request(port, base)).status).toBe(404);
    expect((await request(port, `${base}f/0/a.txt`)).status).toBe(404);
  });
});
