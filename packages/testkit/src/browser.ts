/**
 * Ferry's window in a real browser: Debian's Chromium driven by playwright-core, pages that
 * record console errors, uncaught exceptions and Content-Security-Policy violations, an
 * accessibility scan with axe-core, and screenshots at desktop and phone sizes saved as test
 * artifacts under `packages/e2e/artifacts/window/`.
 */
import { readFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { onCleanup } from './cleanup.ts';

/** Debian's Chromium, which `scripts/system-deps.mjs` installs. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where the window's screenshots go (ignored by git; the README names it). */
export const ARTIFACTS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'e2e',
  'artifacts',
  'window',
);

/** The sizes every main screen is captured at. */
export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

/** How long a page waits for anything, at most. */
export const PAGE_WAIT_MS = 30_000;

/** A Content-Security-Policy violation the page reported. */
export interface CspViolation {
  directive: string;
  blocked: string;
  sample: string;
}

/** An axe-core finding. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Starts Chromium headless, with no network but what the page asks for; closed after the test. */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--no-proxy-server'],
    timeout: PAGE_WAIT_MS,
  });
  onCleanup('chromium', () => browser.close());
  return browser;
}

/** A page of its own context (its own cookies), with what went wrong in it recorded. */
export interface WindowPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console messages of type error, and failed resource loads Chromium reports there. */
  readonly consoleErrors: string[];
  /** Exceptions thrown by the page's script and not caught. */
  readonly pageErrors: string[];
  /** `securitypolicyviolation` events, from every document the page showed. */
  readonly cspViolations: CspViolation[];
  /** Addresses of actions and file browser requests the app answered with a 4xx refusal. */
  readonly refusedActions: string[];
  /** Chromium's errors for the event stream once the app behind the page has gone. */
  readonly lostStreams: string[];
  /** Everything recorded so far, for a failure message. */
  problems(): string[];
  /** Saves `<name>-desktop.png` and `<name>-phone.png` in ARTIFACTS_DIR; returns their paths. */
  screenshots(name: string): Promise<string[]>;
  /** Runs axe-core on the page as it is; returns the serious and critical findings. */
  seriousAxeViolations(): Promise<AxeViolation[]>;
}

/** Opens a new page (desktop size, light or dark scheme) that records its problems. */
export async function openWindowPage(
  browser: Browser,
  options: { colorScheme?: 'light' | 'dark'; viewport?: keyof typeof VIEWPORTS } = {},
): Promise<WindowPage> {
  const context = await browser.newContext({
    viewport: VIEWPORTS[options.viewport ?? 'desktop'],
    colorScheme: options.colorScheme ?? 'light',
  });
  onCleanup('browser context', () => context.close());
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const cspViolations: CspViolation[] = [];
  const refusedActions: string[] = [];
  const lostStreams: string[] = [];
  // A binding is called from the page through the debugging protocol: the page's CSP does not
  // stop it, and it survives reloads, unlike anything kept in the page.
  await context.exposeBinding('__ferryCspViolation', (_source, violation: CspViolation) => {
    cspViolations.push(violation);
  });
  await context.addInitScript({ content: CSP_LISTENER });
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_WAIT_MS);
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // An action or a dropped file the app refused (a wrong code, a name not allowed) is an
    // answer the page shows; Chromium still logs its status. Any other failed load is an error.
    const at = message.location().url;
    const refusal =
      message
        .text()
        .startsWith('Failed to load resource: the server responded with a status of 4') &&
      /^http:\/\/(127\.0\.0\.1|localhost):\d+\/api\/((action|fs)\/|upload\?)/.test(at);
    // The event stream cut or refused: the app has stopped (the page then says so).
    const streamLost =
      message.text().startsWith('Failed to load resource: net::ERR_') &&
      /^http:\/\/(127\.0\.0\.1|localhost):\d+\/api\/events$/.test(at);
    if (refusal) refusedActions.push(at);
    else if (streamLost) lostStreams.push(message.text());
    else consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  return {
    page,
    context,
    consoleErrors,
    pageErrors,
    cspViolations,
    refusedActions,
    lostStreams,
    problems: () => [
      ...consoleErrors.map((e) => `console: ${e}`),
      ...pageErrors.map((e) => `exception: ${e}`),
      ...cspViolations.map((v) => `CSP: ${v.directive} ${v.blocked} ${v.sample}`),
    ],
    async screenshots(name) {
      await mkdir(ARTIFACTS_DIR, { recursive: true });
      const before = page.viewportSize();
      const saved: string[] = [];
      for (const [size, viewport] of Object.entries(VIEWPORTS)) {
        await page.setViewportSize(viewport);
        const file = path.join(ARTIFACTS_DIR, `${name}-${size}.png`);
        await page.screenshot({ path: file, fullPage: true });
        saved.push(file);
      }
      if (before) await page.setViewportSize(before);
      return saved;
    },
    async seriousAxeViolations() {
      await page.evaluate(await axeSource());
      const violations = (await page.evaluate(AXE_RUN)) as AxeViolation[];
      return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    },
  };
}

/** Reports each `securitypolicyviolation` of a document to the test (a page script, as text). */
const CSP_LISTENER = `document.addEventListener('securitypolicyviolation', (event) => {
  window.__ferryCspViolation?.({ directive: event.violatedDirective, blocked: event.blockedURI, sample: event.sample });
});`;

/** Runs axe-core over the whole document and returns its findings, made plain (page script). */
const AXE_RUN = `axe.run(document, { resultTypes: ['violations'] }).then((result) =>
  result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) })))`;

let axeScript: string | undefined;

/** axe-core's browser script, read once. */
async function axeSource(): Promise<string> {
  axeScript ??= await readFile(
    createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
    'utf8',
  );
  return axeScript;
}
