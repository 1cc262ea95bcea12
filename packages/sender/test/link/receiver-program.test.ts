import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { bundle } from '@ferry/cli/build-single';
import { runCleanup, tempDir } from '@ferry/testkit/unit';
import {
  findReceiverProgram,
  RECEIVER_PROGRAM,
  receiverProgram,
} from '../../src/link/receiver-program.ts';

afterEach(runCleanup);

const run = promisify(execFile);
const BUILD_SINGLE = fileURLToPath(import.meta.resolve('@ferry/cli/build-single'));
const RECEIVER_PROGRAM_SOURCE = fileURLToPath(
  new URL('../../src/link/receiver-program.ts', import.meta.url),
);

/** Runs `node file` and returns what it printed. */
async function output(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [file], { timeout: 15_000 });
  return stdout.trim();
}

/**
 * A repository laid out like Ferry's, whose receiving app prints `text`. Its build script is
 * Ferry's own, re-exported (so esbuild comes from this repository).
 */
async function fakeRepository(
  text: string,
): Promise<{ root: string; program: string; entry: string }> {
  const root = await tempDir();
  const cli = path.join(root, 'packages', 'cli');
  const receiver = path.join(root, 'packages', 'receiver');
  await mkdir(cli, { recursive: true });
  await mkdir(path.join(receiver, 'src'), { recursive: true });
  await writeFile(
    path.join(cli, 'build-single.mjs'),
    `export * from ${JSON.stringify(pathToFileURL(BUILD_SINGLE).href)};\n`,
  );
  await writeFile(
    path.join(receiver, 'package.json'),
    JSON.stringify({
      name: '@ferry/receiver',
      type: 'module',
      bin: { 'ferry-receive': './bin/ferry-receive.mjs' },
    }),
  );
  const entry = path.join(receiver, 'src', 'bin.ts');
  await writeFile(entry, `const text: string = ${JSON.stringify(text)};\nconsole.log(text);\n`);
  return { root, program: path.join(receiver, 'dist', RECEIVER_PROGRAM), entry };
}

describe('findReceiverProgram', () => {
  it('takes ferry-receive.mjs beside the running single file', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'ferry-send.mjs'), '');
    await writeFile(path.join(dir, RECEIVER_PROGRAM), '');
    const self = path.join(dir, 'ferry-send.mjs');
    expect(await findReceiverProgram({ singleFile: self, from: self })).toBe(
      path.join(dir, RECEIVER_PROGRAM),
    );
  });

  it('finds none for a single file with nothing beside it, outside any repository', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, RECEIVER_PROGRAM));
    const self = path.join(dir, 'ferry-send.mjs');
    expect(await findReceiverProgram({ singleFile: self, from: self })).toBeUndefined();
  });

  it('finds none for a program outside any repository that is not a single file', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, RECEIVER_PROGRAM), '');
    const from = path.join(dir, 'node_modules', '.cache', 'ferry', 'ferry-send.mjs');
    expect(await findReceiverProgram({ singleFile: undefined, from })).toBeUndefined();
  });

  it("builds the repository's dist/ferry-receive.mjs on first use, keeps it while fresh and rebuilds it once a source changed", async () => {
    const repo = await fakeRepository('first build');
    const from = path.join(
      repo.root,
      'packages',
      'sender',
      'node_modules',
      '.cache',
      'ferry',
      'ferry-send.mjs',
    );
    expect(await findReceiverProgram({ singleFile: undefined, from })).toBe(repo.program);
    expect((await readFile(repo.program, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(await output(repo.program)).toBe('first build');

    const built = (await stat(repo.program)).mtimeMs;
    expect(await findReceiverProgram({ singleFile: undefined, from })).toBe(repo.program);
    expect((await stat(repo.program)).mtimeMs).toBe(built);

    await writeFile(repo.entry, `console.log('second build');\n`);
    const later = new Date(Date.now() + 60_000);
    await utimes(repo.entry, later, later);
    expect(await findReceiverProgram({ singleFile: undefined, from })).toBe(repo.program);
    expect(await output(repo.program)).toBe('second build');
  });

  it("builds the repository's program for a single file in the repository with nothing beside it", async () => {
    const repo = await fakeRepository('from the repository');
    const self = path.join(repo.root, 'packages', 'sender', 'dist', 'ferry-send.mjs');
    expect(await findReceiverProgram({ singleFile: self, from: self })).toBe(repo.program);
    expect(await output(repo.program)).toBe('from the repository');
  });

  it('finds none when the build fails', async () => {
    const repo = await fakeRepository('never built');
    await writeFile(repo.entry, 'this is not TypeScript (\n');
    const from = path.join(repo.root, 'packages', 'sender', 'src', 'link', 'receiver-program.ts');
    expect(await findReceiverProgram({ singleFile: undefined, from })).toBeUndefined();
  });
});

describe('receiverProgram', () => {
  it("run from this repository's sources, gives packages/receiver/dist/ferry-receive.mjs, built", async () => {
    const program = await receiverProgram();
    expect(program).toBe(
      fileURLToPath(new URL('../../../receiver/dist/ferry-receive.mjs', import.meta.url)),
    );
    const { stdout } = await run(process.execPath, [program!, '--version'], { timeout: 15_000 });
    expect(stdout).toMatch(/^ferry-receive \d+\.\d+\.\d+\n$/);
  });

  it('knows it runs as a single file: it takes ferry-receive.mjs beside it, or finds none', async () => {
    const dir = await tempDir();
    const entry = path.join(dir, 'entry.ts');
    await writeFile(
      entry,
      `import { receiverProgram } from ${JSON.stringify(RECEIVER_PROGRAM_SOURCE)};\n` +
        'console.log(JSON.stringify((await receiverProgram()) ?? null));\n',
    );
    const app = path.join(dir, 'app');
    const self = await bundle(entry, path.join(app, 'ferry-send.mjs'), { singleFile: true });
    expect(await output(self)).toBe('null');
    await writeFile(path.join(app, RECEIVER_PROGRAM), '');
    expect(await output(self)).toBe(JSON.stringify(path.join(app, RECEIVER_PROGRAM)));
  });
});
