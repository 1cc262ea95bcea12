/**
 * The sending window in Debian's Chromium, driving a real `ferry-send --ui` process: files
 * picked in its file browser, the code shown, a real `ferry-receive` taking them, its progress
 * and its end seen in the window, a reload mid-transfer, forgetting a remembered receiver, and
 * Stop. Every page is scanned with axe-core and photographed at desktop and phone sizes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type CliProcess, cliEnv, spawnCli } from '@ferry/testkit/cli-process';
import { launchBrowser, openWindowPage, type WindowPage } from '@ferry/testkit/browser';
import {
  digits,
  finishReceiver,
  hashTree,
  listTree,
  makeTempDir,
  RECEIVE_BIN,
  SEND_BIN,
  startReceiver,
  WAIT,
  writeRandomFile,
} from '@ferry/testkit/harness';
import { describe, expect, it } from 'vitest';
import { UI_SENDER_ARGS, UI_RECEIVER_ARGS } from '../src/window-args.ts';

/** `ferry-send --ui --no-open --json` on loopback, its home folder `home`; returns it and the window's address. */
async function startSendWindow(home: string, args: readonly string[] = [], configDir?: string) {
  const sender = spawnCli(SEND_BIN, [...UI_SENDER_ARGS, ...args], {
    env: cliEnv({ HOME: home, USERPROFILE: home }),
    configDir,
  });
  const window = await sender.waitForEvent('window', WAIT.startMs);
  expect(sender.events[0]?.event, sender.log.report('the first event is not "window"')).toBe(
    'window',
  );
  return { sender, url: String(window.url) };
}

/** The window at `url` in a new page, once its screen shows. */
async function openSendPage(url: string): Promise<WindowPage> {
  const browser = await launchBrowser();
  const wp = await openWindowPage(browser);
  await wp.page.goto(url);
  await wp.page.getByRole('heading', { name: 'What you offer' }).waitFor();
  return wp;
}

/** Picks `names` in the home folder with the window's file browser and adds them. */
async function addInBrowser(wp: WindowPage, names: readonly string[]): Promise<void> {
  const { page } = wp;
  await page.getByRole('button', { name: 'Add files…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add files and folders' });
  for (const name of names)
    await dialog.getByRole('option', { name: new RegExp(`^\\S*\\s*${name}`) }).click();
  await dialog
    .getByRole('button', { name: names.length > 1 ? `Add ${names.length} items` : 'Add' })
    .click();
  await dialog.waitFor({ state: 'hidden' });
}

/**
 * Drops files from "the desktop" on the offer's drop zone: a DataTransfer made in the page with
 * `new File([...], name)`, dispatched as dragenter, dragover and drop, as Chromium does for a real
 * drag. Contents go as base64.
 */
async function dropFiles(wp: WindowPage, files: Record<string, Buffer>): Promise<void> {
  const encoded = Object.entries(files).map(([name, bytes]) => [name, bytes.toString('base64')]);
  // A script, not a function: this package is compiled without the DOM's types.
  await wp.page.evaluate(`(() => {
    const zone = document.querySelector('.send-dropzone');
    const data = new DataTransfer();
    for (const [name, base64] of ${JSON.stringify(encoded)}) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      data.items.add(new File([bytes], name));
    }
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
    }
  })()`);
}

/**
 * Drops a folder: Chromium's synthetic DataTransfer cannot hold directory entries, so its one item
 * answers `webkitGetAsEntry()` with a folder entry made here (the shape Chromium gives a real
 * dropped folder: `createReader().readEntries` in batches until an empty one, `file()` on each
 * file entry) for as long as the drop event runs. `files` are named by their path below it.
 */
