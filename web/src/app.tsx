import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Whoami } from '../../src/protocol/api.ts';
import type { ApiError } from '../../src/protocol/client.ts';
import { AppHeader } from './components/app-header.tsx';
import { ErrorNote } from './components/error-note.tsx';
import { LoginPage } from './pages/login-page.tsx';
import { ProjectPage } from './pages/project-page.tsx';
import { ProjectsPage } from './pages/projects-page.tsx';
import { projectsHref, useRoute } from './route.ts';
import { asApiError, clientFor, forgetToken, SessionContext, storedToken, storeToken, type Credential, type Session } from './session.ts';

/**
 * Auth states: checking (a stored token, or a session cookie, is being verified) → signed-in, or
 * → signed-out (nothing stored, or the server rejected it). Signing out forgets the token or ends
 * the session.
 */
type Auth =
  | { state: 'checking'; credential: Credential | undefined }
  | { state: 'signed-in'; credential: Credential; whoami: Whoami }
  | { state: 'signed-out'; message: string | undefined }
  | { state: 'unreachable'; credential: Credential | undefined; error: ApiError };

function initialAuth(): Auth {
  const token = storedToken();
  // No token: a session cookie may still be there (the page cannot see an HttpOnly cookie; the server can).
  return { state: 'checking', credential: token ? { kind: 'token', token } : undefined };
}

/** Who a credential is; without one, the browser's session (if it has one) and its CSRF token. */
async function identify(credential: Credential | undefined): Promise<{ credential: Credential; whoami: Whoami }> {
  let known = credential;
  if (known === undefined) known = { kind: 'session', csrf: (await clientFor({ kind: 'session', csrf: '' }).getSession()).csrf };
  return { credential: known, whoami: await clientFor(known).whoami() };
}

export function App() {
  const [auth, setAuth] = useState<Auth>(initialAuth);
  const route = useRoute();

  const signedInWith = auth.state === 'signed-in' ? auth.credential : undefined;
  const signOut = useCallback(
    (message?: string) => {
      forgetToken();
      if (signedInWith?.kind === 'session') void clientFor(signedInWith).signOut().catch(() => undefined);
      setAuth({ state: 'signed-out', message });
    },
    [signedInWith],
  );

  const checking = auth.state === 'checking';
  const checkCredential = auth.state === 'checking' ? auth.credential : undefined;
  useEffect(() => {
    if (!checking) return undefined;
    let current = true;
    identify(checkCredential).then(
      ({ credential, whoami }) => {
        if (current) setAuth({ state: 'signed-in', credential, whoami });
      },
      (err: unknown) => {
        if (!current) return;
        const error = asApiError(err);
        if (error.code === 'UNAUTHENTICATED') {
          forgetToken();
          setAuth({ state: 'signed-out', message: checkCredential === undefined ? undefined : `The stored token was rejected (${error.code}). Sign in again.` });
        } else setAuth({ state: 'unreachable', credential: checkCredential, error });
      },
    );
    return () => {
      current = false;
    };
  }, [checking, checkCredential]);

  const session = useMemo<Session | undefined>(
    () =>
      auth.state === 'signed-in'
        ? {
            client: clientFor(auth.credential),
            whoami: auth.whoami,
            signOut,
          }
        : undefined,
    [auth, signOut],
  );

  if (auth.state === 'checking') return <main className="page muted">Checking who you are…</main>;
  if (auth.state === 'unreachable') {
    return (
      <main className="page">
        <ErrorNote error={auth.error} />
        <div className="form-actions">
          <button type="button" className="button primary" onClick={() => setAuth({ state: 'checking', credential: auth.credential })}>
            Try again
          </button>
          <button type="button" className="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </main>
    );
  }
  if (auth.state === 'signed-out' || session === undefined) {
    return (
      <LoginPage
        message={auth.state === 'signed-out' ? auth.message : undefined}
        onSignIn={(credential, whoami) => {
          if (credential.kind === 'token') storeToken(credential.token);
          setAuth({ state: 'signed-in', credential, whoami });
        }}
      />
    );
  }

  return (
    <SessionContext.Provider value={session}>
      <AppHeader />
      {route.page === 'project' || route.page === 'release' ? (
        <ProjectPage key={route.project} route={route} />
      ) : route.page === 'projects' ? (
        <ProjectsPage />
      ) : (
        <main className="page">
          <p>
            Nothing at <code>{route.hash}</code>. <a href={projectsHref}>Go to the projects</a>.
          </p>
        </main>
      )}
    </SessionContext.Provider>
  );
}
