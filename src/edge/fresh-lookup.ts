/**
 * Shares reads of changing state (an environment's pointer, a domain's mapping) among
 * concurrent requests without ever answering a request from a read that began before the
 * request arrived. So a repoint committed before a request arrives is always visible to it,
 * exactly as with one read per request, while a burst of concurrent requests for one
 * environment costs one read per burst instead of one per request. Nothing is kept once
 * reads go idle: this is not a cache.
 *
 * A read starts one event-loop turn (setImmediate) after the first request that wants it, so
 * that every request parsed in the same I/O phase can share it; with a synchronous driver
 * (better-sqlite3) a read would otherwise finish before the next request is even parsed.
 *
 * States of one key's slot:
 *   absent          no read wanted; the next request queues one
 *   queued          a read will start on the next turn; arriving requests join it
 *   running         a read is in flight; arriving requests cannot use it (it may predate
 *                   them), so they queue the next read, which starts when this one settles
 *   running+queued  as running, with the next read already promised; arriving requests join it
 * When a read settles with nobody queued, the slot is removed (back to absent).
 */
export class FreshLookup<K, V> {
  readonly #read: (key: K) => Promise<V>;
  readonly #slots = new Map<K, Slot<V>>();

  constructor(read: (key: K) => Promise<V>) {
    this.#read = read;
  }

  get(key: K): Promise<V> {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = { running: undefined, queued: undefined };
      this.#slots.set(key, slot);
    }
    if (slot.queued === undefined) {
      const queuedSlot = slot;
      slot.queued = afterCurrent(slot.running).then(() => {
        queuedSlot.queued = undefined;
        return this.#start(key, queuedSlot);
      });
    }
    return slot.queued;
  }

  #start(key: K, slot: Slot<V>): Promise<V> {
    let read: Promise<V>;
    try {
      read = this.#read(key);
    } catch (err) {
      read = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const running = read.finally(() => {
      if (slot.running === running) slot.running = undefined;
      if (slot.queued === undefined && slot.running === undefined && this.#slots.get(key) === slot) this.#slots.delete(key);
    });
    slot.running = running;
    return running;
  }
}

interface Slot<V> {
  running: Promise<V> | undefined;
  queued: Promise<V> | undefined;
}

/** Resolves once `running` has settled (either way), and never before the next event-loop turn. */
function afterCurrent(running: Promise<unknown> | undefined): Promise<void> {
  const turn = new Promise<void>((resolve) => setImmediate(resolve));
  if (running === undefined) return turn;
  return Promise.all([turn, running.then(noop, noop)]).then(noop);
}

function noop(): void {}
