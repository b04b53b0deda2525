import { projectsHref } from '../route.ts';
import { useSession } from '../session.ts';

export function AppHeader() {
  const { whoami, signOut } = useSession();
  return (
    <header className="app-header">
      <div className="app-header-inner">
        <a className="brand" href={projectsHref}>
          <span className="brand-mark" aria-hidden="true" />
          Slipway
        </a>
        <nav className="app-nav">
          <a href={projectsHref}>Projects</a>
          <a href="/api/docs" target="_blank" rel="noreferrer">
            API
          </a>
        </nav>
        <div className="identity">
          <span className="identity-name" title={whoami.token === null ? 'Signed in' : `Token ${whoami.token.id}`}>
            {whoami.actor.name}
          </span>
          <span className="chip">{whoami.actor.role}</span>
          <button type="button" className="button small" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
