import { createContext, useContext } from 'react';
import type { Whoami } from '../../src/protocol/api.ts';
import { ApiError, SlipwayClient } from '../../src/protocol/client.ts';

/**
 * How this browser proves who it is: a pasted API token (kept in local storage), or an email
 * and password sign-in, which leaves an HttpOnly session cookie the page cannot read and a CSRF
 * token (kept in memory only) that every write sends along.
 */
export type Credential = { kind: 'token'; token: string } | { kind: 'session'; csrf: string };

/** What every signed-in view needs: the API client and who is signed in. */
export interface Session {
  client: SlipwayClient;
  whoami: Whoami;
  /** Forgets the token or ends the session; `message` is shown on the login screen (a rejected token, say). */
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

/** The dashboard is served by the control plane it talks to, so the API is on this origin (and the session cookie goes along). */
export function clientFor(credential: Credential): SlipwayClient {
  if (credential.kind === 'token') return new SlipwayClient({ url: location.origin, token: credential.token });
  return new SlipwayClient({ url: location.origin, headers: { 'x-slipway-csrf': credential.csrf } });
}

/** Anything an API call threw, as an ApiError the UI can show with its code. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError('CLIENT_ERROR', err instanceof Error ? err.message : String(err), 0);
}
