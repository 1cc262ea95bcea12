/** The command line or configuration is wrong, or a prompt needs a terminal; exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'ERR_USAGE';
}
