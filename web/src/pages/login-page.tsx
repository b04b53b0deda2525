import { useState, type FormEvent } from 'react';
import type { Whoami } from '../../../src/protocol/api.ts';
import type { ApiError } from '../../../src/protocol/client.ts';
import { ErrorNote } from '../components/error-note.tsx';
import { asApiError, clientFor } from '../session.ts';

/** Paste a token; it is checked with /whoami before the dashboard keeps it. */
export function LoginPage({ message, onSignIn }: { message: string | undefined; onSignIn: (token: string, whoami: Whoami) => void }) {
  const [token, setToken] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const secret = token.trim();
    setPending(true);
    setError(undefined);
    try {
      onSignIn(secret, await clientFor(secret).whoami());
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setPending(false);
    }
  };

  return (
    <main className="login">
      <form className="card login-card" onSubmit={(e) => void submit(e)}>
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Slipway
        </div>
        <p className="muted">Sign in with an API token. The admin token is printed when the server starts for the first time; admins make more with <code>slipway tokens create</code>.</p>
        {message && (
          <p className="lock-warning" role="status">
            {message}
          </p>
        )}
        <label className="field">
          <span>API token</span>
          <input
            type="password"
            autoComplete="current-password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="Paste your token"
            required
            autoFocus
          />
        </label>
        {error && <ErrorNote error={error} />}
        <button type="submit" className="button primary wide" disabled={pending || token.trim() === ''}>
          {pending ? 'Checking…' : 'Sign in'}
        </button>
        <p className="muted small">The token stays in this browser’s local storage until you sign out.</p>
      </form>
    </main>
  );
}
