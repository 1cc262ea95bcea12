/**
 * The receiving window in Debian's Chromium, driving a real `ferry-receive --ui` process against
 * a real `ferry-send` (or a hostile scripted sender): the code typed in the window, items chosen
 * with check boxes, a folder made and picked with the folder browser, progress, pause and resume,
 * a reload mid-transfer, a cut connection taken up again, the result; hostile names shown inert;
 * the whole transfer by keyboard alone. Every screen is scanned with axe-core and photographed at
 * desktop and phone sizes.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FrameType } from '@ferry/protocol';
import { launchBrowser, openWindowPage, type WindowPage } from '@ferry/testkit/browser';
import { cliEnv, spawnCli } from '@ferry/testkit/cli-process';
import { startCutRelay } from '@ferry/testkit/cut-relay';
import {
  hashTree,
  makeTempDir,
  RECEIVE_BIN,
  type RunningSender,
  startSender,
  WAIT,
  writeRandomFile,
} from '@ferry/testkit/harness';
import { startScriptedSender } from '@ferry/testkit/hostile';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { UI_RECEIVER_ARGS } from '../src/window-args.ts';

const MiB = 1024 * 1024;

/** `ferry-receive --ui --no-open --json [args]` with its own home folder; the window's address. */
async function startReceiveWindow(
  home: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
) {
  const receiver = spawnCli(RECEIVE_BIN, [...UI_RECEIVER_ARGS, ...args], {
    env: cliEnv({ HOME: home, USERPROFILE: home, ...env }),
  });
  const window = await receiver.waitForEvent('window', WAIT.startMs);
  expect(receiver.events[0]?.event, receiver.log.report('the first event is not "window"')).toBe(
    'window',
  );
  return { receiver, url: String(window.url) };
}

/** A page at the window's address, once its first screen shows. */
async function openReceivePage(url: string, heading: string): Promise<WindowPage> {
  const browser = await launchBrowser();
  const wp = await openWindowPage(browser);
  await wp.page.goto(url);
  await wp.page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  return wp;
}

/** Screenshots at both sizes and an axe-core scan with no serious or critical finding. */
async function capture(wp: WindowPage, name: string): Promise<void> {
  expect(await wp.seriousAxeViolations(), `axe on ${name}`).toEqual([]);
  const files = await wp.screenshots(`receive-${name}`);
  expect(files).toHaveLength(2);
}

/** Types the sender's code in the window and pairs. */
async function pair(page: Page, code: string): Promise<void> {
  await page.getByRole('heading', { name: 'Pairing code', level: 1 }).waitFor();
  await page.getByRole('textbox', { name: 'Pairing code' }).fill(code);
  await page.getByRole('button', { name: 'Pair' }).click();
  await page.getByRole('heading', { name: 'Choose what to receive', level: 1 }).waitFor();
}

