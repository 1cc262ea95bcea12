/** One link on a page: its address made absolute, and its text as shown. */
export interface PageLink {
  readonly url: string;
  readonly text: string;
}

/** What a `ferry-send --link` page links to, found in its HTML as a browser would. */
export interface LinkPage {
  readonly html: string;
  /** Every `<a href>` on the page, in order. */
  readonly links: readonly PageLink[];
  /** A file's download address by its offer path (the link's text). */
  file(offerPath: string): string;
  /** A top-level folder's zip by its file name (`<folder>.zip`). */
  zip(name: string): string;
  /** The address of the link whose address ends with `/<last>` (e.g. `SHA256SUMS`). */
  named(last: string): string;
}

/** The text of HTML character data: entities decoded, tags removed. */
export function htmlText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) =>
      String.fromCodePoint(Number.parseInt(code, 16)),
    )
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Fetches the page at `url` (bounded in time) and reads its links. */
export async function fetchLinkPage(url: string, timeoutMs = 30_000): Promise<LinkPage> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
  const html = await response.text();
  const links = [...html.matchAll(/<a\s[^>]*?href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/g)].map(
    (match) => ({
      url: new URL(htmlText(match[1]!), url).href,
      text: htmlText(match[2]!),
    }),
  );
  const find = (what: string, test: (link: PageLink) => boolean): string => {
    const found = links.find(test);
    if (!found) throw new Error(`the page at ${url} has no link to ${what}:\n${html}`);
    return found.url;
  };
  const lastSegment = (link: PageLink) =>
    decodeURIComponent(new URL(link.url).pathname.split('/').at(-1)!);
  return {
    html,
    links,
    file: (offerPath) => find(offerPath, (link) => link.text === offerPath),
    zip: (name) =>
      find(
        name,
        (link) => new URL(link.url).pathname.includes('/z/') && lastSegment(link) === name,
      ),
    named: (last) => find(last, (link) => lastSegment(link) === last),
  };
}
