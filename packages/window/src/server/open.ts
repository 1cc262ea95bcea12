/** Opens `target` (an address, or a folder) with the system's default program. */
export async function openInBrowser(target: string): Promise<void> {
  const { default: open } = await import('open');
  const child = await open(target, { wait: false });
  // The opener is not Ferry's: neither its exit nor a failure to start it ends the app.
  child.on('error', () => {});
  child.unref();
}

/** Opens a folder in the system's file manager ("open folder"). */
export function openFolder(folder: string): Promise<void> {
  return openInBrowser(folder);
}
