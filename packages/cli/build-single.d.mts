/** Bundles `entryPath` into `outFile`; `singleFile` bundles the npm packages too. Returns `outFile`. */
export function bundle(
  entryPath: string,
  outFile: string,
  options?: { singleFile?: boolean },
): Promise<string>;

/** Whether `outFile` exists and no file it was built from has changed since. */
export function isFresh(outFile: string): Promise<boolean>;

/**
 * The single-file program of the app in `packageDir` (`dist/<bin name>.mjs`); with `ifStale`, an
 * existing build is kept while it is fresh. Returns its path.
 */
export function buildProgram(packageDir: string, options?: { ifStale?: boolean }): Promise<string>;
