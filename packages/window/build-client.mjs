// Builds the window's page (Preact + TSX, and one stylesheet) with esbuild into two strings,
// `app.js` and `app.css`. The apps' bundles embed them (see @ferry/cli's build-single.mjs), so
// a launched app and a single-file program serve the page without building it; run from
// source (tests, tsx), the window builds it once when it starts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The page's entry point. */
export const CLIENT_ENTRY = path.join(PACKAGE_DIR, 'src', 'client', 'main.tsx');
/** A page showing every shared component, for the browser tests. */
export const GALLERY_ENTRY = path.join(PACKAGE_DIR, 'test', 'gallery', 'main.tsx');

/**
 * Builds the page: `{ js, css, inputs }`, where `inputs` lists the absolute paths of the files it
 * was built from (a bundle that embeds the page is stale when one of them changes). `entry`: another
 * page of the same components (the tests' gallery).
 */
export async function buildClient(entry = CLIENT_ENTRY) {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: PACKAGE_DIR,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    outdir: 'out',
    write: false,
    metafile: true,
    logLevel: 'error',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  let js = '';
  let css = '';
  for (const file of result.outputFiles) {
    if (file.path.endsWith('.js')) js = file.text;
    else if (file.path.endsWith('.css')) css = file.text;
  }
  const inputs = Object.keys(result.metafile.inputs).map((input) =>
    path.resolve(PACKAGE_DIR, input),
  );
  return { js, css, inputs };
}
