import type { WindowApp } from '../state/common.ts';

/** The page's script and stylesheet. */
export interface ClientAssets {
  readonly js: string;
  readonly css: string;
}

// Set by the apps' bundles (launcher and single-file program): the page, built ahead of time,
// as the JSON of a ClientAssets.
declare const FERRY_WINDOW_ASSETS: string | undefined;

let built: Promise<ClientAssets> | undefined;

/** The page's assets: embedded in a bundled app, else built once from source. */
export function clientAssets(): Promise<ClientAssets> {
  built ??=
    typeof FERRY_WINDOW_ASSETS === 'string'
      ? Promise.resolve(JSON.parse(FERRY_WINDOW_ASSETS) as ClientAssets)
      : buildFromSource();
  return built;
}

async function buildFromSource(): Promise<ClientAssets> {
  // A computed specifier: a bundler leaves it alone, so esbuild never ends up in a bundle.
  const builder = new URL('../../build-client.mjs', import.meta.url).href;
  const { buildClient } = (await import(builder)) as typeof import('../../build-client.mjs');
  const { js, css } = await buildClient();
  return { js, css };
}

/** A small icon, so the browser does not ask for a missing /favicon.ico. */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1d5fd6"/><path d="M5 19h22l-3 6H8z" fill="#fff"/><path d="M15 6v11h-7z" fill="#fff"/><path d="M17 9v8h6z" fill="#cfe0ff"/></svg>';

const TITLES: Record<WindowApp, string> = {
  send: 'Ferry: send',
  receive: 'Ferry: receive',
  'chat-listener': 'Ferry: chat',
  'chat-joiner': 'Ferry: chat',
};

/** The page's HTML: no inline script or style; the screen is chosen by `data-app`. */
export function shellHtml(app: WindowApp): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<title>${TITLES[app]}</title>`,
    '<link rel="icon" href="/favicon.svg" type="image/svg+xml">',
    '<link rel="stylesheet" href="/app.css">',
    '<script type="module" src="/app.js"></script>',
    '</head>',
    `<body data-app="${app}">`,
    '<div id="root"></div>',
    "<noscript><p>Ferry's window needs JavaScript. Use the terminal instead.</p></noscript>",
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
