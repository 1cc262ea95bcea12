import type { Hash } from 'node:crypto';
import { ErrorCode, FerryError, IntegrityError, type ValidatedEntry } from '@ferry/protocol';
import { type Destination, isPathError, type TempFile } from './destination.ts';
import { FileSink } from './file-sink.ts';

/** A file saved and verified. */
export interface SavedFile {
  readonly path: string;
  readonly offered: string;
  readonly size: number;
  readonly sha256: string;
}

/** A file that was already there whole (same path, size and digest): nothing was written. */
export interface PresentFile extends SavedFile {
  readonly present: true;
}

/** A file that was not saved, and why. */
export interface FailedFile {
  readonly offered: string;
  readonly code: string;
  readonly message: string;
}

/**
 * A file whose bytes all arrived and verified: it is being flushed and given its final name
 * (or, a PresentFile, it was already there whole).
 * `saving` resolves to the saved file, or to a failure that concerns this file only (the disk
 * filled up, the name could not be claimed); it rejects when the whole transfer must stop.
 */
export interface SavingFile {
  readonly saving: Promise<SavedFile | PresentFile | FailedFile>;
}

/** Options of {@link IncomingFile.open}. */
export interface IncomingOptions {
  /** Make the file durable on disk (fdatasync) before it gets its final name. */
  readonly fsync?: boolean;
  /**
   * Called as bytes given to `write` leave memory: written to the file, or let go (a file this
   * file system cannot take, a failed file). A flow-controlled caller grants credit from it.
   */
  readonly onWritten?: (bytes: number) => void;
  /**
   * Resuming: the first `offset` bytes are held already, `hash` has hashed them. Without
   * `presentAt` they are in the transfer's partial file and writing goes on after them; with
   * it (`offset` is the size) they are the file at `presentAt`, which nothing writes to.
   */
  readonly resumeFrom?:
    | { readonly offset: number; readonly hash: Hash; readonly presentAt?: string | undefined }
    | undefined;
}

const SKIPPED_MESSAGE = 'cannot create the file: its name or path is too long for this file system';

/**
 * One file being received into a Destination: the safe writing path both apps share. Bytes go
 * to a hidden temporary file (hashed as they arrive, never past the announced size); at the end
 * the count and the SHA-256 are checked before the file gets its final name, and a file that
 * fails leaves nothing behind. A path this file system cannot take fails this file only (K9):
 * its bytes are counted and let go, and it ends as WRITE_FAILED.
 */
export class IncomingFile {
  readonly entry: ValidatedEntry;
  #destination: Destination;
  #tempPath: string | undefined;
  #sink: FileSink | undefined;
  #fsync: boolean;
  #onWritten: ((bytes: number) => void) | undefined;
  /** Bytes taken by a file that is only counted (no sink). */
  #counted = 0;
  #discarding: Promise<void> | undefined;
  /** The file already there whole, and the hash of its bytes, until the sender says otherwise. */
  #present: { path: string; hash: Hash } | undefined;

  private constructor(
    destination: Destination,
    entry: ValidatedEntry,
    opened: { handle: TempFile; tempPath: string } | undefined,
    options: IncomingOptions,
  ) {
    this.entry = entry;
    this.#destination = destination;
    this.#fsync = options.fsync ?? false;
    this.#onWritten = options.onWritten;
    const resume = options.resumeFrom;
    if (resume?.presentAt !== undefined)
      this.#present = { path: resume.presentAt, hash: resume.hash };
    if (opened) this.#attach(opened, resume);
  }

