/** The page's entry point. */
export const CLIENT_ENTRY: string;

/** A page showing every shared component, for the browser tests. */
export const GALLERY_ENTRY: string;

/** The page, built: its script, its stylesheet, and the files it was built from. */
export function buildClient(entry?: string): Promise<{ js: string; css: string; inputs: string[] }>;
