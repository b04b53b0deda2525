import { createContext, useContext } from 'react';
import type { Whoami } from '../../src/protocol/api.ts';
import { ApiError, SlipwayClient } from '../../src/protocol/client.ts';

/** What every signed-in view needs: the API client and who the token belongs to. */
export interface Session {
  client: SlipwayClient;
  whoami: Whoami;
  /** Viewer tokens may look but not move environments. */
  canDeploy: boolean;
  /** Forgets the token; `message` is shown on the login screen (a rejected token, say). */
  signOut: (message?: string) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession is only available below a signed-in SessionContext');
  return session;
}

const TOKEN_KEY = 'slipway.token';

export function storedToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}

/** The dashboard is served by the control plane it talks to, so the API is on this origin. */
export function clientFor(token: string): SlipwayClient {
  return new SlipwayClient({ url: location.origin, token });
}

/** Anything an API call threw, as an ApiError the UI can show with its code. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError('CLIENT_ERROR', err instanceof Error ? err.message : String(err), 0);
}
