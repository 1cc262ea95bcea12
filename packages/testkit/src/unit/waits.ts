/** Every wait in the unit tests gives up after this long. */
export const WAIT_MS = 8_000;

/** Rejects with `describe()` in the message when `promise` has not settled within `ms`. */
export function within<T>(
  promise: Promise<T>,
  what: string,
  describe: () => string = () => '',
  ms = WAIT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${describe()}`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
