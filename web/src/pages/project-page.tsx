import { useCallback } from 'react';
import { ErrorNote } from '../components/error-note.tsx';
import { ExternalLink } from '../components/external-link.tsx';
import { GitPushHint } from '../components/git-push-hint.tsx';
import { projectHref, projectsHref, type ProjectTab, type Route } from '../route.ts';
import { useSession } from '../session.ts';
import { useLive } from '../use-live.ts';
import { ActivityTab } from './project/activity-tab.tsx';
import { AgentsTab } from './project/agents-tab.tsx';
import { BuildsTab } from './project/builds-tab.tsx';
import { DeploymentsTab } from './project/deployments-tab.tsx';
import { PipelineTab } from './project/pipeline-tab.tsx';
import { ReleasePage } from './project/release-page.tsx';
import { SettingsTab } from './project/settings-tab.tsx';

const TAB_LABELS: Record<ProjectTab, string> = {
  pipeline: 'Pipeline',
  deployments: 'Deployments',
  builds: 'Builds',
  agents: 'Agents',
  settings: 'Settings',
  activity: 'Activity',
};

/** A project's pages: one header (name, URL, where to push) and tabs, each loading what it shows. */
export function ProjectPage({ route }: { route: Extract<Route, { page: 'project' | 'release' }> }) {
  const { project } = route;
  const { client } = useSession();
  const load = useCallback(() => client.getProjectStatus(project), [client, project]);
  const poll = useLive(load, { project, topics: ['settings', 'environments'] });
  const status = poll.data;
  const tab: ProjectTab | undefined = route.page === 'project' ? route.tab : undefined;

  return (
    <main className="page">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <a href={projectsHref}>Projects</a>
        <span aria-hidden="true">/</span>
        {route.page === 'release' ? <a href={projectHref(project)}>{project}</a> : <span>{project}</span>}
      </nav>
      <div className="page-head">
        <h1>{project}</h1>
        {status && <ExternalLink href={status.project.url} className="head-link" />}
      </div>
      {status && (
        <div className="git-remote">
          <span className="muted">Deploy with git</span>
          <GitPushHint gitUrl={status.project.gitUrl} />
          {status.project.repo && (
            <span className="muted small">
              or push to <code>{status.project.repo}</code>
              {status.project.hasWebhookSecret ? ' (webhook)' : ' (no webhook secret set)'}
            </span>
          )}
        </div>
      )}
      {poll.error && (
        <>
          <ErrorNote error={poll.error} />
          {poll.error.code === 'PROJECT_NOT_FOUND' && (
            <p>
              <a href={projectsHref}>Back to the projects</a>
            </p>
          )}
        </>
      )}
      <nav className="page-tabs" aria-label={`${project} pages`}>
        {(Object.keys(TAB_LABELS) as ProjectTab[]).map((t) => (
          <a key={t} href={projectHref(project, t)} className="page-tab" aria-current={t === tab ? 'page' : undefined}>
            {TAB_LABELS[t]}
          </a>
        ))}
      </nav>
      {route.page === 'release' ? (
        <ReleasePage key={route.release} project={project} release={route.release} />
      ) : route.tab === 'pipeline' ? (
        <PipelineTab project={project} />
      ) : route.tab === 'deployments' ? (
        <DeploymentsTab project={project} query={route.query} />
      ) : route.tab === 'builds' ? (
        <BuildsTab project={project} openBuild={route.build} />
      ) : route.tab === 'agents' ? (
        <AgentsTab project={project} />
      ) : route.tab === 'settings' ? (
        <SettingsTab project={project} />
      ) : (
        <ActivityTab project={project} />
      )}
    </main>
  );
}
