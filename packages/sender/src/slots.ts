/** Why a place was refused: the address holds its share already, or every place is taken. */
export type SlotRefusal = 'address' | 'full';

/** A place held by one connection; `release` is safe to call more than once. */
export interface Slot {
  release(): void;
}

interface Holder {
  readonly address: string;
  readonly evict: () => void;
  held: boolean;
}

/**
 * A fixed number of places shared fairly between remote addresses (address groups, see
 * `addressGroup`). One address holds at most `maxPerAddress`. When every place is taken, a
 * newcomer whose address holds at least two fewer than the busiest address takes the place of
 * that address's oldest holder, which is evicted; any other newcomer is refused. A flood must
 * then come from about `max` addresses to keep everyone else out (E2, K3).
 */
export class AddressSlots {
  readonly max: number;
  readonly maxPerAddress: number;
  #byAddress = new Map<string, Holder[]>();
  #held = 0;

  constructor(max: number, maxPerAddress: number) {
    this.max = max;
    this.maxPerAddress = maxPerAddress;
  }

  /** Places held now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Takes a place for a connection from `address`. `evict` runs if the place is later given to
   * a connection from a less busy address (the place is already released then).
   */
  take(address: string, evict: () => void): Slot | SlotRefusal {
    const mine = this.#byAddress.get(address) ?? [];
    if (mine.length >= this.maxPerAddress) return 'address';
    if (this.#held >= this.max) {
      const busiest = [...this.#byAddress.values()].reduce(
        (most, list) => (list.length > most.length ? list : most),
        [],
      );
      if (busiest.length <= mine.length + 1) return 'full';
      const oldest = busiest[0]!;
      this.#release(oldest);
      oldest.evict();
    }
    const holder: Holder = { address, evict, held: true };
    mine.push(holder);
    this.#byAddress.set(address, mine);
    this.#held++;
    return { release: () => this.#release(holder) };
  }

  #release(holder: Holder): void {
    if (!holder.held) return;
    holder.held = false;
    this.#held--;
    const list = this.#byAddress.get(holder.address) ?? [];
    const at = list.indexOf(holder);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#byAddress.delete(holder.address);
  }
}
