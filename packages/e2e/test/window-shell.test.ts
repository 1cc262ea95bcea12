/**
 * The window's shell in Debian's Chromium: the printed address logs the page in and leaves the
 * address bar, the state lives in the app (a reload shows it again), the page says when the app
 * has stopped, and nothing in it breaks the Content-Security-Policy or logs an error.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '@ferry/cli/build-single';
import { launchBrowser, openWindowPage } from '@ferry/testkit/browser';
import { cliEnv, spawnCli } from '@ferry/testkit/cli-process';
import { SEND_BIN, WAIT as CLI_WAIT } from '@ferry/testkit/harness';
import { makeTempDir } from '@ferry/testkit/files';
import { startWindow } from '@ferry/window';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { UI_SENDER_ARGS } from '../src/window-args.ts';

const WAIT = { timeout: 15_000 } as const;

describe("Ferry's window in a browser: the shell", () => {
  it('W4: the printed address sets the cookie and sends the page to /; a reload shows the state; K8: the page says when the app stops', async () => {
    const window = await startWindow({
      app: 'send',
      logger: pino({ level: 'silent' }),
      configDir: await makeTempDir('window-config'),
      home: await makeTempDir('window-home'),
      open: false,
    });
    let closed = false;
    const { onCleanup } = await import('@ferry/testkit/cleanup');
    onCleanup('window', () => (closed ? undefined : window.close()));
    window.set('app', {
      name: 'Desk <b>bold</b> \u202Egnp.exe',
      version: '0.1.0',
      encryption: true,
    });

    const browser = await launchBrowser();
    const wp = await openWindowPage(browser);
    const { page } = wp;
    const response = await page.goto(window.url);
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`http://127.0.0.1:${window.port}/`);
    const cookies = await wp.context.cookies();
    expect(cookies).toEqual([
      expect.objectContaining({
        name: `ferry-window-${window.port}`,
        value: new URL(window.url).searchParams.get('t'),
        httpOnly: true,
        sameSite: 'Strict',
        path: '/',
      }),
    ]);
    expect(await page.evaluate('document.cookie')).toBe('');

    const name = page.locator('header .top-name');
    await expect.poll(() => name.textContent(), WAIT).toBe('Desk <b>bold</b> \\u{202e}gnp.exe');
    expect(await page.locator('header b').count()).toBe(0);
    await expect.poll(() => page.locator('header .badge-ok').textContent(), WAIT).toBe('Encrypted');
    expect(await page.title()).toBe('Ferry: send');

    window.set('app', { name: 'Desk 2', version: '0.1.0', encryption: false });
    await expect.poll(() => name.textContent(), WAIT).toBe('Desk 2');
    await page.reload();
    expect(page.url()).toBe(`http://127.0.0.1:${window.port}/`);
    await expect.poll(() => name.textContent(), WAIT).toBe('Desk 2');
    await expect
      .poll(() => page.locator('header .badge-warn').textContent(), WAIT)
      .toBe('Not encrypted');

    expect(await wp.seriousAxeViolations()).toEqual([]);
    await wp.screenshots('shell');

    closed = true;
    await window.close();
    const overlay = page.getByRole('alertdialog', { name: 'Ferry has stopped' });
    await overlay.waitFor();
    expect(await overlay.textContent()).toContain('ferry-send --ui');
    expect(await page.locator('main').getAttribute('inert')).not.toBeNull();
    await wp.screenshots('shell-stopped');
    expect(wp.problems()).toEqual([]);
  });

  it('W4: an address with a wrong key gets a page that says what to do, and no cookie; K2: localhost:port works too', async () => {
    const window = await startWindow({
      app: 'receive',
      logger: pino({ level: 'silent' }),
      configDir: await makeTempDir('window-config'),
      home: await makeTempDir('window-home'),
      open: false,
    });
    const { onCleanup } = await import('@ferry/testkit/cleanup');
    onCleanup('window', () => window.close());
    const browser = await launchBrowser();
    const wp = await openWindowPage(browser);
    const answer = await wp.page.goto(`http://127.0.0.1:${window.port}/?t=${'A'.repeat(43)}`);
    expect(answer?.status()).toBe(403);
    expect(await wp.page.locator('h1').textContent()).toBe(
      'Open the address Ferry printed in the terminal',
    );
    expect(await wp.context.cookies()).toEqual([]);
    const viaLocalhost = await wp.page.goto(window.url.replace('127.0.0.1', 'localhost'));
    expect(viaLocalhost?.status()).toBe(200);
    expect(wp.pageErrors).toEqual([]);
    expect(wp.cspViolations).toEqual([]);
  });

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    it(`W8: when ferry-send --ui ends (${how}), its page says that Ferry has stopped`, async () => {
      const home = await makeTempDir('window-home');
      await writeFile(path.join(home, 'a.txt'), 'a');
      const sender = spawnCli(SEND_BIN, [...UI_SENDER_ARGS, path.join(home, 'a.txt')], {
        env: cliEnv({ HOME: home, USERPROFILE: home }),
      });
      const { url } = await sender.waitForEvent('window', CLI_WAIT.startMs);
      const browser = await launchBrowser();
      const wp = await openWindowPage(browser);
      await wp.page.goto(String(url));
      await expect.poll(() => wp.page.locator('header .top-name').count(), WAIT).toBe(1);
      sender.signal(how);
      await sender.waitForExit(CLI_WAIT.startMs);
      const overlay = wp.page.getByRole('alertdialog', { name: 'Ferry has stopped' });
      await overlay.waitFor({ timeout: 20_000 });
      expect(await overlay.textContent()).toContain('ferry-send --ui');
      if (how === 'SIGTERM') expect(wp.lostStreams).toEqual([]);
      expect(wp.problems()).toEqual([]);
    });
  }

  it('W6: the single-file ferry-send serves its window from inside itself, with nothing beside it', async () => {
    const program = await buildProgram(fileURLToPath(new URL('../../sender', import.meta.url)), {
      ifStale: true,
    });
    const dir = await makeTempDir('window-single');
    const copy = path.join(dir, path.basename(program));
    await copyFile(program, copy);
    await writeFile(path.join(dir, 'a.txt'), 'a');
    const sender = spawnCli(copy, [...UI_SENDER_ARGS, path.join(dir, 'a.txt')], {
      cwd: dir,
      env: cliEnv({ HOME: dir, USERPROFILE: dir, NODE_PATH: undefined, NODE_OPTIONS: undefined }),
    });
    const { url } = await sender.waitForEvent('window', CLI_WAIT.startMs);
    const browser = await launchBrowser();
    const wp = await openWindowPage(browser);
    await wp.page.goto(String(url));
    await expect.poll(() => wp.page.locator('header .top-name').count(), WAIT).toBe(1);
    expect(await wp.page.locator('main h1').count()).toBeGreaterThan(0);
    sender.signal('SIGTERM');
    await sender.waitForExit(CLI_WAIT.startMs);
    expect(wp.problems()).toEqual([]);
  });
});
