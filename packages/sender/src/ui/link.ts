import {
  formatBytes,
  formatProgress,
  type Io,
  plural,
  printJson,
  ProgressMeter,
  ProgressPacer,
  StatusLine,
} from '@ferry/cli';
import { escapeForDisplay as esc } from '@ferry/protocol';
import { qrLines } from '../link/qr.ts';
import type { Link, LinkEvents } from '../link/server.ts';

/** The warning printed with the link: one line within 80 columns. */
export const PLAIN_HTTP_WARNING =
  'Plain HTTP: others on this network can read the link; ferry-receive encrypts.';

/** A download's progress is printed at most this often (whole lines, between the sender's own). */
export const DOWNLOAD_PROGRESS_EVERY_MS = 10_000;

/** Per download, `--json` progress at most this often. */
const JSON_PROGRESS_EVERY_MS = 500;

/** Who downloads, for a person: address and user agent, both escaped. */
export function downloader(peer: string, agent: string): string {
  const shown = agent.length > 60 ? `${agent.slice(0, 59)}…` : agent;
  return shown ? `${esc(peer)} (${esc(shown)})` : esc(peer);
}

/** Renders a link's events: lines for people, or JSON lines. */
export function renderLink(link: Link, io: Io, json: boolean): void {
  if (json) {
    renderJson(link, io);
    return;
  }
  const status = StatusLine.for(io.stdout);
  const downloads = new Map<number, { meter: ProgressMeter; pacer: ProgressPacer }>();
  link.on('link', ({ urls, downloads: limit }) => {
    status.print(`Or share this link (a browser or curl on the other machine downloads from it):`);
    for (const url of urls) status.print(`  ${url}`);
    if (urls[0] !== undefined) {
      status.print('The first link, as a QR code for a phone:');
      for (const line of qrLines(urls[0])) status.print(line);
    }
    status.print(PLAIN_HTTP_WARNING);
    if (limit !== undefined)
      status.print(`The link ends after ${plural(limit, 'complete download')}.`);
  });
  link.on('download-start', ({ id, peer, agent, what, bytes, range }) => {
    const part = range ? `, bytes ${range.start}-${range.end}` : '';
    status.print(
      `Download ${id} by ${downloader(peer, agent)}: ${esc(what)} (${formatBytes(bytes)}${part})`,
    );
    downloads.set(id, {
      meter: new ProgressMeter(bytes, performance.now()),
      pacer: new ProgressPacer(DOWNLOAD_PROGRESS_EVERY_MS),
    });
  });
  link.on('download-progress', ({ id, bytes }) => {
    const d = downloads.get(id);
    if (!d) return;
    d.meter.add(bytes - d.meter.bytes);
    if (d.meter.bytes >= d.meter.total) return;
    const snapshot = d.pacer.next(d.meter, performance.now());
    if (snapshot) status.print(`Download ${id}: ${formatProgress(snapshot).trimStart()}`);
  });
  link.on('download-done', ({ id, bytes, complete }) => {
    const d = downloads.get(id);
    downloads.delete(id);
    if (complete) status.print(`Download ${id} complete: ${formatBytes(bytes)}.`);
    else
      status.print(
        `Download ${id} stopped by the downloader after ${formatBytes(bytes)}${d ? ` of ${formatBytes(d.meter.total)}` : ''}; it can resume.`,
      );
  });
  link.on('download-failed', ({ id, message }) => {
    downloads.delete(id);
    status.print(
      `Download ${id} failed: ${esc(message)}. The answer was cut short; offer the file again to share it.`,
    );
  });
  link.on('link-ended', ({ reason }) => {
    if (reason === 'downloads')
      status.print(
        'The link has ended: its downloads were made. ferry-receive can still connect; press Ctrl-C to stop.',
      );
  });
}

function renderJson(link: Link, io: Io): void {
  const print = (event: keyof LinkEvents & string, fields: object) =>
    printJson(io.stdout, event, fields);
  const shownAt = new Map<number, number>();
  link.on('link', ({ urls, downloads }) =>
    print('link', downloads === undefined ? { urls } : { urls, downloads }),
  );
  link.on('download-start', ({ range, ...rest }) => {
    shownAt.set(rest.id, performance.now());
    print('download-start', range ? { ...rest, range } : rest);
  });
  link.on('download-progress', ({ id, bytes }) => {
    const now = performance.now();
    if (now - (shownAt.get(id) ?? 0) < JSON_PROGRESS_EVERY_MS) return;
    shownAt.set(id, now);
    print('download-progress', { id, bytes });
  });
  link.on('download-done', (e) => {
    shownAt.delete(e.id);
    print('download-done', e);
  });
  link.on('download-failed', (e) => {
    shownAt.delete(e.id);
    print('download-failed', e);
  });
  link.on('link-ended', (e) => print('link-ended', e));
}
