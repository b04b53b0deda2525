import { useCallback, useState, type FormEvent } from 'react';
import { ErrorNote } from '../components/error-note.tsx';
import { ExternalLink } from '../components/external-link.tsx';
import { TimeAgo } from '../components/time-ago.tsx';
import { projectHref } from '../route.ts';
import { reachesRole, useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { useLive } from '../use-live.ts';

export function ProjectsPage() {
  const { client, whoami } = useSession();
  // Creating a project is a global deployer's (a membership raises the role on its project only).
  const canDeploy = reachesRole(whoami.scope === null ? whoami.actor.role : null, 'deployer');
  const load = useCallback(async () => (await client.listProjects()).projects, [client]);
  const poll = useLive(load, { topics: ['environments', 'releases', 'settings'] });
  const action = useAction(poll.refresh);
  const [name, setName] = useState('');

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() => client.createProject(name.trim()));
    if (outcome.ok) window.location.hash = projectHref(outcome.value.name);
  };

  const projects = poll.data;
  return (
    <main className="page">
      <div className="page-head">
        <h1>Projects</h1>
      </div>
      {poll.error && <ErrorNote error={poll.error} />}
      {canDeploy && (
        <form className="card form-row create-project" onSubmit={(e) => void create(e)} aria-label="Create a project">
          <label className="field grow">
            <span>New project</span>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="shop" required />
          </label>
          <button type="submit" className="button primary" disabled={action.pending || name.trim() === ''}>
            {action.pending ? 'Creating…' : 'Create project'}
          </button>
        </form>
      )}
      {action.error && <ErrorNote error={action.error} onDismiss={action.clear} />}
      {projects === undefined ? (
        !poll.error && <p className="muted">Loading…</p>
      ) : projects.length === 0 ? (
        <div className="empty card">
          <p>No projects yet. Create one above, or deploy from a terminal:</p>
          <pre>
            <code>slipway deploy ./dist --project shop</code>
          </pre>
        </div>
      ) : (
        <div className="table-wrap card flush">
          <table className="table projects">
            <thead>
              <tr>
                <th>Project</th>
                <th>Production URL</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {projects.map((project) => (
                <tr key={project.id}>
                  <td>
                    <a className="strong" href={projectHref(project.name)}>
                      {project.name}
                    </a>
                  </td>
                  <td>
                    <ExternalLink href={project.url} />
                  </td>
                  <td className="nowrap">
                    <TimeAgo iso={project.createdAt} /> <span className="muted">by {project.createdBy}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
