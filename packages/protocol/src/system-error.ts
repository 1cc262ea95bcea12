/** Words for the system errors a user can meet when naming files and folders. */
const WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error',
  EBUSY: 'the file is busy',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
};

/** A system error in words (`no such file or directory`), never a bare code like ENOENT. */
export function describeSystemError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && WORDS[code]) return WORDS[code];
  if (code !== undefined) return `system error ${code}`;
  return error instanceof Error ? error.message : String(error);
}
