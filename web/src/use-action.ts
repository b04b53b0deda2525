import { useCallback, useState } from 'react';
import type { ApiError } from '../../src/protocol/client.ts';
import { asApiError } from './session.ts';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export interface Action {
  pending: boolean;
  /** The error of the last run, shown next to the form that caused it. */
  error: ApiError | undefined;
  /**
   * Runs one change through the API, then `refresh` — after a failure too, because a
   * conflict means the view is stale. Never rejects.
   */
  run: <T>(change: () => Promise<T>) => Promise<Outcome<T>>;
  clear: () => void;
}

export function useAction(refresh: () => Promise<void>): Action {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);

  const run = useCallback(
    async <T>(change: () => Promise<T>): Promise<Outcome<T>> => {
      setPending(true);
      setError(undefined);
      let outcome: Outcome<T>;
      try {
        outcome = { ok: true, value: await change() };
      } catch (err) {
        outcome = { ok: false, error: asApiError(err) };
        setError(outcome.error);
      }
      await refresh();
      setPending(false);
      return outcome;
    },
    [refresh],
  );

  const clear = useCallback(() => setError(undefined), []);
  return { pending, error, run, clear };
}
