/** The page's entry point. */
export const CLIENT_ENTRY: string;

/** The page, built: its script, its stylesheet, and the files it was built from. */
export function buildClient(): Promise<{ js: string; css: string; inputs: string[] }>;