  #attach(
    opened: { handle: TempFile; tempPath: string },
    resume?: IncomingOptions['resumeFrom'],
  ): void {
    this.#tempPath = opened.tempPath;
    this.#sink = new FileSink(opened.handle, this.entry.size, {
      onWritten: this.#onWritten,
      typed: asWriteError,
      gate: this.#destination.gate,
      ...(resume ? { position: resume.offset, hash: resume.hash } : {}),
    });
  }

  /**
   * Opens the temporary file for `entry` (its folders were created by `createDirs`). A disk
   * error rejects with a typed FerryError (NO_SPACE, WRITE_FAILED); a path this file system
   * cannot take gives a file that only counts its bytes.
   */
  static async open(
    destination: Destination,
    entry: ValidatedEntry,
    options: IncomingOptions = {},
  ): Promise<IncomingFile> {
    const resume = options.resumeFrom;
    if (resume?.presentAt !== undefined)
      return new IncomingFile(destination, entry, undefined, options);
    const opening = resume
      ? destination.openHeld(entry, resume.offset)
      : destination.openTemp(entry);
    const opened = await opening.catch((error: unknown) => {
      if (isPathError(error)) return undefined;
      throw asWriteError(error);
    });
    return new IncomingFile(destination, entry, opened, options);
  }

  /** False for a file this file system cannot take: its bytes are only counted. */
  get writable(): boolean {
    return this.#sink !== undefined || this.#present !== undefined;
  }

  /** True while the file is one already there whole: the sender confirmed it, no byte is written. */
  get present(): boolean {
    return this.#present !== undefined;
  }

  /**
   * The sender starts the file over from byte 0 (FILE_START offset 0 after a prefix request):
   * what was held is dropped and a new hash begins. A file already there is left as it is, and
   * the new one is written to a partial file of its own.
   */
  async restart(): Promise<void> {
    if (this.#present) {
      this.#present = undefined;
      const opened = await this.#destination.openTemp(this.entry).catch((error: unknown) => {
        throw asWriteError(error);
      });
      this.#attach(opened);
      return;
    }
    await this.#sink?.restart().catch(rethrowAsWriteError);
    this.#counted = 0;
  }

  /** Bytes taken so far. */
  get received(): number {
    return this.#sink ? this.#sink.received : this.#counted;
  }

  /** Bytes taken and not yet written to the file. */
  get pending(): number {
    return this.#sink ? this.#sink.queued : 0;
  }

  /**
   * Takes the next bytes. Bytes past the announced size are refused (IntegrityError
   * SIZE_MISMATCH) and never written. Returns a promise only when the caller must wait for the
   * disk; it rejects, like a throw here, with a typed error when the file cannot be written.
   * `release` runs once the bytes are in the file, or once they never will be.
   */
  write(bytes: Uint8Array, release?: () => void): Promise<void> | undefined {
    const sink = this.#sink;
    if (
      this.#present ||
      bytes.byteLength > this.entry.size - (sink ? sink.received : this.#counted)
    ) {
      release?.();
      throw new IntegrityError(
        ErrorCode.SIZE_MISMATCH,
        `the sender sent more than the ${this.entry.size} bytes it announced`,
      );
    }
    if (!sink) {
      this.#counted += bytes.byteLength;
      release?.();
      this.#onWritten?.(bytes.byteLength);
      return undefined;
    }
    // A failed write's error is already typed by the sink: nothing is wrapped per write.
    return sink.write(bytes, release);
  }

  /**
   * The sender's end of the file with its digest: the count and the digest are checked, then
   * the file is flushed and renamed in the background (`saving`). A short or damaged file is
   * discarded and comes back as a failure (SIZE_MISMATCH, DIGEST_MISMATCH).
   */
  async end(sha256: string): Promise<SavingFile | FailedFile> {
    const present = this.#present;
    if (present) {
      // The file there is left as it is either way: it is the user's, whatever it holds.
      const digest = present.hash.digest('hex');
      if (digest !== sha256)
        return this.#failed(
          ErrorCode.DIGEST_MISMATCH,
          'the file already there differs from the one sent (SHA-256 mismatch)',
        );
      const file: PresentFile = {
        present: true,
        path: present.path,
        offered: this.entry.path,
        size: this.entry.size,
        sha256,
      };
      return { saving: Promise.resolve(file) };
    }
    const sink = this.#sink;
    if (!sink) return this.#skipped();
    if (sink.received !== this.entry.size) {
      await this.discard();
      return this.#failed(
        ErrorCode.SIZE_MISMATCH,
        `only ${sink.received} of ${this.entry.size} bytes arrived`,
      );
    }
    const digest = sink.digest();
    if (digest !== sha256) {
      await this.discard();
      return this.#failed(ErrorCode.DIGEST_MISMATCH, 'the file arrived damaged (SHA-256 mismatch)');
    }
    const saving = this.#save(sink, digest);
    saving.catch(() => {}); // Observed by the caller, in order.
    return { saving };
  }

  /**
   * The sender gave up on the file (its `code` and `message`). When it could not read its
   * source (ERR_SOURCE_UNREADABLE) the bytes that arrived stay in the partial folder, as after a
   * cut, for a later run to resume from once it can: the prefix check then says whether they
   * are still the file's (PROTOCOL.md §13.6). Otherwise nothing of the file is kept.
   */
  async abort(code: string, message: string): Promise<FailedFile> {
    if (this.#present) return this.#failed(code, message);
    if (!this.#sink) return this.#skipped();
    if (code === ErrorCode.SOURCE_UNREADABLE && this.#destination.partials) {
      await this.suspend();
      this.#destination.retainPartials();
    } else await this.discard();
    return this.#failed(code, message);
  }

  /** Lets the file go (the connection failed, or it was refused): nothing of it is kept. */
  discard(): Promise<void> {
    this.#discarding ??= (async () => {
      await this.#sink?.abort();
      if (this.#tempPath !== undefined) await this.#destination.discard(this.#tempPath);
    })().catch(rethrowAsWriteError);
    return this.#discarding;
  }

  /**
   * The transfer stopped in the middle of this file (the connection failed): in a partial
   * folder, every byte that arrived is written out and stays (contiguous from byte 0) to resume
   * from, so none of it travels again; if a write fails, nothing of the file is kept, as with
   * {@link discard}.
   */
  async suspend(): Promise<void> {
    const sink = this.#sink;
    if (!this.#destination.partials || !sink) return this.discard();
    // The queued bytes came from the sender like the written ones: writing them costs less than
    // sending them again, and a file that cannot take them is dropped below.
    await sink.finish(false).catch(() => {});
    if (sink.failed) await this.discard();
  }

  /** Flushes a verified file and gives it its final name; on failure nothing is left of it. */
  async #save(sink: FileSink, sha256: string): Promise<SavedFile | FailedFile> {
    try {
      await sink.finish(this.#fsync);
      const path = await this.#destination.finalize(this.entry, this.#tempPath!);
      return { path, offered: this.entry.path, size: this.entry.size, sha256 };
    } catch (error) {
      await this.discard();
      const typed = asWriteError(error);
      // A file that could not be flushed or named fails alone; the transfer goes on.
      if (
        typed instanceof FerryError &&
        (typed.code === ErrorCode.NO_SPACE || typed.code === ErrorCode.WRITE_FAILED)
      ) {
        return this.#failed(typed.code, typed.message);
      }
      throw typed;
    }
  }

  #skipped(): FailedFile {
    return this.#failed(ErrorCode.WRITE_FAILED, SKIPPED_MESSAGE);
  }

  #failed(code: string, message: string): FailedFile {
    return { offered: this.entry.path, code, message };
  }
}

/** A disk error while saving becomes a typed error the sender is told about. */
export function asWriteError<T>(error: T): T | FerryError {
  if (error instanceof FerryError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new FerryError(ErrorCode.NO_SPACE, 'the receiving disk is full', { cause: error });
  }
  if (code === undefined) return error;
  return new FerryError(ErrorCode.WRITE_FAILED, `the receiver could not write the file (${code})`, {
    cause: error,
  });
}

function rethrowAsWriteError(error: unknown): never {
  throw asWriteError(error);
}
