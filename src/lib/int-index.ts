const EMPTY = -1;

/**
 * A map from non-negative safe integers to non-negative int32 values in two
 * typed arrays (open addressing, linear probing, at most half full): 12 to 24
 * bytes an entry, where a Map of numbers holds about 70 before deletions and
 * 140 under churn. For keys a Map would spend most of an LRU entry on.
 */
export class IntIndex {
  #keys = new Float64Array(16);
  #values = new Int32Array(16).fill(EMPTY);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: number): number | undefined {
    const at = this.#find(key);
    return this.#values[at] === EMPTY ? undefined : this.#values[at];
  }

  set(key: number, value: number): void {
    let at = this.#find(key);
    if (this.#values[at] === EMPTY) {
      if (2 * (this.#size + 1) > this.#values.length) {
        this.#grow();
        at = this.#find(key);
      }
      this.#keys[at] = key;
      this.#size++;
    }
    this.#values[at] = value;
  }

  delete(key: number): void {
    let hole = this.#find(key);
    if (this.#values[hole] === EMPTY) return;
    this.#size--;
    // Backward shift: entries after the hole that could sit in it move up, so no probe ever stops short.
    const mask = this.#values.length - 1;
    let at = hole;
    for (;;) {
      at = (at + 1) & mask;
      const value = this.#values[at] ?? EMPTY;
      if (value === EMPTY) break;
      const key = this.#keys[at] ?? 0;
      const home = this.#home(key);
      // The entry at `at` may fill the hole unless its home lies cyclically in (hole, at].
      if (hole <= at ? home <= hole || home > at : home <= hole && home > at) {
        this.#keys[hole] = key;
        this.#values[hole] = value;
        hole = at;
      }
    }
    this.#values[hole] = EMPTY;
  }

  /** The key's cell, or the empty cell where it would go. */
  #find(key: number): number {
    const mask = this.#values.length - 1;
    let at = this.#home(key);
    while (this.#values[at] !== EMPTY && this.#keys[at] !== key) at = (at + 1) & mask;
    return at;
  }

  #home(key: number): number {
    // Both halves of the key mixed: an IPv4 key differs from its neighbours in the low bits, its tier in the high ones.
    const low = key >>> 0;
    const high = (key / 4294967296) >>> 0;
    let h = Math.imul(low ^ Math.imul(high, 0x27d4eb2d), 0x9e3779b1);
    h ^= h >>> 15;
    return h & (this.#values.length - 1);
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    this.#keys = new Float64Array(keys.length * 2);
    this.#values = new Int32Array(values.length * 2).fill(EMPTY);
    for (let i = 0; i < values.length; i++) {
      const value = values[i] ?? EMPTY;
      if (value === EMPTY) continue;
      const key = keys[i] ?? 0;
      const at = this.#find(key);
      this.#keys[at] = key;
      this.#values[at] = value;
    }
  }
}
