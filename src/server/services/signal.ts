/**
 * An in-process wakeup without memory: `wait` resolves true on the next `notify()`, false when
 * its time runs out or its abort signal fires, and at once (false) after `close()`. Whoever
 * waits re-reads the store afterwards, so a notify that came early or a wait that timed out
 * costs one extra read, never a lost event; other replicas are covered by that re-read too.
 *
 * A wait may name a key (an agent's id): then `notify(keys)` wakes it only when its key is among
 * them, so a change of one agent does not make every long-polling agent read the store again.
 * `notify()` without keys wakes every waiter, keyed or not.
 */
export class Signal {
  #waiters = new Set<(woken: boolean) => void>();
  #keyed = new Map<string, Set<(woken: boolean) => void>>();
  #closed = false;

  wait(ms: number, abort?: AbortSignal, key?: string): Promise<boolean> {
    if (this.#closed || abort?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (woken: boolean): void => {
        clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        if (key === undefined) {
          this.#waiters.delete(finish);
        } else {
          const set = this.#keyed.get(key);
          set?.delete(finish);
          if (set?.size === 0) this.#keyed.delete(key);
        }
        resolve(woken);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(finish, ms, false);
      abort?.addEventListener('abort', onAbort, { once: true });
      if (key === undefined) {
        this.#waiters.add(finish);
      } else {
        let set = this.#keyed.get(key);
        if (set === undefined) this.#keyed.set(key, (set = new Set()));
        set.add(finish);
      }
    });
  }

  /** Wakes the waiters without a key, and those of `keys` (every keyed waiter when no keys are given). */
  notify(keys?: readonly string[]): void {
    for (const finish of [...this.#waiters]) finish(true);
    const sets = keys === undefined ? [...this.#keyed.values()] : keys.flatMap((k) => this.#keyed.get(k) ?? []);
    for (const set of sets) for (const finish of [...set]) finish(true);
  }

  /** Releases every waiter and makes later waits return at once (the server is stopping). */
  close(): void {
    this.#closed = true;
    for (const finish of [...this.#waiters]) finish(false);
    for (const set of [...this.#keyed.values()]) for (const finish of [...set]) finish(false);
  }

  get closed(): boolean {
    return this.#closed;
  }
}
