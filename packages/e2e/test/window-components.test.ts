/**
 * The window's shared components in Debian's Chromium, on a gallery page served by a real
 * window: peer strings shown inert, the file browser driven by the keyboard alone, new folders,
 * hidden entries, the free space, an accessibility scan and screenshots at desktop and phone
 * sizes, in light and dark.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { escapeForDisplay } from '@ferry/protocol';
import { onCleanup } from '@ferry/testkit/cleanup';
import { launchBrowser, openWindowPage, type WindowPage } from '@ferry/testkit/browser';
import { makeTempDir } from '@ferry/testkit/files';
import { startWindow, type Window } from '@ferry/window';
import { buildClient, GALLERY_ENTRY } from '@ferry/window/build-client';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const WAIT = { timeout: 15_000 } as const;
let gallery: { js: string; css: string };

beforeAll(async () => {
  const { js, css } = await buildClient(GALLERY_ENTRY);
  gallery = { js, css };
});

interface Gallery {
  window: Window;
  home: string;
  wp: WindowPage;
  page: Page;
  /** The inputs of each action the page called, by action name. */
  calls: Map<string, unknown[]>;
}

/** A window serving the gallery, a home folder with a few entries, and a page logged in. */
async function openGallery(colorScheme: 'light' | 'dark' = 'light'): Promise<Gallery> {
  const home = await makeTempDir('window-home');
  await mkdir(path.join(home, 'Documents'));
  await writeFile(path.join(home, 'Documents', 'a.txt'), 'a');
  await writeFile(path.join(home, 'Documents', 'b.txt'), 'bb');
  await mkdir(path.join(home, 'Photos'));
  await mkdir(path.join(home, '.config'));
  await writeFile(path.join(home, 'notes.txt'), 'notes');
  const window = await startWindow({
    app: 'send',
    logger: pino({ level: 'silent' }),
    configDir: await makeTempDir('window-config'),
    home,
    open: false,
    assets: gallery,
  });
  onCleanup('window', () => window.close());
  const calls = new Map<string, unknown[]>();
  for (const name of ['picked', 'folder', 'retry']) {
    calls.set(name, []);
    window.action(name, z.unknown(), (input) => {
      calls.get(name)!.push(input);
    });
  }
  const browser = await launchBrowser();
  const wp = await openWindowPage(browser, { colorScheme });
  await wp.page.goto(window.url);
  return { window, home, wp, page: wp.page, calls };
}

/**
 * Holds back the first listing of home (a list request with no path) the page makes from now
 * on; `release` lets it go on and resolves once it has.
 */
async function holdHomeListing(page: Page): Promise<{ held(): boolean; release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held: Promise<void> | undefined;
  await page.route('**/api/fs/list', async (route) => {
    const body = route.request().postDataJSON() as { path?: string };
    if (body.path === undefined && held === undefined) {
      held = released.then(() => route.continue());
      return;
    }
    await route.continue();
  });
  return {
    held: () => held !== undefined,
    release: async () => {
      release();
      await held;
    },
  };
}

/** Presses Tab until the focused element matches `test` (at most 60 times); fails otherwise. */
async function tabTo(page: Page, what: string, test: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (
      await page.evaluate(
        `(() => { const el = document.activeElement; return !!el && (${test}); })()`,
      )
    )
      return;
  }
  throw new Error(`Tab never reached ${what}`);
}

const focusedIs = (role: string, name: string) =>
  `el.getAttribute('role') === '${role}' || (el.tagName === '${role.toUpperCase()}' && el.textContent.trim() === '${name}')`;

