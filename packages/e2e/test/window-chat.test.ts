/**
 * The chat in two windows, in Debian's Chromium, between two real processes: `ferry-send --chat
 * --ui` (the listener) and `ferry-receive --chat --ui` (a joiner, paired with the code in
 * FERRY_CODE). Messages both ways, a file sent to the peer selected and accepted into a folder
 * picked in the folder browser, a declined offer, leaving; hostile names and messages inert. Each
 * screen is scanned with axe-core and photographed at desktop and phone sizes.
 */
import path from 'node:path';
import { joinJson, type JsonChatter, startJsonListener } from '@ferry/testkit/chat';
import { launchBrowser, openWindowPage, type WindowPage } from '@ferry/testkit/browser';
import { spawnCli } from '@ferry/testkit/cli-process';
import { startCutRelay } from '@ferry/testkit/cut-relay';
import {
  hashTree,
  makeTempDir,
  RECEIVE_BIN,
  WAIT,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/harness';
import type { Browser, Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const UI = ['--ui', '--no-open'];

/** The window's address that a process printed first (its `window` event). */
function windowUrl(chatter: JsonChatter): string {
  const first = chatter.events[0];
  expect(first?.event, chatter.process.log.report('the first event is not "window"')).toBe(
    'window',
  );
  return String(first?.url);
}

/** A page at a chat window's address, once it shows who is there. */
async function openChat(browser: Browser, chatter: JsonChatter): Promise<WindowPage> {
  const wp = await openWindowPage(browser);
  wp.page.on('dialog', (dialog) => {
    wp.pageErrors.push(`a dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await wp.page.goto(windowUrl(chatter));
  await wp.page.getByRole('heading', { name: 'Chat with Ferry', level: 1 }).waitFor();
  await wp.page.getByRole('heading', { name: 'Conversation', exact: true }).waitFor();
  return wp;
}

/** alice listening with her window, `name` joined with his; both pages open. */
async function twoWindows(name = 'bob') {
  const alice = await startJsonListener({ args: UI });
  const bob = await joinJson(alice, name, { args: UI });
  await alice.waitForEvent('joined', (e) => e.name === name);
  const browser = await launchBrowser();
  const alicePage = await openChat(browser, alice);
  const bobPage = await openChat(browser, bob);
  return { alice, bob, alicePage, bobPage };
}

/** The button of someone in the list of people. */
function person(page: Page, name: string | RegExp): Locator {
  return page
    .getByRole('list', { name: 'People in the conversation' })
    .getByRole('button', { name });
}

/** The conversation's log on a page. */
function log(page: Page): Locator {
  return page.getByRole('log', { name: 'Messages' });
}

/** Writes `text` in the message field and sends it. */
async function say(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send message' }).click();
}

/** Opens the folder browser of `dialog` at `folder`, once it shows its first folder. */
async function goTo(dialog: Locator, folder: string): Promise<void> {
  await dialog.getByRole('listbox', { name: /^Contents of / }).waitFor();
  await dialog.getByLabel('Folder', { exact: true }).fill(folder);
  await dialog.getByRole('button', { name: 'Go' }).click();
  await dialog.getByRole('listbox', { name: `Contents of ${folder}` }).waitFor();
}

/** Screenshots at both sizes and an axe-core scan with no serious or critical finding. */
async function capture(wp: WindowPage, name: string): Promise<void> {
  expect(await wp.seriousAxeViolations(), `axe on ${name}`).toEqual([]);
  expect(await wp.screenshots(`chat-${name}`)).toHaveLength(2);
}

describe('the chat in two windows', () => {
  it('messages both ways; files sent to the peer selected, accepted into a folder picked, byte-identical; a declined offer on both sides; leaving', async () => {
    const { alice, bob, alicePage, bobPage } = await twoWindows();
    const a = alicePage.page;
    const b = bobPage.page;

    // Who is there, with their key and address.
    const bobButton = person(a, /bob/);
    await bobButton.waitFor();
    expect(await bobButton.textContent()).toMatch(
      /Key [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}/,
    );
    expect(await bobButton.textContent()).toMatch(/Address 127\.0\.0\.1:\d+/);
    await person(b, /alice/).waitFor();

    // A message each way: on the other page, and in the other side's --json.
    await say(a, 'hello bob');
    await log(b).getByText('hello bob').waitFor();
    expect(await bob.waitForMessage('hello bob')).toMatchObject({ from: 'alice', peer: 0 });
    await say(b, 'hi alice');
    await log(a).getByText('hi alice').waitFor();
    expect(await alice.waitForMessage('hi alice')).toMatchObject({ from: 'bob', peer: 1 });
    expect(await a.getByRole('textbox', { name: 'Message' }).inputValue()).toBe('');

    // This side's messages, whichever front-end said them: once in its window, and a `said`
    // event in its --json (the terminal's front-end here).
    expect(await alice.waitForEvent('said', (e) => e.text === 'hello bob')).toMatchObject({
      from: 'alice',
      peer: 0,
    });
    bob.say('from the script');
    await log(b).getByText('from the script').waitFor();
    await log(a).getByText('from the script').waitFor();
    expect(await bob.waitForEvent('said', (e) => e.text === 'from the script')).toMatchObject({
      from: 'bob',
      peer: 1,
    });
    expect(await log(b).getByText('from the script').count()).toBe(1);
    expect(await log(a).getByText('hello bob').count()).toBe(1);
    expect(alice.all('said').map((e) => e.text)).toEqual(['hello bob']);

    // alice sends two files to bob, selected, picked in the file browser.
    const src = await makeTempDir('alice-src');
    await writeRandomFile(path.join(src, 'photo.bin'), 3 * 1024 * 1024 + 7);
    await writeFileAt(src, 'notes.txt', 'notes for bob\n');
    await bobButton.click();
    expect(await bobButton.getAttribute('aria-pressed')).toBe('true');
    await a.getByRole('button', { name: /^Send files to bob/ }).click();
    const files = a.getByRole('dialog', { name: 'Send files to bob' });
    await goTo(files, src);
    await files.getByRole('option', { name: /photo\.bin/ }).click();
    await files.getByRole('option', { name: /notes\.txt/ }).click();
    await alicePage.screenshots('chat-file-browser');
    await files.getByRole('button', { name: 'Send 2 items' }).click();
    await files.waitFor({ state: 'hidden' });

    // bob accepts it into a folder picked with the folder browser.
    const offer = await bob.waitForEvent('offer', (e) => e.from === 'alice');
    expect(offer).toMatchObject({ files: 2 });
    const offers = b.getByRole('region', { name: 'Offers for you' });
    await offers.getByText('photo.bin').waitFor();
    await capture(bobPage, 'offer');
    const into = await makeTempDir('bob-into');
    await offers.getByRole('button', { name: `Accept #${offer.offer}…` }).click();
    const folders = b.getByRole('dialog', { name: `Save #${offer.offer} into a folder` });
    await goTo(folders, into);
    await folders.getByRole('button', { name: 'Save here' }).click();
    await bob.waitForEvent('transfer-done', (e) => e.offer === offer.offer && e.direction === 'in');
    expect(await hashTree(into)).toEqual(await hashTree(src));
    const bobTransfers = b.getByRole('region', { name: 'Transfers' });
    await bobTransfers.getByText('Done').waitFor();
    expect(await bobTransfers.textContent()).toContain(into);
    await a.getByRole('region', { name: 'Transfers' }).getByText('Done').waitFor();
    expect(await offers.count()).toBe(0);

    // An offer declined in bob's window: declined on both sides, nothing written.
    const other = await makeTempDir('alice-other');
    await writeFileAt(other, 'unwanted.txt', 'no thanks\n');
    alice.command({ cmd: 'send', paths: [path.join(other, 'unwanted.txt')], to: 'bob' });
    const second = await bob.waitForEvent('offer', (e) => e.offer !== offer.offer);
    await b.getByRole('button', { name: `Decline #${second.offer}` }).click();
    expect(await alice.waitForEvent('declined')).toMatchObject({
      name: 'bob',
      code: 'ERR_DECLINED',
    });
    await log(b).getByText(`You declined #${second.offer} from`).waitFor();
    await log(a).getByText(`declined #${second.offer}.`).waitFor();
    await a.getByRole('region', { name: 'Transfers' }).getByText('Declined').waitFor();
    expect(await hashTree(into)).toEqual(await hashTree(src));

    await capture(alicePage, 'listener');
    await capture(bobPage, 'joiner');

    // bob leaves from his window; then alice ends the conversation from hers.
    await b.getByRole('button', { name: 'Leave conversation' }).click();
    expect(await bob.waitForExit(), bob.process.log.report('bob')).toEqual({
      code: 0,
      signal: null,
    });
    await b.getByRole('alertdialog', { name: 'Ferry has stopped' }).waitFor();
    expect(await alice.waitForEvent('left')).toMatchObject({ name: 'bob', reason: 'quit' });
    await log(a).getByText(' left.').waitFor();
    await a.getByRole('button', { name: 'End conversation' }).click();
    expect(await alice.waitForExit(), alice.process.log.report('alice')).toEqual({
      code: 0,
      signal: null,
    });
    await a.getByRole('alertdialog', { name: 'Ferry has stopped' }).waitFor();

    expect(alicePage.problems()).toEqual([]);
    expect(bobPage.problems()).toEqual([]);
  });

  it('a joiner given no code is asked for it in its window: a malformed one is refused, the right one pairs', async () => {
    const alice = await startJsonListener({ args: UI });
    const bob = spawnCli(RECEIVE_BIN, ['--chat', '--json', '--name', 'bob', ...UI, alice.address], {
      stdin: 'pipe',
    });
    const opened = await bob.waitForEvent('window', WAIT.startMs);
    expect(bob.events[0]?.event).toBe('window');
    const browser = await launchBrowser();
    const wp = await openWindowPage(browser);
    await wp.page.goto(String(opened.url));
    const field = wp.page.getByLabel('Type the code the other computer shows');
    await field.waitFor();
    await capture(wp, 'code');
    await field.fill('12');
    await wp.page.getByRole('button', { name: 'Join' }).click();
    await wp.page.getByRole('alert').getByText('A pairing code is 8 digits').waitFor();
    await field.fill(alice.sender.code());
    await wp.page.getByRole('button', { name: 'Join' }).click();
    await bob.waitForEvent('chat-ready', WAIT.startMs);
    await person(wp.page, /alice/).waitFor();
    await alice.waitForEvent('joined', (e) => e.name === 'bob');
    bob.child.stdin?.end();
    await wp.page.getByRole('button', { name: 'Leave conversation' }).click();
    expect(await bob.waitForExit(WAIT.startMs), bob.log.report('bob')).toEqual({
      code: 0,
      signal: null,
    });
    expect(wp.problems()).toEqual([]);
  });

  it('a joiner whose connection is cut shows reconnecting, then reconnected, in its window (§13.11)', async () => {
    const alice = await startJsonListener({ args: UI });
    const relay = await startCutRelay(alice.sender.port);
    const bob = await joinJson({ ...alice.sender, address: `127.0.0.1:${relay.port}` }, 'bob', {
      args: UI,
    });
    const browser = await launchBrowser();
    const wp = await openChat(browser, bob);
    await person(wp.page, /alice/).waitFor();
    // Held, the listener's answers cannot come back: bob stays reconnecting until released.
    relay.hold();
    relay.cutNow();
    await bob.waitForEvent('reconnecting');
    await wp.page.getByRole('status').getByText('reconnecting for up to').waitFor();
    await capture(wp, 'reconnecting');
    relay.release();
    await bob.waitForEvent('reconnected');
    await log(wp.page).getByText('Reconnected to').waitFor();
    expect(await wp.page.getByRole('status').getByText('reconnecting for up to').count()).toBe(0);
    await say(wp.page, 'back again');
    await alice.waitForMessage('back again');
    expect(wp.problems()).toEqual([]);
  });

  it('W5: a hostile peer name, message and file name are shown as text and run nothing; a bidi override typed is refused', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const { alice, bob, alicePage, bobPage } = await twoWindows(hostile);
    const a = alicePage.page;
    const b = bobPage.page;

    await person(a, hostile).waitFor();
    const message = `${hostile}<script>alert(2)</script>`;
    await say(b, message);
    await log(a).getByText(message).waitFor();
    expect(await alice.waitForMessage(message)).toMatchObject({ from: hostile });

    const src = await makeTempDir('hostile-src');
    await writeFileAt(src, `${hostile}.txt`, 'x');
    bob.command({ cmd: 'send', paths: [path.join(src, `${hostile}.txt`)] });
    const offers = a.getByRole('region', { name: 'Offers for you' });
    await offers.getByText(`${hostile}.txt`).waitFor();

    // Nothing from the peer became an element.
    expect(await a.locator('main img, main script').count()).toBe(0);
    expect(await b.locator('main img, main script').count()).toBe(0);

    // U+202E cannot travel in chat text: typed in the window, it is refused with plain words.
    await say(b, 'look \u202eereh');
    const refused = b.getByRole('alert');
    await refused.getByText('U+202E').waitFor();
    expect(await refused.textContent()).toContain('change it and send it again');
    await say(b, 'after the refusal');
    await alice.waitForMessage('after the refusal');
    expect(alice.all('message').map((e) => e.text)).not.toContain('look \u202eereh');

    await capture(alicePage, 'hostile');
    expect(alicePage.problems()).toEqual([]);
    expect(bobPage.problems()).toEqual([]);
  });
});