/** Opens the folder browser, goes to `parent`, makes the folder `name` there and picks it. */
async function makeAndPickFolder(
  wp: WindowPage,
  parent: string,
  name: string,
  shoot = false,
): Promise<string> {
  const { page } = wp;
  await page.getByRole('button', { name: 'Choose folder…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Choose the folder to save into' });
  await dialog.getByLabel('Folder', { exact: true }).fill(parent);
  await dialog.getByRole('button', { name: 'Go' }).click();
  await dialog.getByRole('listbox', { name: `Contents of ${parent}` }).waitFor();
  await dialog.getByRole('button', { name: 'New folder' }).click();
  await dialog.getByLabel('New folder name').fill(name);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.getByRole('option', { name: new RegExp(name), selected: true }).waitFor();
  if (shoot) await capture(wp, 'folder-browser');
  await dialog.getByRole('button', { name: 'Save here' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const out = path.join(parent, name);
  await page.getByText(out, { exact: true }).waitFor();
  return out;
}

/** What has the keyboard focus: its id, its type, its label and its text. */
interface Focused {
  readonly id: string;
  readonly type: string;
  readonly label: string;
  readonly text: string;
}

async function focusedElement(page: Page): Promise<Focused> {
  return (await page.evaluate(DESCRIBE_FOCUS)) as Focused;
}

/** Describes the focused element (a page script, as text: this package has no DOM types). */
const DESCRIBE_FOCUS = `(() => {
  const element = document.activeElement;
  if (!element) return { id: '', type: '', label: '', text: '' };
  const label = ((element.labels && element.labels[0] && element.labels[0].textContent) || element.getAttribute('aria-label') || '').trim();
  return { id: element.id, type: element.type || element.tagName.toLowerCase(), label, text: (element.textContent || '').trim() };
})()`;

/** The id of what has the focus. */
async function focused(page: Page): Promise<string> {
  return (await focusedElement(page)).id;
}

/** Presses Tab until the focus is on what `test` accepts (at most 80 times). */
async function tabTo(page: Page, test: (element: Focused) => boolean): Promise<void> {
  const seen: string[] = [];
  for (let presses = 0; presses < 80; presses++) {
    await page.keyboard.press('Tab');
    const element = await focusedElement(page);
    if (test(element)) return;
    seen.push(`${element.type}:${element.label || element.text}`.slice(0, 60));
  }
  throw new Error(`Tab never reached the control; it went through:\n${seen.join('\n')}`);
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The sender's last code, once it shows one. */
function codeOf(sender: RunningSender): string {
  return sender.code();
}

describe('the receiving window (ferry-receive --ui)', () => {
  it('W8: receives the items ticked into a folder made in the folder browser, pairing with the code typed in the window; the copies are byte-identical', async () => {
    const src = await makeTempDir('recv-src');
    await writeFile(path.join(src, 'a.txt'), 'alpha\n');
    await mkdir(path.join(src, 'photos'));
    await writeRandomFile(path.join(src, 'photos', 'x.bin'), 300_000);
    await writeFile(path.join(src, 'photos', 'y.txt'), 'why\n');
    await writeFile(path.join(src, 'skip.bin'), 'not taken\n');
    const sender = await startSender([
      path.join(src, 'a.txt'),
      path.join(src, 'photos'),
      path.join(src, 'skip.bin'),
    ]);
    const home = await makeTempDir('recv-home');
    const { receiver, url } = await startReceiveWindow(home, [sender.address]);
    const wp = await openReceivePage(url, 'Pairing code');
    const { page } = wp;
    await capture(wp, 'code');
    await pair(page, codeOf(sender));
    await page.getByText('Paired with the code').waitFor();
    // The offer as a tree: items with check boxes and sizes; the folder's entries inside.
    await page.getByRole('checkbox', { name: 'skip.bin' }).uncheck();
    await page.getByText('Show the 2 entries inside').click();
    await page.getByText('x.bin', { exact: true }).waitFor();
    const parent = await makeTempDir('recv-parent');
    const out = await makeAndPickFolder(wp, parent, 'received', true);
    await page.getByText(/^Needs about/).waitFor();
    await capture(wp, 'choose');
    await page.getByRole('button', { name: 'Receive 3 files (293 KiB)' }).click();
    await page
      .getByRole('heading', { name: 'Received', level: 1 })
      .waitFor({ timeout: WAIT.transferMs });
    await page.getByText('3 files saved').waitFor();
    // Each saved file with its digest, as the disk has it.
    for (const [name, file] of [
      ['a.txt', path.join(src, 'a.txt')],
      ['x.bin', path.join(src, 'photos', 'x.bin')],
    ] as const) {
      await page
        .getByRole('row', { name: new RegExp(name) })
        .getByText(sha256(await readFile(file)))
        .waitFor();
    }
    await capture(wp, 'done');
    const expected = await hashTree(src);
    delete expected['skip.bin'];
    expect(await hashTree(out)).toEqual(expected);
    // The process stays up after the transfer, until Quit.
    expect(receiver.running).toBe(true);
    await page.getByRole('button', { name: 'Quit' }).click();
    const exit = await receiver.waitForExit(WAIT.reactMs);
    expect(exit.code, receiver.log.report('Quit')).toBe(0);
    await page.getByRole('alertdialog', { name: 'Ferry has stopped' }).waitFor();
    expect(wp.problems()).toEqual([]);
    await sender.stop();
  });

  it("W5: a hostile sender's names (<img onerror>, <script>, a 4,000-character path) are shown as text and run nothing; a bidi override refuses the offer, shown escaped", async () => {
    const long = `${Array.from({ length: 15 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(247)}`).join('/')}/${'f'.repeat(250)}`;
    expect(long.length).toBe(4000);
    const entries = [
      { kind: 'file', path: '<img src=x onerror=alert(1)>.txt', size: 5 },
      { kind: 'file', path: '<script>alert(1)</script>', size: 5 },
      { kind: 'file', path: long, size: 5 },
    ] as const;
    const session = 'ab'.repeat(16);
    const scripted = await startScriptedSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, {
        session,
        sender: { name: '<img src=x onerror=alert(2)>', host: '<b>evil</b>' },
        entries: [...entries],
      });
      const request = await peer.expect(FrameType.REQUEST);
      for (const item of request.files) {
        await peer.send(FrameType.FILE_START, { id: item.id, offset: 0, size: 5 });
        await peer.data(Buffer.from('evil\n'));
        await peer.send(FrameType.FILE_END, { id: item.id, sha256: sha256('evil\n') });
        await peer.expect(FrameType.FILE_ACK);
      }
      await peer.send(FrameType.END, {});
      await peer.expect(FrameType.DONE);
    });
    const home = await makeTempDir('recv-home');
    // The emulator plays one connection: the code comes up front, so the receiver pairs on it.
    const { receiver, url } = await startReceiveWindow(home, [scripted.address], {
      FERRY_CODE: scripted.code(),
    });
    const wp = await openReceivePage(url, 'Choose what to receive');
    const { page } = wp;
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    // Shown as the text it is, never as markup.
    await page.getByText('<img src=x onerror=alert(2)>', { exact: true }).waitFor();
    await page.getByText('<b>evil</b>', { exact: true }).waitFor();
    await page.getByText('<img src=x onerror=alert(1)>.txt', { exact: true }).waitFor();
    await page.getByText('<script>alert(1)<', { exact: true }).waitFor();
    expect(await page.locator('img[src="x"], b, main script').count()).toBe(0);
    // The 4,000-character name is cut on screen, whole in its title, and wraps inside the page.
    const longName = page.locator('.recv-tree .peer-text').filter({ hasText: /^00d+…$/ });
    expect(await longName.getAttribute('title')).toBe(long.split('/')[0]);
    await page
      .getByText(/^Show the \d+ entr/)
      .last()
      .click();
    const deep = page.locator(`[title="${long.slice(long.indexOf('/') + 1)}"]`);
    await deep.waitFor();
    const box = await deep.boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(1280);
    await capture(wp, 'hostile-offer');
    const out = await makeAndPickFolder(wp, await makeTempDir('recv-parent'), 'in');
    await page.getByRole('checkbox', { name: 'Everything' }).uncheck();
    await page.getByRole('checkbox', { name: '<img src=x onerror=alert(1)>.txt' }).check();
    await page.getByRole('checkbox', { name: '<script>alert(1)<' }).check();
    await page.getByRole('button', { name: /^Receive 2 files/ }).click();
    await page
      .getByRole('heading', { name: 'Received', level: 1 })
      .waitFor({ timeout: WAIT.transferMs });
    await page.getByText('<img src=x onerror=alert(1)>.txt', { exact: true }).first().waitFor();
    await scripted.done();
    expect(await readFile(path.join(out, '<img src=x onerror=alert(1)>.txt'), 'utf8')).toBe(
      'evil\n',
    );
    expect(await readFile(path.join(out, '<script>alert(1)<', 'script>'), 'utf8')).toBe('evil\n');
    expect(await page.locator('img[src="x"], b, main script').count()).toBe(0);

    // A bidi override in a name refuses the whole offer; the page says so with the name escaped.
    const bidi = await startScriptedSender(async (peer) => {
      await peer.expect(FrameType.HELLO);
      await peer.send(FrameType.OFFER, {
        session,
        sender: { name: 'mallory', host: 'evil' },
        entries: [{ kind: 'file', path: 'invoice\u202Efdp.exe', size: 5 }],
      });
      await peer.expect(FrameType.ERROR);
    });
    receiver.signal('SIGINT');
    await receiver.waitForExit(WAIT.reactMs);
    const second = await startReceiveWindow(home, [bidi.address], { FERRY_CODE: bidi.code() });
    await page.goto(second.url);
    await page.getByRole('heading', { name: 'It did not work', level: 1 }).waitFor();
    await page.getByText(/invoice\\u\{202e\}fdp\.exe/).waitFor();
    expect(await page.locator('main').textContent()).not.toContain('\u202E');
    await capture(wp, 'refused-offer');
    await bidi.done();
    expect(dialogs).toEqual([]);
    expect(wp.problems()).toEqual([]);
    second.receiver.signal('SIGINT');
    await second.receiver.waitForExit(WAIT.reactMs);
  });
  it('F5: pause and resume in the window; a reload mid-transfer shows the transfer where it is; the copy is byte-identical', async () => {
    const src = await makeTempDir('recv-src');
    await writeRandomFile(path.join(src, 'big.bin'), 48 * MiB);
    const sender = await startSender([path.join(src, 'big.bin')]);
    // A relay that can stall the sender's bytes: the transfer waits mid-file while the page is looked at.
    const relay = await startCutRelay(sender.port);
    const home = await makeTempDir('recv-home');
    const { receiver, url } = await startReceiveWindow(home, [relay.address]);
    const wp = await openReceivePage(url, 'Pairing code');
    const { page } = wp;
    await pair(page, codeOf(sender));
    const out = await makeAndPickFolder(wp, await makeTempDir('recv-parent'), 'big');
    const received = relay.passed(12 * MiB, WAIT.transferMs).then(() => relay.hold());
    await page.getByRole('button', { name: /^Receive 1 file/ }).click();
    await received;
    await page.getByRole('heading', { name: 'Receiving', level: 1 }).waitFor();
    const percent = page.locator('.progress-percent').first();
    await expect
      .poll(async () => Number.parseInt((await percent.textContent()) ?? '0', 10))
      .toBeGreaterThan(0);
    await page.getByText('big.bin', { exact: true }).waitFor();
    await capture(wp, 'transferring');
    // The state lives in the app: a reload shows the same step, the same file, bytes already in.
    const before = Number.parseInt((await percent.textContent()) ?? '0', 10);
    await page.reload();
    await page.getByRole('heading', { name: 'Receiving', level: 1 }).waitFor();
    const after = Number.parseInt(
      (await page.locator('.progress-percent').first().textContent()) ?? '0',
      10,
    );
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after).toBeLessThan(100);
    await page.getByText('big.bin', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText(/^Paused\. What arrived is kept/).waitFor();
    await capture(wp, 'paused');
    relay.release();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page
      .getByRole('heading', { name: 'Received', level: 1 })
      .waitFor({ timeout: WAIT.bigTransferMs });
    expect(await hashTree(out)).toEqual(await hashTree(src));
    // Resumed with the ticket: no second pairing, and only what was not held came again.
    const secured = receiver.events.filter((event) => event.event === 'secured');
    expect(secured.map((event) => event.method)).toEqual(['code']);
    const resumed = receiver.events.find((event) => event.event === 'resumed');
    expect(resumed, receiver.log.report('no resumed event')).toMatchObject({ files: 1 });
    expect(Number(resumed?.heldBytes)).toBeGreaterThan(0);
    expect(wp.problems()).toEqual([]);
    receiver.signal('SIGINT');
    await receiver.waitForExit(WAIT.reactMs);
    await sender.stop();
  });

  it('F5: a connection cut mid-transfer is taken up again by itself, and the window says so while it reconnects', async () => {
    const src = await makeTempDir('recv-src');
    await writeRandomFile(path.join(src, 'big.bin'), 48 * MiB);
    const sender = await startSender([path.join(src, 'big.bin')]);
    // The first connection only learns that a code is needed; the second is cut mid-file.
    const relay = await startCutRelay(sender.port, [Number.POSITIVE_INFINITY, 16 * MiB]);
    const home = await makeTempDir('recv-home');
    const { receiver, url } = await startReceiveWindow(home, [relay.address]);
    const wp = await openReceivePage(url, 'Pairing code');
    const { page } = wp;
    await pair(page, codeOf(sender));
    const out = await makeAndPickFolder(wp, await makeTempDir('recv-parent'), 'big');
    // Held after the cut, the reconnection cannot finish until the page has shown it.
    const cut = relay.cutFired(1).then(() => relay.hold());
    await page.getByRole('button', { name: /^Receive 1 file/ }).click();
    await cut;
    await page.getByText(/^Reconnecting to the sender/).waitFor();
    await capture(wp, 'reconnecting');
    relay.release();
    await page
      .getByRole('heading', { name: 'Received', level: 1 })
      .waitFor({ timeout: WAIT.bigTransferMs });
    expect(await hashTree(out)).toEqual(await hashTree(src));
    expect(receiver.events.some((event) => event.event === 'connection-lost')).toBe(true);
    expect(receiver.events.some((event) => event.event === 'resumed')).toBe(true);
    expect(wp.problems()).toEqual([]);
    receiver.signal('SIGINT');
    await receiver.waitForExit(WAIT.reactMs);
    await sender.stop();
  });

  it('receives by keyboard alone: Tab, Space, Enter and typing take the code, the items, a new folder and the transfer to its end', async () => {
    const src = await makeTempDir('recv-src');
    await writeFile(path.join(src, 'one.txt'), 'one\n');
    await writeFile(path.join(src, 'two.txt'), 'two\n');
    const sender = await startSender([path.join(src, 'one.txt'), path.join(src, 'two.txt')]);
    const home = await makeTempDir('recv-home');
    const parent = await makeTempDir('recv-parent');
    const { receiver, url } = await startReceiveWindow(home, [sender.address]);
    const wp = await openReceivePage(url, 'Pairing code');
    const { page } = wp;
    const keys = page.keyboard;
    // The code field has the focus: type the code and press Enter.
    await expect.poll(() => focused(page)).toBe('recv-code');
    await keys.type(codeOf(sender));
    await keys.press('Enter');
    await page.getByRole('heading', { name: 'Choose what to receive', level: 1 }).waitFor();
    // Untick two.txt.
    await tabTo(page, (el) => el.type === 'checkbox' && el.label.includes('two.txt'));
    await keys.press('Space');
    // The folder browser: type the parent folder, make a folder there, pick it.
    await tabTo(page, (el) => el.text === 'Choose folder…');
    await keys.press('Enter');
    await tabTo(page, (el) => el.label === 'Folder');
    await keys.press('Control+A');
    await keys.type(parent);
    await keys.press('Enter');
    await page.getByRole('listbox', { name: `Contents of ${parent}` }).waitFor();
    await tabTo(page, (el) => el.text === 'New folder');
    await keys.press('Enter');
    await expect.poll(() => focused(page)).toMatch(/-new$/);
    await keys.type('kept');
    await keys.press('Enter');
    await page.getByRole('option', { name: /kept/, selected: true }).waitFor();
    await tabTo(page, (el) => el.text === 'Save here');
    await keys.press('Enter');
    await page.getByText(path.join(parent, 'kept'), { exact: true }).waitFor();
    await page.getByText(/^Needs about/).waitFor();
    await tabTo(page, (el) => el.text.startsWith('Receive 1 file'));
    await keys.press('Enter');
    await page
      .getByRole('heading', { name: 'Received', level: 1 })
      .waitFor({ timeout: WAIT.transferMs });
    expect(await readFile(path.join(parent, 'kept', 'one.txt'), 'utf8')).toBe('one\n');
    expect(await hashTree(path.join(parent, 'kept'))).toEqual({
      'one.txt': (await hashTree(src))['one.txt'],
    });
    // And Quit, by keyboard too.
    await tabTo(page, (el) => el.text === 'Quit');
    await keys.press('Enter');
    expect((await receiver.waitForExit(WAIT.reactMs)).code).toBe(0);
    expect(wp.problems()).toEqual([]);
    await sender.stop();
  });
  it('starts without an address on the list of senders found, with a field for the address; declining there receives nothing', async () => {
    const src = await makeTempDir('recv-src');
    await writeFile(path.join(src, 'a.txt'), 'alpha\n');
    const sender = await startSender([path.join(src, 'a.txt')], ['--no-encryption']);
    const home = await makeTempDir('recv-home');
    const { receiver, url } = await startReceiveWindow(home, ['--no-encryption']);
    const wp = await openReceivePage(url, 'Receive files');
    const { page } = wp;
    await page.getByRole('heading', { name: 'Senders on this network' }).waitFor();
    await page.getByRole('button', { name: 'Search again' }).waitFor();
    await expect
      .poll(() => page.getByRole('button', { name: 'Search again' }).isEnabled())
      .toBe(true);
    await capture(wp, 'find');
    await page.getByLabel('Or type the address ferry-send shows').fill('not an address:x:y');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByText(/^That is not an address/).waitFor();
    await page.getByLabel('Or type the address ferry-send shows').fill(sender.address);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { name: 'Choose what to receive', level: 1 }).waitFor();
    await page.getByText('Not encrypted').first().waitFor();
    await page.getByRole('button', { name: 'Decline' }).click();
    await page.getByRole('heading', { name: 'Nothing received', level: 1 }).waitFor();
    await page.getByText('You declined the offer: nothing was received.').waitFor();
    await sender.waitForEvent('session-failed', (event) => event.code === 'ERR_DECLINED');
    expect(wp.problems()).toEqual([]);
    receiver.signal('SIGINT');
    await receiver.waitForExit(WAIT.reactMs);
    await sender.stop();
  });
});