describe("Ferry's window components in a browser", () => {
  it('W5: names from a peer are shown as inert, escaped text: no element, no script, no CSP violation', async () => {
    const g = await openGallery();
    const dialogs: string[] = [];
    g.page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const names = [
      '<img src=x onerror="window.__pwned=1">',
      '<script>window.__pwned=2</script>',
      'invoice\u202Efdp.exe',
      'javascript:alert(1)',
      'tab\there\nnew line \u0007 bell',
      `long ${'é'.repeat(3995)}`,
    ];
    g.window.set('names', names);
    const items = g.page.locator('#names li bdi');
    await expect.poll(() => items.count(), WAIT).toBe(names.length);
    expect(await g.page.locator('#names img, #names script, #names a').count()).toBe(0);
    for (const [i, name] of names.entries()) {
      const escaped = escapeForDisplay(name);
      const shown =
        Array.from(escaped).length > 160
          ? `${Array.from(escaped).slice(0, 159).join('')}…`
          : escaped;
      expect(await items.nth(i).textContent()).toBe(shown);
      expect(await items.nth(i).getAttribute('title')).toBe(escaped);
    }
    expect(await items.nth(2).textContent()).toBe('invoice\\u{202e}fdp.exe');
    expect(await g.page.evaluate('window.__pwned')).toBeUndefined();
    expect(dialogs).toEqual([]);
    // The 4,000-character name wraps inside the page instead of widening it.
    expect(await g.page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(
      true,
    );
    expect(await g.wp.seriousAxeViolations()).toEqual([]);
    expect(g.wp.problems()).toEqual([]);
  });

  it('W7: the file browser works with the keyboard alone: open a folder, select two files, add them, Escape closes', async () => {
    const g = await openGallery();
    await tabTo(g.page, 'the Add files button', focusedIs('button', 'Add files'));
    await g.page.keyboard.press('Enter');
    const dialog = g.page.getByRole('dialog', { name: 'Add files and folders' });
    await dialog.waitFor();
    const list = dialog.getByRole('listbox');
    await expect.poll(() => list.getAttribute('aria-label'), WAIT).toBe(`Contents of ${g.home}`);
    expect(await dialog.getByRole('option').allTextContents()).toEqual([
      expect.stringMatching(/^Documents \(folder\)/),
      expect.stringMatching(/^Photos \(folder\)/),
      expect.stringMatching(/^notes\.txt5 B/),
    ]);
    await tabTo(g.page, 'the folder list', "el.getAttribute('role') === 'listbox'");
    await g.page.keyboard.press('Enter');
    await expect
      .poll(() => list.getAttribute('aria-label'), WAIT)
      .toBe(`Contents of ${path.join(g.home, 'Documents')}`);
    await g.page.keyboard.press('Space');
    await g.page.keyboard.press('ArrowDown');
    await g.page.keyboard.press('Space');
    await expect.poll(() => dialog.locator('[aria-selected="true"]').count(), WAIT).toBe(2);
    await g.page.keyboard.press('Backspace');
    await expect.poll(() => list.getAttribute('aria-label'), WAIT).toBe(`Contents of ${g.home}`);
    await g.page.keyboard.press('Enter');
    await expect
      .poll(() => list.getAttribute('aria-label'), WAIT)
      .toBe(`Contents of ${path.join(g.home, 'Documents')}`);
    await g.page.keyboard.press('End');
    await g.page.keyboard.press('Space');
    await g.page.keyboard.press('Home');
    await g.page.keyboard.press('Space');
    await tabTo(
      g.page,
      'the Add button',
      "el.tagName === 'BUTTON' && el.textContent.trim() === 'Add 2 items'",
    );
    await g.wp.screenshots('file-browser-dialog');
    await g.page.keyboard.press('Enter');
    await expect
      .poll(() => g.calls.get('picked'), WAIT)
      .toEqual([
        {
          paths: [path.join(g.home, 'Documents', 'b.txt'), path.join(g.home, 'Documents', 'a.txt')],
        },
      ]);
    await dialog.waitFor({ state: 'hidden' });
    await expect
      .poll(() => g.page.evaluate('document.activeElement.textContent.trim()'), WAIT)
      .toBe('Add files');
    await g.page.keyboard.press('Enter');
    await dialog.waitFor();
    // The folder picked from is now a recent one.
    await expect
      .poll(() => dialog.getByRole('button', { name: 'Documents' }).count(), WAIT)
      .toBe(1);
    await g.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(g.wp.problems()).toEqual([]);
  });

  it('W7: a folder typed and opened while the first one still loads stays shown when the first answers', async () => {
    const g = await openGallery();
    // Hold the dialog's first listing (of home) until another folder has been opened.
    const home = await holdHomeListing(g.page);
    // Counts the listings whose body the page has read: its handler runs right after, in the
    // same task, so a later evaluate sees what the page made of each answer.
    await g.page.evaluate(`(() => {
      window.listingsRead = 0;
      const json = Response.prototype.json;
      Response.prototype.json = function () {
        const read = json.call(this);
        if (!this.url.endsWith('/api/fs/list')) return read;
        return read.finally(() => { window.listingsRead++; });
      };
    })()`);
    const listingsRead = () => g.page.evaluate('window.listingsRead') as Promise<number>;
    await g.page.getByRole('button', { name: 'Add files' }).click();
    const dialog = g.page.getByRole('dialog', { name: 'Add files and folders' });
    await dialog.waitFor();
    await expect.poll(() => home.held(), WAIT).toBe(true);
    const documents = path.join(g.home, 'Documents');
    await dialog.getByLabel('Folder', { exact: true }).fill(documents);
    await dialog.getByRole('button', { name: 'Go' }).click();
    const list = dialog.getByRole('listbox');
    await expect.poll(() => list.getAttribute('aria-label'), WAIT).toBe(`Contents of ${documents}`);
    const before = await listingsRead();
    await home.release();
    // The late answer of home has been read, and handled, by the page.
    await expect.poll(listingsRead, WAIT).toBe(before + 1);
    expect(await list.getAttribute('aria-label')).toBe(`Contents of ${documents}`);
    expect(await dialog.getByLabel('Folder', { exact: true }).inputValue()).toBe(documents);
    expect(await dialog.getByRole('option').allTextContents()).toEqual([
      expect.stringMatching(/^a\.txt/),
      expect.stringMatching(/^b\.txt/),
    ]);
    expect(g.wp.problems()).toEqual([]);
  });

  it('W7: a folder being typed is not replaced by the first listing answering meanwhile', async () => {
    const g = await openGallery();
    const home = await holdHomeListing(g.page);
    await g.page.getByRole('button', { name: 'Add files' }).click();
    const dialog = g.page.getByRole('dialog', { name: 'Add files and folders' });
    await dialog.waitFor();
    await expect.poll(() => home.held(), WAIT).toBe(true);
    const documents = path.join(g.home, 'Documents');
    const field = dialog.getByLabel('Folder', { exact: true });
    await field.fill(documents);
    await home.release();
    const list = dialog.getByRole('listbox');
    // Home has been shown, with the field left as typed.
    await expect.poll(() => list.getAttribute('aria-label'), WAIT).toBe(`Contents of ${g.home}`);
    expect(await field.inputValue()).toBe(documents);
    await dialog.getByRole('button', { name: 'Go' }).click();
    await expect.poll(() => list.getAttribute('aria-label'), WAIT).toBe(`Contents of ${documents}`);
    expect(g.wp.problems()).toEqual([]);
  });

  it('W7: picking a folder: folders only, hidden ones on request, the free space, a new folder, a refused name', async () => {
    const g = await openGallery();
    const section = g.page.locator('section', {
      has: g.page.getByRole('heading', { name: 'Save to' }),
    });
    const options = section.getByRole('option');
    await expect
      .poll(() => options.allTextContents(), WAIT)
      .toEqual([expect.stringContaining('Documents'), expect.stringContaining('Photos')]);
    await expect.poll(() => section.getByText(/free here/).count(), WAIT).toBe(1);
    await section.getByLabel('Show hidden files').check();
    await expect.poll(() => options.count(), WAIT).toBe(3);
    expect(await options.first().textContent()).toContain('.config');
    await section.getByRole('button', { name: 'New folder' }).click();
    await section.getByLabel('New folder name').fill('a/b');
    await section.getByLabel('New folder name').press('Enter');
    await expect
      .poll(() => section.getByRole('alert').textContent(), WAIT)
      .toContain('A folder name cannot hold / or \\.');
    await section.getByLabel('New folder name').fill('Holiday 2026');
    await section.getByLabel('New folder name').press('Enter');
    await expect
      .poll(() => section.locator('[aria-selected="true"]').textContent(), WAIT)
      .toContain('Holiday 2026');
    expect((await stat(path.join(g.home, 'Holiday 2026'))).isDirectory()).toBe(true);
    await section.getByRole('button', { name: 'Save here' }).click();
    await expect
      .poll(() => g.calls.get('folder'), WAIT)
      .toEqual([{ paths: [path.join(g.home, 'Holiday 2026')] }]);
    await section.getByRole('button', { name: 'Up to the folder above' }).click();
    await expect
      .poll(() => section.getByRole('listbox').getAttribute('aria-label'), WAIT)
      .toBe(`Contents of ${path.dirname(g.home)}`);
    expect(g.wp.refusedActions).toEqual([`http://127.0.0.1:${g.window.port}/api/fs/mkdir`]);
    expect(g.wp.problems()).toEqual([]);
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`shows progress, the pairing code and an error with a retry; no serious accessibility finding (${scheme})`, async () => {
      const g = await openGallery(scheme);
      g.window.set('names', ['Anna’s laptop', 'build-server']);
      g.window.set('progress', {
        done: 734_003_200,
        total: 1_073_741_824,
        rate: 112_197_632,
        eta: 3,
      });
      const bar = g.page.locator('progress');
      await expect.poll(() => bar.getAttribute('value'), WAIT).toBe('68');
      expect(await g.page.locator('.progress-detail').textContent()).toBe(
        '700 MiB of 1.00 GiB · 107 MiB/s · 3 s left',
      );
      // Read when a screen reader reaches the bar; never a live region, which would speak at
      // every update for the whole transfer.
      expect(await bar.getAttribute('aria-valuetext')).toBe(
        '68%: 700 MiB of 1.00 GiB, 107 MiB/s, 3 s left',
      );
      const live = '[aria-live],[role=status],[role=log],[role=alert],output';
      expect(await g.page.locator(`:is(.progress, .progress *):is(${live})`).count()).toBe(0);
      expect(await g.page.locator('.code-digits').textContent()).toBe('45127789');
      await g.page.getByRole('button', { name: 'Try again' }).click();
      await expect.poll(() => g.calls.get('retry'), WAIT).toEqual([{}]);
      expect(await g.wp.seriousAxeViolations()).toEqual([]);
      await g.wp.screenshots(`components-${scheme}`);
      await g.window.close();
      await g.page.getByRole('alertdialog', { name: 'Ferry has stopped' }).waitFor();
      expect(g.wp.problems()).toEqual([]);
    });
  }
});
