import type { Instance, InstancePool } from './instance-proxy.ts';


/** How old a routing read may be when it serves a request. A rollout waits longer than this after taking an instance out of rotation. */
export const ROUTES_MAX_AGE_MS = 200;

/** Keys come from Host headers, which clients choose: the table stays this small. */
const MAX_ENTRIES = 4096;

/**
 * The instances each service environment is served by, read from the store at most once per
 * ROUTES_MAX_AGE_MS per environment however many requests arrive, and never older than that:
 * a request that finds its entry too old waits for the read it starts (or joins). An
 * instance that leaves rotation stops getting requests from this process within
 * ROUTES_MAX_AGE_MS, at once when this process changed its rotation (`invalidate`).
 *
 * States of one key's entry:
 *   absent    nothing read; the next request reads
 *   fresh     read less than ROUTES_MAX_AGE_MS ago: served as it is
 *   stale     older: the next request reads again; the pool object (and its round-robin
 *             cursor) is kept, its instances replaced
 *   reading   a read is in flight; requests join it
 * A read that fails leaves the entry as it was and fails the requests that waited for it.
 */
export class RoutingTable {
  readonly #read: (key: string) => Promise<readonly Instance[] | undefined>;
  readonly #maxAgeMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Bumped by `invalidate`: a read that began before it must not be kept. */
  #generation = 0;

  constructor(read: (key: string) => Promise<readonly Instance[] | undefined>, maxAgeMs = ROUTES_MAX_AGE_MS) {
    this.#read = read;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The environment's pool, undefined when the environment has no service instances to speak of. */
  get(key: string): Promise<InstancePool | undefined> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      if (entry.reading !== undefined) return entry.reading;
      if (performance.now() - entry.readAt < this.#maxAgeMs) return Promise.resolve(entry.pool);
    }
    return this.#start(key, entry);
  }

  /** Forgets every read: the next request of each environment reads the store again. */
  invalidate(): void {
    this.#generation++;
    for (const entry of this.#entries.values()) entry.readAt = -Infinity;
  }

  #start(key: string, known: Entry | undefined): Promise<InstancePool | undefined> {
    if (known === undefined && this.#entries.size >= MAX_ENTRIES) this.#evictStale();
    const entry: Entry = known ?? { pool: undefined, readAt: -Infinity, reading: undefined };
    this.#entries.set(key, entry);
    const generation = this.#generation;
    const startedAt = performance.now();
    const reading = this.#read(key).then(
      (instances) => {
        entry.reading = undefined;
        if (instances === undefined) entry.pool = undefined;
        else if (entry.pool === undefined) entry.pool = { instances, cursor: -1 };
        else entry.pool.instances = instances;
        if (generation === this.#generation) entry.readAt = startedAt;
        return entry.pool;
      },
      (err: unknown) => {
        entry.reading = undefined;
        if (entry.pool === undefined && this.#entries.get(key) === entry) this.#entries.delete(key);
        throw err;
      },
    );
    entry.reading = reading;
    return reading;
  }

  #evictStale(): void {
    const now = performance.now();
    for (const [key, entry] of this.#entries) {
      if (entry.reading === undefined && now - entry.readAt >= this.#maxAgeMs) this.#entries.delete(key);
    }
    // Everything fresh (a flood of distinct hosts within one window): start over.
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
  }
}

interface Entry {
  pool: InstancePool | undefined;
  /** When the read that produced `pool` began (performance.now()); its age is counted from then. */
  readAt: number;
  reading: Promise<InstancePool | undefined> | undefined;
}
