import { useCallback, useEffect, useRef, useState } from 'react';
import type { Environment, Release } from '../../../src/protocol/api.ts';
import type { PipelineStage } from '../../../src/protocol/pipelines.ts';
import { AgentsPanel } from '../components/agents-panel.tsx';
import { AuditLog } from '../components/audit-log.tsx';
import { BuildsPanel } from '../components/builds-panel.tsx';
import { DeliveriesPanel } from '../components/deliveries-panel.tsx';
import { DeploymentsTable } from '../components/deployments-table.tsx';
import { DomainsPanel } from '../components/domains-panel.tsx';
import { EnvironmentCard } from '../components/environment-card.tsx';
import { ErrorNote } from '../components/error-note.tsx';
import { ExternalLink } from '../components/external-link.tsx';
import { GitPushHint } from '../components/git-push-hint.tsx';
import { ReleaseDetailPanel } from '../components/release-detail.tsx';
import { ReleasesPanel } from '../components/releases-panel.tsx';
import { RetiredPreviews } from '../components/retired-previews.tsx';
import { Toast } from '../components/toast.tsx';
import { projectsHref } from '../route.ts';
import { useSession } from '../session.ts';
import { usePoll } from '../use-poll.ts';

const POLL_MS = 4000;

/**
 * Pipeline order, left to right: the server's order of `from:` (upstream first); environments it
 * does not list as stages (previews) after them, by name.
 */
function byStages(stages: readonly PipelineStage[]): (a: Environment, b: Environment) => number {
  const rank = (name: string) => {
    const index = stages.findIndex((s) => s.name === name);
    return index === -1 ? stages.length : index;
  };
  return (a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name);
}

