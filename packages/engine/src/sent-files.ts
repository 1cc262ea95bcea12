import { ErrorCode, type FileAck, ProtocolError } from '@ferry/protocol';
import type { OfferSource } from './scan.ts';

/** What {@link SentFiles} reports as acknowledgements arrive. */
export interface AckHooks {
  onFileAcked(path: string, size: number, sha256: string): void;
  onFileFailed(path: string, code: string): void;
}

/**
 * The sending side's account of one transfer's acknowledgements (PROTOCOL.md §5.2): one per
 * file sent, in the order sent, and a file acknowledged as saved only with the digest that was
 * sent. The reader that gets the acknowledgements feeds them to `acknowledge`.
 */
export class SentFiles {
  saved = 0;
  failed = 0;
  /** Bytes of the files acknowledged as saved that this transfer carried. */
  bytes = 0;
  #offer: OfferSource;
  #expected: number[];
  #hooks: AckHooks;
  #sentCount = 0;
  #ackCount = 0;
  #digests = new Map<number, string>();
  /** Where each requested file starts: what the transfer carries of it is its size minus this. */
  #offsets: Map<number, number>;

  constructor(
    offer: OfferSource,
    plan: readonly { readonly id: number; readonly offset: number }[],
    hooks: AckHooks,
  ) {
    this.#offer = offer;
    this.#expected = plan.map((file) => file.id);
    this.#offsets = new Map(plan.map((file) => [file.id, file.offset]));
    this.#hooks = hooks;
  }

  /** True once every planned file is acknowledged. */
  get complete(): boolean {
    return this.#ackCount === this.#expected.length;
  }

  /** A resumed file's prefix did not match: it is carried whole, from byte 0. */
  restarted(id: number): void {
    if (this.#offsets.has(id)) this.#offsets.set(id, 0);
  }

  /** Records a file as sent in full (with its digest) or aborted (without one). */
  sent(id: number, sha256?: string): void {
    if (this.#expected[this.#sentCount] !== id) return;
    this.#sentCount++;
    if (sha256) this.#digests.set(id, sha256);
  }

  /**
   * Takes the next acknowledgement: it must be for the next file sent (UNEXPECTED_FRAME
   * otherwise), and a file acknowledged as saved must carry the digest sent (ACK_MISMATCH).
   */
  acknowledge(ack: FileAck): void {
    if (this.#ackCount >= this.#sentCount || this.#expected[this.#ackCount] !== ack.id) {
      throw new ProtocolError(
        ErrorCode.UNEXPECTED_FRAME,
        `an acknowledgement for file ${ack.id}, which is not the next one sent`,
      );
    }
    this.#ackCount++;
    const entry = this.#offer.entries[ack.id]!;
    const size = entry.kind === 'file' ? entry.size : 0;
    const sent = this.#digests.get(ack.id);
    this.#digests.delete(ack.id);
    if (ack.ok && ack.sha256 !== sent) {
      // Saved, it says, but not what was sent (or a file that was aborted): not delivered (S3).
      this.failed++;
      this.#hooks.onFileFailed(entry.path, ErrorCode.ACK_MISMATCH);
      throw new ProtocolError(
        ErrorCode.ACK_MISMATCH,
        `the receiver acknowledged file ${ack.id} as saved with a digest that is not the one sent`,
      );
    }
    if (ack.ok) {
      this.saved++;
      // The same measure as the request's total: the bytes this transfer carried (S6).
      this.bytes += size - (this.#offsets.get(ack.id) ?? 0);
      this.#hooks.onFileAcked(entry.path, size, ack.sha256);
    } else {
      this.failed++;
      this.#hooks.onFileFailed(entry.path, ack.code);
    }
  }
}
