import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onCleanup } from '@ferry/testkit/cleanup';
import { spawnCli, spawnLogged } from '@ferry/testkit/cli-process';
import {
  assertExit,
  cliEnv,
  hashFile,
  hashTree,
  makeTempDir,
  type RunningSender,
  receiveAll,
  SEND_BIN,
  startSender,
  WAIT,
  writeFileAt,
  writeRandomFile,
} from '@ferry/testkit/harness';
import { decodeTerminalQr, qrLinesIn } from '@ferry/testkit/qr';
import { fetchLinkPage, type LinkPage } from '../src/link-page.ts';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;

/** No proxy from the environment may stand between a client and the sender on loopback. */
const CLIENT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  LC_ALL: 'C.UTF-8',
  http_proxy: '',
  HTTP_PROXY: '',
  https_proxy: '',
  HTTPS_PROXY: '',
  all_proxy: '',
  ALL_PROXY: '',
  no_proxy: '*',
};
const CURL = ['--silent', '--show-error', '--fail', '--noproxy', '*', '--max-time', '600'];
const WGET = ['--quiet', '--no-proxy', '--tries=1', '--timeout=60'];
/** Debian's Chromium, which `scripts/system-deps.mjs` installs. */
const CHROMIUM = '/usr/bin/chromium';

/** Runs a client program to its exit (bounded), in `cwd`; fails with its output unless it exits 0. */
async function client(
  file: string,
  args: readonly string[],
  cwd?: string,
  timeoutMs: number = WAIT.transferMs,
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, {
      cwd,
      env: CLIENT_ENV,
      timeout: timeoutMs,
      maxBuffer: 16 * MiB,
    });
    return stdout;
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${file} ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`,
    );
  }
}

/** Unzips `archive` into `dir` after `unzip -t` has checked every entry's CRC. */
async function unzipChecked(archive: string, dir: string): Promise<void> {
  const tested = await client('unzip', ['-t', archive]);
  expect(tested).toContain('No errors detected');
  await client('unzip', ['-q', archive, '-d', dir]);
}

/** A tree as hashTree lists it, under `prefix/`, with `prefix` itself as a folder. */
function under(
  prefix: string,
  tree: Awaited<ReturnType<typeof hashTree>>,
): Awaited<ReturnType<typeof hashTree>> {
  return Object.fromEntries([
    [prefix, { kind: 'dir' as const }],
    ...Object.entries(tree).map(([relative, entry]) => [`${prefix}/${relative}`, entry]),
  ]);
}

/** The link's first URL, from the sender's `link` event. */
async function linkUrl(sender: RunningSender): Promise<string> {
  const event = await sender.waitForEvent('link', undefined, WAIT.startMs);
  const urls = event.urls as string[];
  expect(urls.length).toBeGreaterThan(0);
  return urls[0]!;
}

/** The SHA-256 of what `curl <url>` writes to stdout, streamed (nothing written to disk). */
function curlDigest(url: string, timeoutMs: number): Promise<{ size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', [...CURL, url], {
      env: CLIENT_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup('curl', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`curl ${url} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    const hash = createHash('sha256');
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      hash.update(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ size, sha256: hash.digest('hex') });
      else reject(new Error(`curl ${url} exited ${code}: ${stderr}`));
    });
  });
}

/**
 * A new empty folder under the OS temp folder with no node_modules in it or above it, as on a
 * machine without Ferry.
 */
async function emptyFolderAlone(label: string): Promise<string> {
  const dir = await makeTempDir(label);
  for (let up = dir; ; up = path.dirname(up)) {
    if (existsSync(path.join(up, 'node_modules')))
      throw new Error(`${up} has a node_modules folder: the test needs a folder without one`);
    if (path.dirname(up) === up) break;
  }
  return dir;
}

