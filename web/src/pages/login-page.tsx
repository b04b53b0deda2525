import { useState, type FormEvent } from 'react';
import type { Whoami } from '../../../src/protocol/api.ts';
import type { ApiError } from '../../../src/protocol/client.ts';
import { ErrorNote } from '../components/error-note.tsx';
import { asApiError, clientFor, type Credential } from '../session.ts';

/**
 * Sign in with email and password (a session cookie), or paste an API token (checked with
 * /whoami before the dashboard keeps it).
 */
export function LoginPage({ message, onSignIn }: { message: string | undefined; onSignIn: (credential: Credential, whoami: Whoami) => void }) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setError(undefined);
    try {
      let credential: Credential;
      if (mode === 'token') {
        credential = { kind: 'token', token: token.trim() };
      } else {
        const session = await clientFor({ kind: 'session', csrf: '' }).signIn({ email: email.trim(), password });
        credential = { kind: 'session', csrf: session.csrf };
      }
      onSignIn(credential, await clientFor(credential).whoami());
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setPending(false);
    }
  };

  const ready = mode === 'token' ? token.trim() !== '' : email.trim() !== '' && password !== '';
  return (
    <main className="login">
      <form className="card login-card" onSubmit={(e) => void submit(e)}>
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Slipway
        </div>
        {message && (
          <p className="lock-warning" role="status">
            {message}
          </p>
        )}
        {mode === 'password' ? (
          <>
            <label className="field">
              <span>Email</span>
              <input type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required autoFocus />
            </label>
            <label className="field">
              <span>Password</span>
              <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
            </label>
          </>
        ) : (
          <>
            <p className="muted">
              The admin token is printed when the server starts for the first time; <code>slipway tokens create</code> makes more, and anyone can make a personal
              token of their own.
            </p>
            <label className="field">
              <span>API token</span>
              <input type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} placeholder="Paste your token" required autoFocus />
            </label>
          </>
        )}
        {error && <ErrorNote error={error} />}
        <button type="submit" className="button primary wide" disabled={pending || !ready}>
          {pending ? 'Checking…' : 'Sign in'}
        </button>
        <button
          type="button"
          className="button wide"
          onClick={() => {
            setMode(mode === 'password' ? 'token' : 'password');
            setError(undefined);
          }}
        >
          {mode === 'password' ? 'Use an API token instead' : 'Use email and password instead'}
        </button>
        <p className="muted small">
          {mode === 'password'
            ? 'Signing in keeps a session cookie for 12 hours (2 hours idle).'
            : 'The token stays in this browser’s local storage until you sign out.'}
        </p>
      </form>
    </main>
  );
}
