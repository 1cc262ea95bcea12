import { ErrorCode, FerryError } from '@ferry/protocol';

/**
 * Pausing a transfer (PROTOCOL.md §13.9): the connection is closed as if it were cut, keeping
 * the partial data and the ticket; resuming reconnects with the ticket and asks for the rest.
 * The reconnect loop arms the switch while a connection it could resume on is live.
 */
export class PauseSwitch {
  #close: (() => void) | undefined;
  #paused = false;
  /** A pause the loop has not taken notice of yet (a resume may come first). */
  #pending = false;
  #wake: (() => void) | undefined;

  /** Whether the transfer is paused now. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Whether `pause()` would pause now: a transfer is running on a connection it can resume. */
  get pausable(): boolean {
    return this.#close !== undefined && !this.#paused;
  }

  /** The loop's connection can be paused by calling `close`; `disarm` when it no longer can. */
  arm(close: () => void): void {
    this.#close = close;
  }

  disarm(): void {
    this.#close = undefined;
  }

  /** Pauses the transfer; false when there is nothing to pause (not transferring, no ticket). */
  pause(): boolean {
    const close = this.#close;
    if (!close || this.#paused) return false;
    this.#paused = true;
    this.#pending = true;
    this.#close = undefined;
    close();
    return true;
  }

  /** Resumes a paused transfer; false when it is not paused. */
  resume(): boolean {
    if (!this.#paused) return false;
    this.#paused = false;
    this.#wake?.();
    this.#wake = undefined;
    return true;
  }

  /** Whether the connection was closed by a pause (asked once, by the loop that saw it end). */
  takePause(): boolean {
    const pending = this.#pending;
    this.#pending = false;
    return pending;
  }

  /** Resolves when `resume()` is called (at once if it was already); rejects with ERR_CANCELLED when `signal` aborts. */
  untilResumed(signal: AbortSignal | undefined): Promise<void> {
    if (!this.#paused) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#wake = undefined;
        reject(new FerryError(ErrorCode.CANCELLED, 'interrupted while paused'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }
}

/** The error a paused connection is closed with; never sent to the sender (§13.9). */
export function pausedError(): FerryError {
  return new FerryError(ErrorCode.CONNECTION_CLOSED, 'paused');
}