export function ProjectPage({ project, openBuild }: { project: string; openBuild: string | undefined }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [status, pipeline, deployments, events, domains, builds, deliveries, agents] = await Promise.all([
      client.getProjectStatus(project),
      client.getPipeline(project),
      client.listDeployments(project, { limit: 30 }),
      client.listEvents({ project, limit: 50 }),
      client.listDomains(project),
      client.listBuilds(project, { limit: 20 }),
      client.listDeliveries(project, { limit: 20 }),
      client.listAgents(project),
    ]);
    // Retired previews are kept (their deployments stay addressable) but nothing moves them any more.
    const environments = status.environments.filter((e) => e.retiredAt === null).sort(byStages(pipeline.stages));
    const retired = status.environments.filter((e) => e.retiredAt !== null).sort((a, b) => (b.retiredAt ?? '').localeCompare(a.retiredAt ?? ''));
    const releases: Record<string, Release[]> = Object.fromEntries(
      await Promise.all(environments.map(async (e) => [e.name, (await client.listReleases(project, e.name, { limit: 20 })).releases] as const)),
    );
    return {
      project: status.project,
      stages: new Map(pipeline.stages.map((stage) => [stage.name, stage])),
      environments,
      retired,
      releases,
      builds: builds.builds,
      deployments: deployments.deployments,
      events: events.events,
      domains: domains.domains,
      deliveries: deliveries.deliveries,
      agents: agents.agents,
      /** A service project: its latest deployment runs on agents (or it has agents already). */
      service: agents.agents.length > 0 || deployments.deployments.some((d) => d.meta.service !== undefined),
    };
  }, [client, project]);
  const poll = usePoll(load, POLL_MS);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [releasesOf, setReleasesOf] = useState<string | undefined>(undefined);
  /** The release whose gates, commits and checks are open below the environments. */
  const [openRelease, setOpenRelease] = useState<string | undefined>(undefined);
  const closeRelease = useCallback(() => setOpenRelease(undefined), []);
  const closeNotice = useCallback(() => setNotice(undefined), []);
  const showReleases = (name: string) => {
    setReleasesOf(name);
    document.getElementById('releases')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };

  const data = poll.data;
  // A shared link to a build's log lands on its log, not the top of the page (once: later
  // clicks on rows open logs where the person already is).
  const landed = useRef(openBuild === undefined);
  const loaded = data !== undefined;
  useEffect(() => {
    if (landed.current || !loaded) return;
    landed.current = true;
    document.getElementById('builds')?.scrollIntoView({ block: 'start' });
  }, [loaded]);
  if (data === undefined) {
    return (
      <main className="page">
        <Breadcrumbs project={project} />
        {poll.error ? (
          <>
            <ErrorNote error={poll.error} />
            {poll.error.code === 'PROJECT_NOT_FOUND' && (
              <p>
                <a href={projectsHref}>Back to the projects</a>
              </p>
            )}
          </>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </main>
    );
  }

  const pipeline = data.environments.filter((e) => !e.preview);
  const previews = data.environments.filter((e) => e.preview);
  const card = (environment: Environment) => (
    <EnvironmentCard
      key={environment.name}
      environment={environment}
      stage={data.stages.get(environment.name)}
      releases={data.releases[environment.name] ?? []}
      refresh={poll.refresh}
      onDone={setNotice}
      onShowReleases={() => showReleases(environment.name)}
      onOpenRelease={(release) => setOpenRelease(release.id)}
    />
  );
  const known = [...Object.values(data.releases).flat(), ...[...data.stages.values()].flatMap((s) => s.waiting)];
  const opened = known.find((r) => r.id === openRelease);

  return (
    <main className="page">
      <Breadcrumbs project={project} />
      <div className="page-head">
        <h1>{data.project.name}</h1>
        <ExternalLink href={data.project.url} className="head-link" />
      </div>
      <div className="git-remote">
        <span className="muted">Deploy with git</span>
        <GitPushHint gitUrl={data.project.gitUrl} />
        {data.project.repo && (
          <span className="muted small">
            or push to <code>{data.project.repo}</code>
            {data.project.hasWebhookSecret ? ' (webhook)' : ' (no webhook secret set)'}
          </span>
        )}
      </div>
      {poll.error && (
        <div className="stale">
          <ErrorNote error={poll.error} />
          <span className="muted small">Showing the last data that loaded.</span>
        </div>
      )}

      <section className="section" aria-labelledby="environments-title">
        <h2 id="environments-title">Environments</h2>
        {data.environments.length === 0 ? (
          <div className="empty card">
            <p>No environments yet. Promote a deployment to create one — production is the usual first — or push a branch to get its preview:</p>
            <p>
              <GitPushHint gitUrl={data.project.gitUrl} />
            </p>
          </div>
        ) : (
          pipeline.length > 0 && <div className="env-grid">{pipeline.map(card)}</div>
        )}
        {openRelease !== undefined && (
          <ReleaseDetailPanel
            key={openRelease}
            project={project}
            releaseId={openRelease}
            known={known}
            required={(opened && data.stages.get(opened.environment)?.policy.checks) ?? []}
            onOpen={setOpenRelease}
            onClose={closeRelease}
          />
        )}
        {previews.length > 0 && (
          <section aria-labelledby="previews-title">
            <h3 className="subhead" id="previews-title">
              Previews <span className="muted small">one per branch, following it</span>
            </h3>
            <div className="env-grid">{previews.map(card)}</div>
          </section>
        )}
        <RetiredPreviews environments={data.retired} />
      </section>

      {data.service && (
        <section className="section" id="agents" aria-labelledby="agents-title">
          <h2 id="agents-title">Agents and instances</h2>
          <div className="card flush">
            <AgentsPanel project={project} agents={data.agents} />
          </div>
        </section>
      )}

      <section className="section" id="builds" aria-labelledby="builds-title">
        <h2 id="builds-title">Builds</h2>
        <div className="card flush">
          <BuildsPanel
            project={project}
            gitUrl={data.project.gitUrl}
            builds={data.builds}
            openBuild={openBuild}
            refresh={poll.refresh}
            onDone={setNotice}
          />
        </div>
      </section>

      {(data.project.repo !== null || data.deliveries.length > 0) && (
        <section className="section" id="deliveries" aria-labelledby="deliveries-title">
          <h2 id="deliveries-title">Webhook deliveries</h2>
          <div className="card flush">
            <DeliveriesPanel project={project} deliveries={data.deliveries} repo={data.project.repo} />
          </div>
        </section>
      )}

      <section className="section" aria-labelledby="deployments-title">
        <h2 id="deployments-title">Deployments</h2>
        <div className="card flush">
          <DeploymentsTable project={project} deployments={data.deployments} environments={data.environments} refresh={poll.refresh} onDone={setNotice} />
        </div>
      </section>

      <section className="section" id="releases" aria-labelledby="releases-title">
        <h2 id="releases-title">Releases</h2>
        <div className="card flush">
          <ReleasesPanel environments={data.environments} releases={data.releases} selected={releasesOf} onSelect={setReleasesOf} onOpen={setOpenRelease} />
        </div>
      </section>

      <section className="section" aria-labelledby="audit-title">
        <h2 id="audit-title">Audit log</h2>
        <div className="card flush">
          <AuditLog events={data.events} />
        </div>
      </section>

      <section className="section" aria-labelledby="domains-title">
        <h2 id="domains-title">Custom domains</h2>
        <div className="card">
          <DomainsPanel project={project} domains={data.domains} environments={data.environments} refresh={poll.refresh} onDone={setNotice} />
        </div>
      </section>
      <Toast message={notice} onClose={closeNotice} />
    </main>
  );
}

function Breadcrumbs({ project }: { project: string }) {
  return (
    <nav className="breadcrumbs" aria-label="Breadcrumbs">
      <a href={projectsHref}>Projects</a>
      <span aria-hidden="true">/</span>
      <span>{project}</span>
    </nav>
  );
}
