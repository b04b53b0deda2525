/**
 * A least-recently-used map bounded by total weight: by count when every entry weighs 1, by
 * bytes when the weight is a body's length. A Map keeps insertion order, so re-inserting on
 * every hit keeps the least recently used entry first, where eviction finds it.
 */
export class Lru<K, V> {
  readonly #map = new Map<K, V>();
  readonly #maxWeight: number;
  readonly #weigh: (value: V) => number;
  #weight = 0;

  constructor(maxWeight: number, weigh: (value: V) => number = () => 1) {
    this.#maxWeight = maxWeight;
    this.#weigh = weigh;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Total weight held, never more than the bound. */
  get weight(): number {
    return this.#weight;
  }

  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Stores `value` unless it alone weighs more than the bound; evicts the oldest entries to make room. */
  set(key: K, value: V): void {
    const weight = this.#weigh(value);
    this.delete(key);
    if (weight > this.#maxWeight) return;
    this.#map.set(key, value);
    this.#weight += weight;
    for (const [oldKey, oldValue] of this.#map) {
      if (this.#weight <= this.#maxWeight) break;
      this.#map.delete(oldKey);
      this.#weight -= this.#weigh(oldValue);
    }
  }

  delete(key: K): boolean {
    const value = this.#map.get(key);
    if (value === undefined) return false;
    this.#map.delete(key);
    this.#weight -= this.#weigh(value);
    return true;
  }
}