async function dropFolder(wp: WindowPage, name: string, files: Record<string, Buffer>) {
  const encoded = Object.entries(files).map(([p, bytes]) => [p, bytes.toString('base64')]);
  await wp.page.evaluate(`(() => {
    const root = { children: new Map() };
    for (const [relative, base64] of ${JSON.stringify(encoded)}) {
      const parts = relative.split('/');
      let node = root;
      for (const part of parts.slice(0, -1)) {
        if (!node.children.has(part)) node.children.set(part, { children: new Map() });
        node = node.children.get(part);
      }
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      node.children.set(parts.at(-1), new File([bytes], parts.at(-1)));
    }
    const entry = (name, fullPath, node) => node instanceof File
      ? { isFile: true, isDirectory: false, name, fullPath, file: (ok) => setTimeout(() => ok(node)) }
      : { isFile: false, isDirectory: true, name, fullPath, createReader() {
          // One entry per batch, then an empty one: as readEntries answers a large folder.
          const left = [...node.children].map(([n, child]) => entry(n, fullPath + '/' + n, child));
          return { readEntries: (ok) => setTimeout(() => ok(left.splice(0, 1))) };
        } };
    const folder = entry(${JSON.stringify(name)}, '/' + ${JSON.stringify(name)}, root);
    const data = new DataTransfer();
    data.items.add(new File([], ${JSON.stringify(name)}));
    const real = DataTransferItem.prototype.webkitGetAsEntry;
    DataTransferItem.prototype.webkitGetAsEntry = function () { return folder; };
    try {
      const zone = document.querySelector('.send-dropzone');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
      }
    } finally {
      DataTransferItem.prototype.webkitGetAsEntry = real;
    }
  })()`);
}

/** The pairing code the sender printed last, as `1234-5678`. */
function lastCode(sender: CliProcess): string {
  const code = sender.events.filter((e) => e.event === 'code').at(-1)?.code;
  if (typeof code !== 'string') throw new Error(sender.log.report('no pairing code yet'));
  return code;
}

/** The `listening` event's port. */
async function listeningPort(sender: CliProcess): Promise<number> {
  const listening = await sender.waitForEvent('listening', WAIT.startMs);
  return Number(listening.port);
}

