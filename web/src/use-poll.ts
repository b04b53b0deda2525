import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiError } from '../../src/protocol/client.ts';
import { asApiError, useSession } from './session.ts';

export interface Poll<T> {
  /** The last successful answer; kept while a later load fails, so the view does not blank. */
  data: T | undefined;
  /** The error of the last load, cleared by the next success. */
  error: ApiError | undefined;
  /** Loads now; resolves when the view shows the answer (or the error). */
  refresh: () => Promise<void>;
}

/**
 * Loads `load()` now and every `intervalMs` while the tab is visible.
 *
 * States: loading → showing (data | error) → waiting intervalMs → loading …
 * A refresh started later supersedes one still in flight (a sequence number drops the older
 * answer), so an action's refresh is never overwritten by a poll that began before it.
 * A rejected token signs the session out. Unmounting stops the timer.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number): Poll<T> {
  const { signOut } = useSession();
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | undefined }>({ data: undefined, error: undefined });
  const loadRef = useRef(load);
  loadRef.current = load;
  const sequence = useRef(0);

  const refresh = useCallback(async () => {
    const mine = ++sequence.current;
    try {
      const data = await loadRef.current();
      if (mine === sequence.current) setState({ data, error: undefined });
    } catch (err) {
      const error = asApiError(err);
      if (error.code === 'UNAUTHENTICATED') {
        signOut(`The server rejected the token (${error.code}): ${error.message}`);
        return;
      }
      if (mine === sequence.current) setState((previous) => ({ data: previous.data, error }));
    }
  }, [signOut]);

  useEffect(() => {
    void refresh();
    const timer = window.setInterval(() => {
      if (!document.hidden) void refresh();
    }, intervalMs);
    const onVisible = () => {
      if (!document.hidden) void refresh();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
      // Answers still in flight belong to a view that is gone.
      sequence.current += 1;
    };
  }, [refresh, intervalMs]);

  return { ...state, refresh };
}
