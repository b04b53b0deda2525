import { useCallback, useState, type FormEvent } from 'react';
import type { Project } from '../../../src/protocol/api.ts';
import type { Pipeline, PipelineStage } from '../../../src/protocol/pipelines.ts';
import { ErrorNote } from '../components/error-note.tsx';
import { ExternalLink } from '../components/external-link.tsx';
import { SourceRef } from '../components/source-ref.tsx';
import { TimeAgo } from '../components/time-ago.tsx';
import { projectHref, releaseHref } from '../route.ts';
import { useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { useLive } from '../use-live.ts';
import '../styles/pipeline.css';

export function ProjectsPage() {
  const { client, whoami } = useSession();
  // Creating a project: the server's verdict (a membership raises a role on its own project only).
  const canDeploy = whoami.actions?.createProject.allowed === true;
  const load = useCallback(async () => {
    const { projects } = await client.listProjects();
    // Each project's path to production (one call per project; a project the caller cannot read shows without it).
    const pipelines = await Promise.all(projects.map((p) => client.getPipeline(p.name).catch(() => null)));
    return projects.map((project, i) => ({ ...project, production: productionOf(pipelines[i] ?? null) }));
  }, [client]);
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
        <ul className="project-list" aria-label="Projects">
          {projects.map((project) => (
            <ProjectCard key={project.id} project={project} production={project.production} />
          ))}
        </ul>
      )}
    </main>
  );
}

/** The environment a project ships to: `production`, else the last stage of its pipeline. */
function productionOf(pipeline: Pipeline | null): PipelineStage | null {
  if (pipeline === null) return null;
  return pipeline.stages.find((s) => s.name === 'production') ?? pipeline.stages.at(-1) ?? null;
}

/** One project at a glance: what production runs and since when, and anything waiting, failed, locked or pinned there. */
function ProjectCard({ project, production }: { project: Project; production: PipelineStage | null }) {
  const failed = production?.waiting.filter((r) => r.gates?.outcome === 'fail') ?? [];
  const waiting = production?.waiting.filter((r) => r.gates?.outcome !== 'fail') ?? [];
  const held = production !== null && (waiting.length > 0 || production.pin !== null);
  const tone = production?.lock ? ' is-locked' : failed.length > 0 ? ' is-failed' : held ? ' is-held' : '';
  const runs = production?.runs ?? null;
  return (
    <li className={`card project-card${tone}`} data-project={project.name}>
      <div className="project-card-head">
        <h2>
          <a className="strong" href={projectHref(project.name)}>
            {project.name}
          </a>
        </h2>
        <ExternalLink href={project.url} />
      </div>
      {production === null ? (
        <p className="muted project-production">No environments yet.</p>
      ) : runs === null ? (
        <p className="muted project-production">{production.name}: nothing live yet.</p>
      ) : (
        <p className="project-production" data-production={production.name}>
          <span className="muted">{production.name} runs</span>{' '}
          {runs.releaseId ? (
            <a className="mono strong" href={releaseHref(project.name, runs.releaseId)}>
              v{runs.release}
            </a>
          ) : (
            <span className="mono strong">v{runs.release}</span>
          )}{' '}
          <SourceRef commit={runs.commit} branch={runs.branch} author={runs.author} />
          {runs.since && (
            <span className="muted">
              {' '}
              · since <TimeAgo iso={runs.since} />
            </span>
          )}
        </p>
      )}
      {production !== null && (production.lock || production.pin || waiting.length > 0 || failed.length > 0) && (
        <ul className="project-flags">
          {production.lock && (
            <li data-flag="locked">
              <span className="badge badge-locked">LOCKED</span> by {production.lock.by} — “{production.lock.reason}”
            </li>
          )}
          {production.pin && (
            <li data-flag="pinned">
              <span className="badge badge-pinned">PINNED</span> by {production.pin.by}
              {production.pin.reason && <> — “{production.pin.reason}”</>}
            </li>
          )}
          {waiting.map((release) => (
            <li key={release.id} data-flag="waiting">
              <a href={releaseHref(project.name, release.id)}>v{release.number}</a> waits
              {release.gates?.outcome === 'wait' && release.gates.reasons[0] && <span className="muted"> — {release.gates.reasons[0].message}</span>}
            </li>
          ))}
          {failed.map((release) => (
            <li key={release.id} data-flag="failed" className="danger-text">
              <a href={releaseHref(project.name, release.id)}>v{release.number}</a> failed
              {release.stateReason && <span> — {release.stateReason}</span>}
            </li>
          ))}
        </ul>
      )}
      <p className="muted small">
        Created <TimeAgo iso={project.createdAt} /> by {project.createdBy}
      </p>
    </li>
  );
}
