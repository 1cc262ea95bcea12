import type { OfferSource } from '@ferry/engine';
import { formatBytes } from '@ferry/protocol';
import { pathSegment } from './http-fields.ts';

/** Text as HTML character data or a quoted attribute value: never markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.codePointAt(0)};`);
}

/** What the page lists besides the offer. */
export interface PageOptions {
  readonly offer: OfferSource;
  readonly digests: ReadonlyMap<number, string>;
  /** The sender's display name. */
  readonly name: string;
  /** Top-level folders are offered as zips. */
  readonly zips: boolean;
  /** The single-file receiving program is offered. */
  readonly program: boolean;
}

const STYLE = `body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;padding:1em;max-width:60em;color:#111;background:#fff}
h1{font-size:1.3em;margin:.2em 0}ul{list-style:none;padding:0}li{padding:.5em 0;border-bottom:1px solid #ddd;overflow-wrap:anywhere}
a{color:#0645ad}.size{color:#555;white-space:nowrap}code{font-size:.8em;color:#555;overflow-wrap:anywhere;display:block}
.dir{font-weight:600}.note{color:#555;font-size:.9em}`;

/**
 * The link's page: server-rendered HTML that needs no script, loads nothing from elsewhere, and
 * shows every name as text. Links are relative to the page (`/t/<token>/`), so the token is
 * written nowhere but the address bar.
 */
export function renderPage(options: PageOptions): string {
  const { offer, digests } = options;
  const items: string[] = [];
  for (const [id, entry] of offer.entries.entries()) {
    const depth = entry.path.split('/').length - 1;
    const base = entry.path.split('/').at(-1)!;
    const indent = depth > 0 ? ` style="padding-left:${Math.min(depth, 8)}em"` : '';
    if (entry.kind === 'dir') {
      const zip =
        depth === 0 && options.zips
          ? ` <a href="z/${id}/${escapeHtml(pathSegment(`${base}.zip`))}" download>download as zip</a>`
          : '';
      items.push(`<li${indent}><span class="dir">${escapeHtml(entry.path)}/</span>${zip}</li>`);
      continue;
    }
    const digest = digests.get(id) ?? '';
    items.push(
      `<li${indent}><a href="f/${id}/${escapeHtml(pathSegment(base))}" download>${escapeHtml(entry.path)}</a> ` +
        `<span class="size">${escapeHtml(formatBytes(entry.size))}</span><code>SHA-256 ${digest}</code></li>`,
    );
  }
  const program = options.program
    ? `<p class="note">Ferry for the other machine: <a href="ferry-receive.mjs" download>ferry-receive.mjs</a> runs with Node.js 20 alone (<code>node ferry-receive.mjs</code>) and receives encrypted.</p>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">
<title>Files from ${escapeHtml(options.name)}</title><style>${STYLE}</style></head>
<body><h1>Files from ${escapeHtml(options.name)}</h1>
<p class="note">${offer.fileCount} file${offer.fileCount === 1 ? '' : 's'}, ${escapeHtml(formatBytes(offer.totalBytes))}. Check them with <a href="SHA256SUMS" download>SHA256SUMS</a> (<code>sha256sum -c SHA256SUMS</code>).</p>
<ul>
${items.join('\n')}
</ul>
${program}
</body></html>
`;
}

/** `sha256sum -c` input: one line per file, its digest and its path in the offer. */
export function renderSums(offer: OfferSource, digests: ReadonlyMap<number, string>): string {
  let out = '';
  for (const [id, entry] of offer.entries.entries()) {
    if (entry.kind === 'file') out += `${digests.get(id) ?? ''}  ${entry.path}\n`;
  }
  return out;
}