describe('the sending window (ferry-send --ui)', () => {
  it('sends the files picked in its file browser to a real ferry-receive, shows the code, the receiver taking them and done; forgets the remembered receiver', async () => {
    const home = await makeTempDir('send-home');
    await writeFile(path.join(home, 'a.txt'), 'alpha\n');
    await mkdir(path.join(home, 'photos'));
    await writeRandomFile(path.join(home, 'photos', 'x.bin'), 300_000);
    await writeFile(path.join(home, 'photos', 'y.txt'), 'why\n');
    await writeFile(path.join(home, '.hidden'), 'not shown');
    const expected = await hashTree(home);
    delete expected['.hidden'];
    const { sender, url } = await startSendWindow(home, ['--remember']);
    const wp = await openSendPage(url);
    const { page } = wp;
    // Nothing offered yet: ferry-send waits for files before it listens.
    await page.getByText('Add files first').waitFor();
    expect(sender.events.some((e) => e.event === 'listening')).toBe(false);
    expect(await wp.seriousAxeViolations()).toEqual([]);
    await wp.screenshots('send-empty');

    await page.getByRole('button', { name: 'Add files…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add files and folders' });
    await dialog.getByRole('option', { name: /a\.txt/ }).waitFor();
    expect(await dialog.getByRole('option', { name: /\.hidden/ }).count()).toBe(0);
    await dialog.getByRole('checkbox', { name: 'Show hidden files' }).check();
    await dialog.getByRole('option', { name: /\.hidden/ }).waitFor();
    await dialog.getByRole('checkbox', { name: 'Show hidden files' }).uncheck();
    await dialog.getByRole('option', { name: /\.hidden/ }).waitFor({ state: 'detached' });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await addInBrowser(wp, ['a.txt', 'photos']);

    const items = page.locator('.send-item');
    await expect.poll(() => items.count()).toBe(2);
    expect(await items.nth(0).textContent()).toContain('a.txt');
    expect(await items.nth(1).textContent()).toContain('Folder, 2 files');
    expect(await page.locator('.send-total').textContent()).toMatch(
      /Total: 3 files, 293 KiB in 2 items/,
    );

    const port = await listeningPort(sender);
    await sender.waitForEvent('code', WAIT.startMs);
    const code = lastCode(sender);
    await expect.poll(() => page.locator('.code-digits').textContent()).toBe(digits(code));
    const command = `ferry-receive 127.0.0.1:${port}`;
    expect(await page.locator('.send-address code').first().textContent()).toBe(command);
    const listening = sender.events.find((e) => e.event === 'listening')!;
    expect(await page.locator('.send-pairing .fingerprint code').textContent()).toBe(
      listening.fingerprint,
    );
    expect(await wp.seriousAxeViolations()).toEqual([]);
    await wp.screenshots('send-offer');

    const out = await makeTempDir('send-out');
    const receiver = await startReceiver(
      ['--yes', '--json', '--name', 'bob', '--out', out, `127.0.0.1:${port}`],
      { code },
    );
    const run = await finishReceiver(receiver, WAIT.transferMs);
    expect(run.code, run.report('the receiver failed')).toBe(0);
    expect(await hashTree(out)).toEqual(expected);

    const card = page.locator('.send-receiver').first();
    await expect.poll(() => card.locator('.badge').textContent()).toBe('Done');
    const text = await card.textContent();
    expect(text).toContain('#1');
    expect(text).toContain('bob');
    expect(text).toContain('Paired with the code');
    expect(text).toMatch(/Took 3 files \(293 KiB\)/);
    expect(text).toContain('it needs no code next time');
    expect(await wp.seriousAxeViolations()).toEqual([]);
    await wp.screenshots('send-done');

    // Remembered after pairing (--remember): forgotten from the window, and from the file.
    const remembered = page.locator('.send-remembered li');
    await expect.poll(() => remembered.count()).toBe(1);
    expect(await remembered.first().textContent()).toContain('bob@127.0.0.1');
    await page.getByRole('button', { name: 'Forget bob@127.0.0.1' }).click();
    await expect.poll(() => remembered.count()).toBe(0);
    const trusted = JSON.parse(
      await readFile(path.join(sender.configDir, 'trusted-receivers.json'), 'utf8'),
    );
    expect(trusted.peers).toEqual([]);
    expect(wp.problems()).toEqual([]);
  });

  it('moves files through both windows between two real processes: picked in the sending window, the code read there and typed in the receiving one, a folder made there; byte-identical', async () => {
    const home = await makeTempDir('send-home');
    await writeFile(path.join(home, 'a.txt'), 'alpha\n');
    await mkdir(path.join(home, 'photos'));
    await writeRandomFile(path.join(home, 'photos', 'x.bin'), 200_000);
    const expected = await hashTree(home);
    const { sender, url } = await startSendWindow(home);
    const send = await openSendPage(url);
    await addInBrowser(send, ['a.txt', 'photos']);
    const port = await listeningPort(sender);
    const digitsShown = send.page.locator('.code-digits');
    await expect.poll(() => digitsShown.textContent()).toMatch(/^\d{8}$/);
    const shown = (await digitsShown.textContent())!;

    const receiveHome = await makeTempDir('recv-home');
    const receiver = spawnCli(RECEIVE_BIN, [...UI_RECEIVER_ARGS, `127.0.0.1:${port}`], {
      env: cliEnv({ HOME: receiveHome, USERPROFILE: receiveHome }),
    });
    const receiveUrl = String((await receiver.waitForEvent('window', WAIT.startMs)).url);
    const browser = await launchBrowser();
    const receive = await openWindowPage(browser);
    const page = receive.page;
    await page.goto(receiveUrl);
    await page.getByRole('heading', { name: 'Pairing code', level: 1 }).waitFor();
    await page
      .getByRole('textbox', { name: 'Pairing code' })
      .fill(`${shown.slice(0, 4)}-${shown.slice(4)}`);
    await page.getByRole('button', { name: 'Pair' }).click();
    await page.getByRole('heading', { name: 'Choose what to receive', level: 1 }).waitFor();
    // The sending window sees it paired and choosing.
    const card = send.page.locator('.send-receiver').first();
    await expect.poll(() => card.locator('.badge').textContent()).toBe('Choosing');

    await page.getByRole('button', { name: 'Choose folder…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose the folder to save into' });
    await dialog.getByLabel('Folder', { exact: true }).fill(receiveHome);
    await dialog.getByRole('button', { name: 'Go' }).click();
    await dialog.getByRole('listbox', { name: `Contents of ${receiveHome}` }).waitFor();
    await dialog.getByRole('button', { name: 'New folder' }).click();
    await dialog.getByLabel('New folder name').fill('from-alice');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByRole('option', { name: /from-alice/, selected: true }).waitFor();
    await dialog.getByRole('button', { name: 'Save here' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const out = path.join(receiveHome, 'from-alice');
    await page.getByText(out, { exact: true }).waitFor();
    await page.getByRole('button', { name: /^Receive 2 files/ }).click();
    await page
      .getByRole('heading', { name: 'Received', level: 1 })
      .waitFor({ timeout: WAIT.transferMs });
    expect(await hashTree(out)).toEqual(expected);
    await expect.poll(() => card.locator('.badge').textContent()).toBe('Done');
    expect(await card.textContent()).toMatch(/Took 2 files/);
    await page.getByRole('button', { name: 'Quit' }).click();
    expect((await receiver.waitForExit(WAIT.reactMs)).code, receiver.log.report('Quit')).toBe(0);
    expect(send.problems()).toEqual([]);
    expect(receive.problems()).toEqual([]);
  });

  it('shows a receiver where its transfer is after a reload mid-transfer, then done', async () => {
    const home = await makeTempDir('send-home');
    // Sparse on this side: 1 GiB costs no disk here, and the transfer lasts.
    const big = path.join(home, 'big.bin');
    const handle = await open(big, 'w');
    await handle.truncate(1024 * 1024 * 1024);
    await handle.close();
    const { sender, url } = await startSendWindow(home, [big]);
    const port = await listeningPort(sender);
    await sender.waitForEvent('code', WAIT.startMs);
    const wp = await openSendPage(url);
    const { page } = wp;
    const out = await makeTempDir('send-out');
    const receiver = await startReceiver(['--yes', '--json', '--out', out, `127.0.0.1:${port}`], {
      code: lastCode(sender),
    });
    await receiver.waitForEvent('progress', WAIT.startMs);
    // Held still (SIGSTOP) so that the reload happens mid-transfer whatever the machine's speed.
    receiver.signal('SIGSTOP');
    try {
      const card = page.locator('.send-receiver').first();
      await expect.poll(() => card.locator('.badge').textContent()).toBe('Taking files');
      await card.locator('progress').waitFor();
      const before = Number(await card.locator('progress').getAttribute('value'));
      await page.reload();
      await page.getByRole('heading', { name: 'Receivers (1 active)' }).waitFor();
      const again = page.locator('.send-receiver').first();
      await expect.poll(() => again.locator('.badge').textContent()).toBe('Taking files');
      expect(await again.textContent()).toMatch(/Taking 1 file \(1\.00 GiB\)/);
      expect(Number(await again.locator('progress').getAttribute('value'))).toBeGreaterThanOrEqual(
        before,
      );
      expect(await again.locator('.progress-detail').textContent()).toMatch(/ of 1\.00 GiB/);
      await wp.screenshots('send-transferring');
    } finally {
      receiver.signal('SIGCONT');
    }
    const run = await finishReceiver(receiver, WAIT.bigTransferMs);
    expect(run.code, run.report('the receiver failed')).toBe(0);
    await expect
      .poll(() => page.locator('.send-receiver .badge').first().textContent(), {
        timeout: WAIT.reactMs,
      })
      .toBe('Done');
    expect(wp.problems()).toEqual([]);
  });

  it('offers files added after it listens to the receivers that come next, and by its link (--link): URLs, QR code and SHA256SUMS follow', async () => {
    const home = await makeTempDir('send-home');
    await writeFile(path.join(home, 'a.txt'), 'alpha\n');
    await writeFile(path.join(home, 'b.txt'), 'bravo\n');
    const { sender, url } = await startSendWindow(home, ['--link', path.join(home, 'a.txt')]);
    const port = await listeningPort(sender);
    await sender.waitForEvent('code', WAIT.startMs);
    const link = await sender.waitForEvent('link', WAIT.startMs);
    const linkUrl = (link.urls as string[])[0]!;
    const wp = await openSendPage(url);
    const { page } = wp;
    await page.getByRole('heading', { name: 'Share by link' }).waitFor();
    await expect
      .poll(() => page.locator('.send-addresses code', { hasText: '/t/' }).first().textContent())
      .toBe(linkUrl);
    await page.locator('img.send-qr').waitFor();
    expect(await page.locator('img.send-qr').getAttribute('src')).toMatch(/^data:image\/svg\+xml;/);

    await addInBrowser(wp, ['b.txt']);
    await expect.poll(() => page.locator('.send-item').count()).toBe(2);
    const sums = await (await fetch(`${linkUrl}SHA256SUMS`)).text();
    expect(
      sums
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('  ')[1]),
    ).toEqual(['a.txt', 'b.txt']);

    const out = await makeTempDir('send-out');
    const receiver = await startReceiver(['--yes', '--json', '--out', out, `127.0.0.1:${port}`], {
      code: lastCode(sender),
    });
    const run = await finishReceiver(receiver, WAIT.transferMs);
    expect(run.code, run.report('the receiver failed')).toBe(0);
    expect(Object.keys(await hashTree(out)).sort()).toEqual(['a.txt', 'b.txt']);
    await expect
      .poll(() => page.locator('.send-receiver .badge').first().textContent())
      .toBe('Done');
    expect(await wp.seriousAxeViolations()).toEqual([]);
    await wp.screenshots('send-link');
    expect(wp.problems()).toEqual([]);
  });

  it('W9: files and a folder dropped from the desktop are added to the offer (two of one name kept apart) and reach a real ferry-receive byte-identical; a bad name is refused in plain words; the staged copies go when it stops', async () => {
    const home = await makeTempDir('send-home');
    // The sender stages dropped files in its temporary folder: this one, to see it emptied.
    const temp = await makeTempDir('send-tmp');
    const sender = spawnCli(SEND_BIN, [...UI_SENDER_ARGS], {
      env: cliEnv({ HOME: home, USERPROFILE: home, TMPDIR: temp, TMP: temp, TEMP: temp }),
    });
    const url = String((await sender.waitForEvent('window', WAIT.startMs)).url);
    const wp = await openSendPage(url);
    const { page } = wp;
    await page.getByText('Or drop files and folders here').waitFor();
    const notes = Buffer.from('alpha\n');
    const data = randomBytes(300_000);
    const again = Buffer.from('a second notes.txt\n');

    await dropFiles(wp, { 'notes.txt': notes, 'data.bin': data });
    const items = page.locator('.send-item');
    await expect.poll(() => items.count()).toBe(2);
    await page.getByText('Added 2 dropped items to the offer.').waitFor();
    // Dropped files are offered like picked ones: ferry-send starts listening with them.
    const listening = await sender.waitForEvent('listening', WAIT.startMs);
    expect(listening).toMatchObject({ files: 2, bytes: notes.length + data.length });
    await dropFiles(wp, { 'notes.txt': again });
    await expect.poll(() => items.count()).toBe(3);
    expect(await items.nth(2).textContent()).toContain('notes (2).txt');
    // A folder keeps its tree.
    const deep = randomBytes(70_000);
    await dropFolder(wp, 'album', {
      'one.txt': Buffer.from('one\n'),
      'trip/2024/deep.bin': deep,
      'trip/two.txt': Buffer.from('two\n'),
    });
    await expect.poll(() => items.count()).toBe(4);
    expect(await items.nth(3).textContent()).toContain('Folder, 3 files');
    expect(await page.locator('.send-total').textContent()).toMatch(/Total: 6 files/);
    expect(await wp.seriousAxeViolations()).toEqual([]);
    await wp.screenshots('send-dropped');

    // A name no receiver could be given is refused, and the page says why and what to do.
    await dropFiles(wp, { 'bidi\u202Etxt.exe': Buffer.from('x') });
    const error = page.getByRole('alert').filter({ hasText: 'The dropped files were not added' });
    await error.waitFor();
    expect(await error.textContent()).toMatch(/This name cannot be offered: .*Rename it/);
    expect(await error.textContent()).toContain('Nothing was added to the offer.');
    expect(await items.count()).toBe(4);
    expect(wp.refusedActions).toHaveLength(1);

    const out = await makeTempDir('send-out');
    const receiver = await startReceiver(
      ['--yes', '--json', '--out', out, `127.0.0.1:${Number(listening.port)}`],
      { code: lastCode(sender) },
    );
    const run = await finishReceiver(receiver, WAIT.transferMs);
    expect(run.code, run.report('the receiver failed')).toBe(0);
    expect(await readFile(path.join(out, 'notes.txt'))).toEqual(notes);
    expect(await readFile(path.join(out, 'data.bin'))).toEqual(data);
    expect(await readFile(path.join(out, 'notes (2).txt'))).toEqual(again);
    expect(await readFile(path.join(out, 'album', 'trip', '2024', 'deep.bin'))).toEqual(deep);
    expect(await readFile(path.join(out, 'album', 'trip', 'two.txt'), 'utf8')).toBe('two\n');
    expect(await readFile(path.join(out, 'album', 'one.txt'), 'utf8')).toBe('one\n');
    expect((await readdir(out)).sort()).toEqual([
      'album',
      'data.bin',
      'notes (2).txt',
      'notes.txt',
    ]);

    expect((await readdir(temp)).filter((name) => name.startsWith('ferry-drop-'))).toHaveLength(1);
    await page.getByRole('button', { name: 'Stop Ferry' }).click();
    await page
      .getByRole('dialog', { name: 'Stop Ferry?' })
      .getByRole('button', { name: 'Stop', exact: true })
      .click();
    expect((await sender.waitForExit(WAIT.reactMs)).code, sender.log.report('Stop')).toBe(0);
    expect((await readdir(temp)).filter((name) => name.startsWith('ferry-drop-'))).toEqual([]);
    expect(wp.problems()).toEqual([]);
  });

  it('W9: a large drop shows its progress while it is taken, and Cancel stops it with nothing added or kept', async () => {
    const home = await makeTempDir('send-home');
    const temp = await makeTempDir('send-tmp');
    const sender = spawnCli(SEND_BIN, [...UI_SENDER_ARGS], {
      env: cliEnv({ HOME: home, USERPROFILE: home, TMPDIR: temp, TMP: temp, TEMP: temp }),
    });
    const url = String((await sender.waitForEvent('window', WAIT.startMs)).url);
    const wp = await openSendPage(url);
    const { page } = wp;
    await page.getByText('Or drop files and folders here').waitFor();
    // Held still (SIGSTOP), ferry-send takes no byte more than the sockets hold: the drop is
    // seen mid-way whatever the machine's speed.
    sender.signal('SIGSTOP');
    try {
      await page.evaluate(`(() => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(256 * 1024 * 1024)], 'big.iso'));
        const zone = document.querySelector('.send-dropzone');
        for (const type of ['dragenter', 'dragover', 'drop']) {
          zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
        }
      })()`);
      const progress = page.locator('.send-drop-progress');
      await progress.waitFor();
      expect(await progress.textContent()).toMatch(/Taking 1 dropped file.* of 256 MiB/);
      expect(await progress.getByRole('progressbar').getAttribute('aria-label')).toBe(
        'Taking 1 dropped file',
      );
      expect(await wp.seriousAxeViolations()).toEqual([]);
      await wp.screenshots('send-dropping');
      await progress.getByRole('button', { name: 'Cancel' }).click();
      const error = page.getByRole('alert').filter({ hasText: 'The dropped files were not added' });
      await error.waitFor();
      expect(await error.textContent()).toContain('Cancelled: nothing was added.');
    } finally {
      sender.signal('SIGCONT');
    }
    expect(await page.locator('.send-item').count()).toBe(0);
    expect(sender.events.some((e) => e.event === 'listening')).toBe(false);
    // ferry-send, running again, sees the upload cut short and keeps nothing of it: a drop
    // after it is all there is.
    await dropFiles(wp, { 'small.txt': Buffer.from('small\n') });
    await expect.poll(() => page.locator('.send-item').count()).toBe(1);
    await expect
      .poll(() => listTree(temp))
      .toEqual([
        expect.stringMatching(/^ferry-drop-[^/]+$/),
        expect.stringMatching(/^ferry-drop-[^/]+\/small\.txt$/),
      ]);
    expect(wp.problems()).toEqual([]);
  });

  it('W9: the terminal says a drop changed the offer as it says it for Add files', async () => {
    const home = await makeTempDir('send-home');
    await writeFile(path.join(home, 'a.txt'), 'alpha\n');
    await writeFile(path.join(home, 'b.txt'), 'bravo\n');
    const textArgs = UI_SENDER_ARGS.filter((arg) => arg !== '--json');
    const sender = spawnCli(SEND_BIN, [...textArgs, path.join(home, 'a.txt')], {
      env: cliEnv({ HOME: home, USERPROFILE: home }),
    });
    const url = await sender.log.waitFor(
      "the window's address",
      () => /http:\/\/127\.0\.0\.1:\d+\/\?t=\S+/.exec(sender.log.stdout)?.[0],
      WAIT.startMs,
    );
    const wp = await openSendPage(url);
    const saying = (line: string) =>
      sender.log.waitFor(line, () => sender.log.stdout.includes(line) || undefined, WAIT.reactMs);
    await dropFiles(wp, { 'notes.txt': Buffer.from('dropped\n') });
    await saying('Now offering 2 files (14 B) in 2 items to receivers that connect from now on.');
    await addInBrowser(wp, ['b.txt']);
    await saying('Now offering 3 files (20 B) in 3 items to receivers that connect from now on.');
    expect(wp.problems()).toEqual([]);
  });

  it('W5: a receiver named with markup and a direction override is shown as inert text in the window', async () => {
    const home = await makeTempDir('send-home');
    await writeFile(path.join(home, 'a.txt'), 'alpha\n');
    const { sender, url } = await startSendWindow(home, [path.join(home, 'a.txt')]);
    const port = await listeningPort(sender);
    await sender.waitForEvent('code', WAIT.startMs);
    const wp = await openSendPage(url);
    const { page } = wp;
    const hostile = '<img src=x onerror=alert(1)><script>alert(2)</script>\u202Etxt.exe';
    const out = await makeTempDir('send-out');
    const receiver = await startReceiver(
      ['--yes', '--json', '--name', hostile, '--out', out, `127.0.0.1:${port}`],
      { code: lastCode(sender) },
    );
    const run = await finishReceiver(receiver, WAIT.transferMs);
    expect(run.code, run.report('the receiver failed')).toBe(0);
    const card = page.locator('.send-receiver').first();
    await expect.poll(() => card.locator('.badge').textContent()).toBe('Done');
    // Escaped as the terminal shows it; cut on the screen, whole in its title.
    const name = card.locator('.send-receiver-name');
    const escaped = '<img src=x onerror=alert(1)><script>alert(2)</script>\\u{202e}txt.exe';
    expect(await name.getAttribute('title')).toBe(escaped);
    expect(escaped.startsWith(((await name.textContent()) ?? '').replace(/…$/, ''))).toBe(true);
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(wp.problems()).toEqual([]);
  });

  it('W8: Stop in the window ends ferry-send with exit code 0, and the page says Ferry has stopped', async () => {
    const home = await makeTempDir('send-home');
    await writeFile(path.join(home, 'a.txt'), 'alpha\n');
    const { sender, url } = await startSendWindow(home, [path.join(home, 'a.txt')]);
    await sender.waitForEvent('listening', WAIT.startMs);
    const wp = await openSendPage(url);
    const { page } = wp;
    await page.getByRole('button', { name: 'Stop Ferry' }).click();
    const confirm = page.getByRole('dialog', { name: 'Stop Ferry?' });
    expect(await wp.seriousAxeViolations()).toEqual([]);
    await confirm.getByRole('button', { name: 'Stop', exact: true }).click();
    const exit = await sender.waitForExit(WAIT.reactMs);
    expect(exit, sender.log.report('ferry-send did not exit with 0')).toMatchObject({
      code: 0,
      signal: null,
    });
    expect(sender.events.at(-1)).toEqual({ event: 'stopped', reason: 'window' });
    const overlay = page.getByRole('alertdialog', { name: 'Ferry has stopped' });
    await overlay.waitFor();
    expect(await overlay.textContent()).toContain('ferry-send --ui');
    await wp.screenshots('send-stopped');
    expect(wp.problems()).toEqual([]);
  });
});
