#!/usr/bin/env node
// Builds Ferry's programs with esbuild (the compiler tsx itself uses), in two shapes:
// - for an app's launcher: Ferry's own packages bundled from source, npm packages left to
//   node_modules, cached next to the package (see launcher.mjs);
// - a single-file program (`pnpm build`, or `node build-single.mjs [packageDir]`): one ESM file
//   with every dependency in it, which runs with Node 20 alone from any folder, and can be copied
//   to another machine.
// Either bundle records the files it was built from, and is stale once one of them changed.
// Both embed the window's page (built by @ferry/window's build-client.mjs), so `--ui` serves it
// without building anything; the page's sources count among the files the bundle was built from.
import { realpathSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * V8 flags every Ferry program sets before its own code loads. Ferry's bytes live in buffers
 * outside V8's heap; what is inside is mostly small and short-lived, yet by default V8 holds far
 * more than it uses:
 * - it doubles its young generation each time many young objects survive, which they do while
 *   modules load and while thousands of files are listed, up to 16 MiB a half (32 MiB held);
 *   it now stays at its first size;
 * - it lets the old generation grow to up to four times what survived the last full
 *   collection before the next one; now to one and a half.
 * Measured receiving 10,000 small files: peak RSS 128 -> 103 MB for the receiver and 148-182 ->
 * 120 MB for the sender, for 0.25 s more in collections (about 4% of the receiver's CPU).
 * A flag is left out when the user's own Node options (the command line or NODE_OPTIONS) name
 * the same part of the heap: theirs wins.
 */
const HEAP_FLAGS = [
  ['--semi-space-growth-factor=1', 'semi[-_]space'],
  ['--heap-growing-percent=50', 'heap[-_]growing'],
];

/**
 * The V8 flags of `flags` that a program started with `given` (its Node options, as one string)
 * sets. The single-file banner runs a copy of this function and of {@link nodeOptionsGiven}.
 */
export function heapFlags(given, flags = HEAP_FLAGS) {
  return flags
    .filter(([, part]) => !new RegExp(part).test(given))
    .map(([flag]) => flag)
    .join(' ');
}

/** The Node options this program was started with, as one string. */
export function nodeOptionsGiven() {
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
}

// CommonJS dependencies (pino and its streams) call `require` for Node's own modules, which an
// ES module does not have: the banner gives the file one.
const SINGLE_FILE_BANNER = [
  '#!/usr/bin/env node',
  "import { createRequire as __ferryCreateRequire } from 'node:module';",
  "import { setFlagsFromString as __ferrySetFlags } from 'node:v8';",
  'const require = __ferryCreateRequire(import.meta.url);',
  `__ferrySetFlags((${heapFlags})((${nodeOptionsGiven})(), ${JSON.stringify(HEAP_FLAGS)}));`,
].join('\n');

/**
 * Bundles `entryPath` (a `.ts` file) into `outFile`, written beside and renamed into place, so
 * that a program starting at the same moment never reads half a file. `singleFile` bundles the
 * npm packages too; otherwise they stay external. Returns `outFile`.
 */
export async function bundle(entryPath, outFile, { singleFile = false } = {}) {
  const { build } = await import('esbuild');
  const { buildClient } = await import('@ferry/window/build-client');
  const page = await buildClient();
  // A string constant (the page as JSON), inlined where the window reads it.
  const embedded = {
    FERRY_WINDOW_ASSETS: JSON.stringify(JSON.stringify({ js: page.js, css: page.css })),
  };
  const shape = singleFile
    ? {
        sourcemap: false,
        // Readable stack traces: identifiers kept; the licenses of bundled packages kept too.
        minify: false,
        legalComments: 'eof',
        banner: { js: SINGLE_FILE_BANNER },
        // Lets the program know it runs as one file (see the sender's receiverProgram).
        define: { FERRY_SINGLE_FILE: 'true', ...embedded },
        plugins: [
          {
            // `debug` (under the mDNS announcer) tries an optional `supports-color` inside a
            // try block; it is not installed, so the file gets an empty module in its place.
            name: 'optional-absent',
            setup(builder) {
              builder.onResolve({ filter: /^supports-color$/ }, () => ({
                path: 'supports-color',
                namespace: 'absent',
              }));
              builder.onLoad({ filter: /.*/, namespace: 'absent' }, () => ({
                contents: 'module.exports = {};',
                loader: 'js',
              }));
            },
          },
        ],
      }
    : {
        // Beside the bundle, read only under `--enable-source-maps`: an inline map would be a
        // second copy of every source held in memory by every run (1.7 MB for ferry-receive).
        sourcemap: 'linked',
        define: embedded,
        plugins: [
          {
            // Ferry's own packages are bundled from source; everything from npm stays external.
            name: 'externals',
            setup(builder) {
              builder.onResolve({ filter: /^[^./]/ }, (args) =>
                args.path.startsWith('@ferry/') ? undefined : { external: true },
              );
            },
          },
        ],
      };
  const result = await build({
    entryPoints: [entryPath],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    // Names the linked source map (nothing is written by esbuild itself).
    outfile: outFile,
    metafile: true,
    logLevel: 'error',
    ...shape,
  });
  const cwd = process.cwd();
  const inputs = [
    ...Object.keys(result.metafile.inputs).map((input) => path.resolve(cwd, input)),
    ...page.inputs,
    // How it was built counts too: a changed recipe makes every cached bundle stale.
    fileURLToPath(import.meta.url),
  ];
  await mkdir(path.dirname(outFile), { recursive: true });
  const temp = `${outFile}.${process.pid}.tmp`;
  try {
    const code = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
    const map = result.outputFiles.find((file) => file.path.endsWith('.map'));
    if (map) {
      await writeFile(`${temp}.map`, map.contents);
      await rename(`${temp}.map`, `${outFile}.map`);
    }
    await writeFile(temp, await asciiOnly(code.text));
    if (singleFile) await chmod(temp, 0o755);
    await writeFile(`${temp}.inputs`, JSON.stringify(inputs));
    await rename(`${temp}.inputs`, `${outFile}.inputs.json`);
    await rename(temp, outFile);
  } finally {
    await rm(temp, { force: true });
    await rm(`${temp}.inputs`, { force: true });
    await rm(`${temp}.map`, { force: true });
  }
  return outFile;
}

/**
 * `code` with the characters outside ASCII written as escapes wherever an escape means the same:
 * in comments (only text), string literals, regular expression literals and identifiers.
 * esbuild escapes strings and identifiers itself, but keeps comments and regular expressions as
 * written, and one `§` in a comment makes V8 hold the whole source as UTF-16: twice the
 * memory (2.3 MB more for ferry-receive). Template literals are left as they are: a tag reads
 * their raw text, where an escape is six characters, not one. Tokens come from acorn, so a `/`
 * that divides is never taken for a regular expression. Code acorn cannot read is left as it is:
 * the bundle then costs memory, never meaning.
 */
async function asciiOnly(code) {
  if (/^[\x00-\x7f]*$/.test(code)) return code;
  const { tokenizer } = await import('acorn');
  /** Where escapes may go, as [start, end, kind], in order. */
  const spans = [];
  const options = {
    ecmaVersion: 'latest',
    sourceType: 'module',
    allowHashBang: true,
    onComment: (_block, _text, start, end) => spans.push([start, end, 'comment']),
  };
  try {
    for (const token of tokenizer(code, options)) {
      const label = token.type.label;
      if (label === 'string' || label === 'regexp') spans.push([token.start, token.end, 'literal']);
      else if (label === 'name' || label === 'privateId')
        spans.push([token.start, token.end, 'identifier']);
    }
  } catch {
    return code;
  }
  spans.sort((a, b) => a[0] - b[0]);
  let out = '';
  let from = 0;
  for (const [start, end, kind] of spans) {
    const text = code.slice(start, end);
    if (/^[\x00-\x7f]*$/.test(text)) continue;
    out += code.slice(from, start) + escapeSpan(text, kind);
    from = end;
  }
  return out + code.slice(from);
}

/**
 * Escapes the characters outside ASCII in one span. In a literal, `\é` (an identity escape)
 * becomes `\u00e9` in place of its backslash, so that the escape is not itself escaped.
 * Identifiers take code point escapes (`\u{1f600}`): a surrogate pair of `\u` escapes is not
 * allowed there.
 */
function escapeSpan(text, kind) {
  const unit = (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
  if (kind === 'identifier')
    return text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (kind === 'comment') return text.replace(/[^\x00-\x7f]/g, unit);
  return text.replace(/(\\*)([^\x00-\x7f])/g, (_match, slashes, character) =>
    slashes.length % 2 === 1 ? slashes.slice(1) + unit(character) : slashes + unit(character),
  );
}

/** Whether `outFile` exists and no file it was built from has changed since. */
export async function isFresh(outFile) {
  try {
    const built = (await stat(outFile)).mtimeMs;
    const inputs = JSON.parse(await readFile(`${outFile}.inputs.json`, 'utf8'));
    // A bundle made before the recipe counted among the inputs is stale.
    if (!inputs.includes(fileURLToPath(import.meta.url))) return false;
    for (const input of inputs) {
      if ((await stat(input)).mtimeMs > built) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The single-file program of the app in `packageDir`: `dist/<bin name>.mjs`, built from
 * `src/bin.ts`. With `ifStale`, an existing build is kept while it is fresh. Returns its path.
 */
export async function buildProgram(packageDir, { ifStale = false } = {}) {
  const manifest = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8'));
  const names = Object.keys(manifest.bin ?? {});
  if (names.length !== 1) throw new Error(`${packageDir}: package.json names no single bin`);
  const outFile = path.join(packageDir, 'dist', `${names[0]}.mjs`);
  if (ifStale && (await isFresh(outFile))) return outFile;
  return bundle(path.join(packageDir, 'src', 'bin.ts'), outFile, { singleFile: true });
}

/** Whether this file is the program Node was started with (through any symlink). */
function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const packageDir = path.resolve(process.argv[2] ?? '.');
  try {
    const outFile = await buildProgram(packageDir);
    const { size } = await stat(outFile);
    console.log(
      `Built ${path.relative(process.cwd(), outFile)} (${(size / 1024).toFixed(0)} KiB).`,
    );
  } catch (error) {
    console.error(`Could not build ${packageDir}: ${error.message}`);
    process.exitCode = 1;
  }
}
