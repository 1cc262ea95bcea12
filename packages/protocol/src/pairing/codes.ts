import { PAIRING } from '../constants.ts';
import { Emitter } from '../emitter.ts';
import { AuthError, ErrorCode } from '../errors.ts';
import { formatCode, generateCode } from './code.ts';

/** Events of {@link PairingCodes}. The code itself only ever goes to the user's screen. */
export interface PairingEvents extends Record<string, unknown> {
  /** A code to show: the first one, the next after one was used, or one after a code was retired. */
  code: { code: string; reason: 'first' | 'used' | 'retired'; failed: number };
  /** A pairing attempt failed; `failed` of `limit` attempts of the current code are spent. */
  /** `connection`: the tag its caller gave begin(), so the app can say which connection failed. */
  'attempt-failed': { failed: number; limit: number; connection: number | undefined };
  /** Too many codes were retired: from now on only remembered peers are accepted. */
  closed: { failed: number };
}

/** One attempt at pairing with the current code; settle it exactly once. */
export interface PairingAttempt {
  /** The SPAKE2 password scalar of the code. */
  readonly password: bigint;
  /**
   * The peer's share is in and about to be used: from now on anything but success counts as a
   * failed guess, including a share that is refused (PROTOCOL.md §2.3).
   */
  shareReceived(): void;
  /**
   * The peer proved it knows the code. Throws AuthError(ERR_PAIRING_FAILED) when another
   * attempt used the code up while this one was in flight: one code lets in one receiver.
   */
  succeed(): void;
  /** Ends the attempt; it counts as a failure only if the peer's share was received. */
  end(): void;
}

interface CurrentCode {
  readonly code: string;
  readonly password: Promise<bigint>;
  started: number;
  failed: number;
  done: boolean;
}

/**
 * The sender's one-time pairing codes. Each code allows `attemptsPerCode` SPAKE2 exchanges, in
 * flight or finished, so an attacker gets at most that many online guesses per code (G2); a
 * success uses the code up. A retired code is replaced and the user is told how many attempts
 * failed; after `maxRetiredCodes` retirements pairing stops.
 */
export class PairingCodes extends Emitter<PairingEvents> {
  #derive: (code: string) => Promise<bigint>;
  #current: CurrentCode | undefined;
  #retired = 0;
  #totalFailed = 0;
  #closed = false;

  /** `derive` turns a code into its SPAKE2 password scalar (slow on purpose). */
  constructor(derive: (code: string) => Promise<bigint>) {
    super();
    this.#derive = derive;
  }

  /** Creates the first code and announces it. */
  start(): void {
    this.#next('first');
  }

  /** Failed attempts so far, over all codes. */
  get failedAttempts(): number {
    return this.#totalFailed;
  }

  /**
   * Reserves one attempt of the current code for `connection` (a tag echoed in
   * `attempt-failed`); throws AuthError(ERR_PAIRING_UNAVAILABLE) when
   * pairing has stopped or every attempt of this code is already in flight.
   */
  async begin(connection?: number): Promise<PairingAttempt> {
    const current = this.#current;
    if (this.#closed || !current) {
      throw new AuthError(ErrorCode.PAIRING_UNAVAILABLE, 'this sender no longer accepts pairing codes (too many wrong attempts)');
    }
    if (current.started >= PAIRING.attemptsPerCode) {
      throw new AuthError(ErrorCode.PAIRING_UNAVAILABLE, 'the sender is busy with other pairing attempts; try again in a moment');
    }
    current.started++;
    let sent = false;
    let settled = false;
    let password: bigint;
    try {
      password = await current.password;
    } catch (error) {
      current.started--;
      throw error;
    }
    return {
      password,
      shareReceived: () => {
        sent = true;
      },
      succeed: () => {
        if (settled) return;
        settled = true;
        if (current.done) {
          throw new AuthError(
            ErrorCode.PAIRING_FAILED,
            'that pairing code was used by another receiver while this attempt was under way; ask for the new code',
          );
        }
        current.done = true;
        this.#next('used');
      },
      end: () => {
        if (settled) return;
        settled = true;
        if (!sent) {
          current.started--;
          return;
        }
        this.#totalFailed++;
        current.failed++;
        // Every failed guess is reported, even one that ends after its code was replaced.
        this.emit('attempt-failed', { failed: current.failed, limit: PAIRING.attemptsPerCode, connection });
        if (current.done) return;
        if (current.failed >= PAIRING.attemptsPerCode) {
          current.done = true;
          this.#retired++;
          if (this.#retired >= PAIRING.maxRetiredCodes) {
            this.#closed = true;
            this.#current = undefined;
            this.emit('closed', { failed: this.#totalFailed });
          } else {
            this.#next('retired', current.failed);
          }
        }
      },
    };
  }

  #next(reason: PairingEvents['code']['reason'], failed = 0): void {
    const code = generateCode();
    const password = this.#derive(code);
    password.catch(() => {}); // Observed by begin().
    this.#current = { code, password, started: 0, failed: 0, done: false };
    this.emit('code', { code: formatCode(code), reason, failed });
  }
}