describe('ferry-send --link, downloaded by curl, wget and Chromium', () => {
  const FILE = 'Bericht über Öl & "Gas" 2026.bin';
  const FOLDER = 'Album été';
  const RESUMABLE = 'resumable.bin';
  /** Big enough that the sockets' buffers on loopback cannot take it all at once. */
  const RESUMABLE_BYTES = 64 * MiB;
  let src = '';
  let sender: RunningSender;
  let pageUrl = '';
  let page: LinkPage;
  let browser: Browser | undefined;

  beforeAll(async () => {
    src = await makeTempDir('link-src');
    await writeRandomFile(path.join(src, FILE), 3 * MiB + 17);
    const album = path.join(src, FOLDER);
    await writeRandomFile(path.join(album, 'Strand', 'bild 1.jpg'), MiB + 5);
    await writeFileAt(album, 'Strand/bild 2.jpg', randomBytes(70_001));
    await writeFileAt(album, '日本語/ファイル.txt', 'こんにちは\n');
    await writeFileAt(album, 'a/b/c/tief.txt', 'tief\n');
    await writeFileAt(album, 'leer.txt', '');
    await fs.mkdir(path.join(album, 'leerer Ordner'));
    await fs.mkdir(path.join(album, 'a', 'b', 'auch leer'));
    await writeRandomFile(path.join(src, RESUMABLE), RESUMABLE_BYTES);
    sender = await startSender(
      [path.join(src, FILE), album, path.join(src, RESUMABLE)],
      ['--link'],
    );
    pageUrl = await linkUrl(sender);
    page = await fetchLinkPage(pageUrl);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('curl downloads a file byte for byte, and a folder as a zip that unzip -t accepts and unzips to the same files', async () => {
    const out = await makeTempDir('link-curl');
    await client('curl', [...CURL, '-o', path.join(out, 'file.bin'), page.file(FILE)]);
    expect(await hashFile(path.join(out, 'file.bin'))).toEqual(
      await hashFile(path.join(src, FILE)),
    );

    const archive = path.join(out, 'album.zip');
    await client('curl', [...CURL, '-o', archive, page.zip(`${FOLDER}.zip`)]);
    const unzipped = await makeTempDir('link-curl-unzipped');
    await unzipChecked(archive, unzipped);
    expect(await hashTree(unzipped)).toEqual(under(FOLDER, await hashTree(path.join(src, FOLDER))));
  });

  it('wget downloads a file byte for byte, and a folder as a zip that unzip -t accepts and unzips to the same files', async () => {
    const out = await makeTempDir('link-wget');
    await client('wget', [...WGET, '-O', path.join(out, 'file.bin'), page.file(FILE)]);
    expect(await hashFile(path.join(out, 'file.bin'))).toEqual(
      await hashFile(path.join(src, FILE)),
    );

    const archive = path.join(out, 'album.zip');
    await client('wget', [...WGET, '-O', archive, page.zip(`${FOLDER}.zip`)]);
    const unzipped = await makeTempDir('link-wget-unzipped');
    await unzipChecked(archive, unzipped);
    expect(await hashTree(unzipped)).toEqual(under(FOLDER, await hashTree(path.join(src, FOLDER))));
  });

  it("headless Chromium downloads a file and a folder's zip through the page's links, under their own names", async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--no-proxy-server'],
      timeout: WAIT.startMs,
    });
    const context = await browser.newContext({ acceptDownloads: true });
    const tab = await context.newPage();
    tab.setDefaultTimeout(WAIT.transferMs);
    await tab.goto(pageUrl);
    const out = await makeTempDir('link-chromium');

    const [fileDownload] = await Promise.all([
      tab.waitForEvent('download'),
      tab.getByText(FILE, { exact: true }).click(),
    ]);
    // The name comes through Content-Disposition's filename*, non-ASCII included; Chromium
    // itself turns the quotes into underscores, as for any download.
    expect(fileDownload.suggestedFilename()).toBe(FILE.replaceAll('"', '_'));
    await fileDownload.saveAs(path.join(out, 'file.bin'));
    expect(await fileDownload.failure()).toBeNull();
    expect(await hashFile(path.join(out, 'file.bin'))).toEqual(
      await hashFile(path.join(src, FILE)),
    );

    // The offer's one top-level folder has the page's one zip link.
    const [zipDownload] = await Promise.all([
      tab.waitForEvent('download'),
      tab.locator('a[href^="z/"]').click(),
    ]);
    expect(zipDownload.suggestedFilename()).toBe(`${FOLDER}.zip`);
    const archive = path.join(out, 'album.zip');
    await zipDownload.saveAs(archive);
    expect(await zipDownload.failure()).toBeNull();
    const unzipped = await makeTempDir('link-chromium-unzipped');
    await unzipChecked(archive, unzipped);
    expect(await hashTree(unzipped)).toEqual(under(FOLDER, await hashTree(path.join(src, FOLDER))));
  });

  it('curl -C - resumes an interrupted download with a range, to the same bytes', async () => {
    const out = await makeTempDir('link-resume');
    const part = path.join(out, RESUMABLE);
    const url = page.file(RESUMABLE);
    const before = sender.events.length;
    const slow = spawnLogged('curl', [...CURL, '--limit-rate', '4M', '-o', part, url], {
      label: 'curl',
      env: CLIENT_ENV,
    });
    const started = await sender.waitForEvent(
      'download-start',
      (event) => event.what === RESUMABLE && sender.events.indexOf(event) >= before,
    );
    // Cut once a good part has come through (more than the sockets' buffers hold), and well
    // before the end.
    await sender.waitForEvent(
      'download-progress',
      (event) => event.id === started.id && Number(event.bytes) >= 16 * MiB,
    );
    slow.signal('SIGKILL');
    await slow.waitForExit(WAIT.reactMs);
    const done = await sender.waitForEvent(
      'download-done',
      (event) => event.id === started.id,
      WAIT.reactMs,
    );
    expect(done.complete).toBe(false);
    const kept = (await fs.stat(part)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(RESUMABLE_BYTES);

    await client('curl', [...CURL, '-C', '-', '-o', part, url]);
    expect(await hashFile(part)).toEqual(await hashFile(path.join(src, RESUMABLE)));
    const resumed = await sender.waitForEvent(
      'download-start',
      (event) =>
        event.what === RESUMABLE && (event.range as { start?: number } | undefined)?.start === kept,
    );
    expect(resumed.range).toEqual({ start: kept, end: RESUMABLE_BYTES - 1 });
    const finished = await sender.waitForEvent('download-done', (event) => event.id === resumed.id);
    expect(finished).toMatchObject({ complete: true, bytes: RESUMABLE_BYTES - kept });
  });

  it('sha256sum -c accepts the served SHA256SUMS for the downloaded files', async () => {
    const out = await makeTempDir('link-sums');
    await client('curl', [...CURL, '-o', 'SHA256SUMS', page.named('SHA256SUMS')], out);
    await client('curl', [...CURL, '-o', FILE, page.file(FILE)], out);
    await client('curl', [...CURL, '-o', RESUMABLE, page.file(RESUMABLE)], out);
    await client('curl', [...CURL, '-o', 'album.zip', page.zip(`${FOLDER}.zip`)], out);
    await client('unzip', ['-q', 'album.zip'], out);
    await fs.rm(path.join(out, 'album.zip'));
    const checked = await client('sha256sum', ['-c', '--strict', 'SHA256SUMS'], out);
    const ok = checked.split('\n').filter((line) => line.endsWith(': OK'));
    // Every offered file: the single two and the folder's five.
    expect(ok).toHaveLength(7);
    expect(checked).toContain(`${FILE}: OK`);
    expect(checked).toContain(`${FOLDER}/日本語/ファイル.txt: OK`);
  });

  it('the single-file ferry-receive.mjs, fetched with curl into an empty folder, receives from the same sender with Node alone', async () => {
    const dir = await emptyFolderAlone('link-program');
    await client('curl', [...CURL, '-O', page.named('ferry-receive.mjs')], dir, WAIT.startMs * 4);
    expect(await fs.readdir(dir)).toEqual(['ferry-receive.mjs']);
    const program = path.join(dir, 'ferry-receive.mjs');
    expect((await fs.readFile(program, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);

    const out = await makeTempDir('link-program-out');
    const run = await receiveAll(sender, out, {
      program,
      cwd: dir,
      env: cliEnv({ NODE_PATH: undefined, NODE_OPTIONS: undefined }),
    });
    assertExit(run, 0);
    expect(run.events.find((event) => event.event === 'secured')).toMatchObject({ method: 'code' });
    expect(await hashTree(out)).toEqual(await hashTree(src));
  });
});

describe('ferry-send --link with a file of more than 4 GiB', () => {
  it('curl downloads it byte for byte (a sparse source)', async () => {
    const src = await makeTempDir('link-huge');
    const file = path.join(src, 'huge.bin');
    const size = 4 * 1024 * MiB + 4097;
    const handle = await fs.open(file, 'wx');
    try {
      await handle.write(randomBytes(64 * 1024), 0, 64 * 1024, 0);
      await handle.write(randomBytes(4097), 0, 4097, size - 4097);
    } finally {
      await handle.close();
    }
    const expected = await hashFile(file);
    expect(expected.size).toBe(size);
    // Hashing the offer for the page takes a while before anything is printed.
    const sender = spawnCli(SEND_BIN, [
      '--json',
      '--link',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      file,
    ]);
    const link = await sender.waitForEvent('link', WAIT.hugeTransferMs);
    const page = await fetchLinkPage((link.urls as string[])[0]!);
    const got = await curlDigest(page.file('huge.bin'), WAIT.hugeTransferMs);
    expect(got).toEqual({ size, sha256: expected.sha256 });
    sender.signal('SIGINT');
    await sender.waitForExit(WAIT.reactMs);
  }, 500_000);
});

describe('ferry-send --link', () => {
  it.each([[['--link']], [['--link', '--qr']]])(
    '%j prints a QR code that reads back as the first URL',
    async (flags) => {
      const src = await makeTempDir('link-qr');
      await writeFileAt(src, 'a.txt', 'a\n');
      const proc = spawnCli(SEND_BIN, [
        ...flags,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        path.join(src, 'a.txt'),
      ]);
      const url = await proc.log.waitFor(
        'the link and its QR code',
        () => {
          const found = /^\s*(http:\/\/127\.0\.0\.1:\d+\/t\/[A-Za-z0-9_-]{22}\/)\s*$/m.exec(
            proc.log.stdout,
          );
          return found && qrLinesIn(proc.log.stdout).length > 0 ? found[1] : undefined;
        },
        WAIT.startMs,
      );
      const drawing = qrLinesIn(proc.log.stdout);
      for (const line of drawing) expect([...line].length).toBeLessThanOrEqual(80);
      expect(await decodeTerminalQr(drawing)).toEqual([url]);
      proc.signal('SIGINT');
      await proc.waitForExit(WAIT.reactMs);
    },
  );
});
