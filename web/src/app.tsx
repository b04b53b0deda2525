import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Whoami } from '../../src/protocol/api.ts';
import type { ApiError } from '../../src/protocol/client.ts';
import { AppHeader } from './components/app-header.tsx';
import { ErrorNote } from './components/error-note.tsx';
import { LoginPage } from './pages/login-page.tsx';
import { ProjectPage } from './pages/project-page.tsx';
import { ProjectsPage } from './pages/projects-page.tsx';
import { projectsHref, useRoute } from './route.ts';
import { asApiError, clientFor, forgetToken, SessionContext, storedToken, storeToken, type Session } from './session.ts';

/**
 * Auth states: checking (a stored token is being verified) → signed-in, or → signed-out
 * (no token, or the server rejected it). Signing out forgets the stored token.
 */
type Auth =
  | { state: 'checking'; token: string }
  | { state: 'signed-in'; token: string; whoami: Whoami }
  | { state: 'signed-out'; message: string | undefined }
  | { state: 'unreachable'; token: string; error: ApiError };

function initialAuth(): Auth {
  const token = storedToken();
  return token ? { state: 'checking', token } : { state: 'signed-out', message: undefined };
}

export function App() {
  const [auth, setAuth] = useState<Auth>(initialAuth);
  const route = useRoute();

  const signOut = useCallback((message?: string) => {
    forgetToken();
    setAuth({ state: 'signed-out', message });
  }, []);

  const checkToken = auth.state === 'checking' ? auth.token : undefined;
  useEffect(() => {
    if (checkToken === undefined) return undefined;
    let current = true;
    clientFor(checkToken)
      .whoami()
      .then(
        (whoami) => {
          if (current) setAuth({ state: 'signed-in', token: checkToken, whoami });
        },
        (err: unknown) => {
          if (!current) return;
          const error = asApiError(err);
          if (error.code === 'UNAUTHENTICATED') signOut(`The stored token was rejected (${error.code}). Sign in again.`);
          else setAuth({ state: 'unreachable', token: checkToken, error });
        },
      );
    return () => {
      current = false;
    };
  }, [checkToken, signOut]);

  const session = useMemo<Session | undefined>(
    () =>
      auth.state === 'signed-in'
        ? { client: clientFor(auth.token), whoami: auth.whoami, canDeploy: auth.whoami.token.role === 'deployer' || auth.whoami.token.role === 'admin', signOut }
        : undefined,
    [auth, signOut],
  );

  if (auth.state === 'checking') return <main className="page muted">Checking your token…</main>;
  if (auth.state === 'unreachable') {
    return (
      <main className="page">
        <ErrorNote error={auth.error} />
        <div className="form-actions">
          <button type="button" className="button primary" onClick={() => setAuth({ state: 'checking', token: auth.token })}>
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
        onSignIn={(token, whoami) => {
          storeToken(token);
          setAuth({ state: 'signed-in', token, whoami });
        }}
      />
    );
  }

  return (
    <SessionContext.Provider value={session}>
      <AppHeader />
      {route.page === 'project' ? (
        <ProjectPage key={route.project} project={route.project} openBuild={route.build} />
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
