/**
 * An in-process wakeup without memory: `wait` resolves true on the next `notify()`, false when
 * its time runs out or its abort signal fires, and at once (false) after `close()`. Whoever
 * waits re-reads the store afterwards, so a notify that came early or a wait that timed out
 * costs one extra read, never a lost event; other replicas are covered by that re-read too.
 */
export class Signal {
  #waiters = new Set<(woken: boolean) => void>();
  #closed = false;

  wait(ms: number, abort?: AbortSignal): Promise<boolean> {
    if (this.#closed || abort?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (woken: boolean): void => {
        clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        this.#waiters.delete(finish);
        resolve(woken);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(finish, ms, false);
      abort?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(finish);
    });
  }

  notify(): void {
    for (const finish of [...this.#waiters]) finish(true);
  }

  /** Releases every waiter and makes later waits return at once (the server is stopping). */
  close(): void {
    this.#closed = true;
    for (const finish of [...this.#waiters]) finish(false);
  }

  get closed(): boolean {
    return this.#closed;
  }
}
