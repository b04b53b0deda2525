import { useCallback, useState } from 'react';
import type { Environment, Release } from '../../../../src/protocol/api.ts';
import type { Freeze } from '../../../../src/protocol/freezes.ts';
import type { PipelineStage } from '../../../../src/protocol/pipelines.ts';
import { EnvironmentCard, type Upstream } from '../../components/environment-card.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { GitPushHint } from '../../components/git-push-hint.tsx';
import { ReleasesPanel } from '../../components/releases-panel.tsx';
import { RetiredPreviews } from '../../components/retired-previews.tsx';
import { Toast } from '../../components/toast.tsx';
import { useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';
import '../../styles/pipeline.css';

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

/** How many of each environment's releases the history table shows (a release's own page has the rest of its story). */
const RELEASES_PER_ENVIRONMENT = 10;

/** The project's pipeline: its environments as columns in the order of `from:`, what waits to enter each, previews below. */
export function PipelineTab({ project }: { project: string }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    // Four calls at once, whatever the number of environments: their recent releases come in one.
    const [status, pipeline, freezes, recent] = await Promise.all([
      client.getProjectStatus(project),
      client.getPipeline(project),
      client.listFreezes(project),
      client.listRecentReleases(project, { perEnvironment: RELEASES_PER_ENVIRONMENT }),
    ]);
    // Retired previews are kept (their deployments stay addressable) but nothing moves them any more.
    const environments = status.environments.filter((e) => e.retiredAt === null).sort(byStages(pipeline.stages));
    const retired = status.environments.filter((e) => e.retiredAt !== null).sort((a, b) => (b.retiredAt ?? '').localeCompare(a.retiredAt ?? ''));
    const releases: Record<string, Release[]> = Object.fromEntries(recent.environments.map((e) => [e.environment, e.releases]));
    const frozen = new Map<string, Freeze[]>();
    for (const freeze of freezes.freezes) frozen.set(freeze.environment, [...(frozen.get(freeze.environment) ?? []), freeze]);
    return { gitUrl: status.project.gitUrl, stages: new Map(pipeline.stages.map((stage) => [stage.name, stage])), environments, retired, releases, frozen, at: Date.now() };
  }, [client, project]);
  const poll = useLive(load, { project, topics: ['environments', 'releases'] });
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [releasesOf, setReleasesOf] = useState<string | undefined>(undefined);
  const closeNotice = useCallback(() => setNotice(undefined), []);

  const data = poll.data;
  if (data === undefined) return poll.error ? <ErrorNote error={poll.error} /> : <p className="muted">Loading…</p>;

  const pipeline = data.environments.filter((e) => !e.preview);
  const previews = data.environments.filter((e) => e.preview);
  const upstreamOf = (environment: Environment): Upstream | undefined => {
    const from = data.stages.get(environment.name)?.policy.from;
    const runs = from ? data.stages.get(from)?.runs : null;
    return from && runs ? { name: from, deployment: runs.deployment, release: runs.release } : undefined;
  };
  const card = (environment: Environment) => (
    <EnvironmentCard
      key={environment.name}
      environment={environment}
      stage={data.stages.get(environment.name)}
      releases={data.releases[environment.name] ?? []}
      environments={data.environments}
      upstream={upstreamOf(environment)}
      freezes={data.frozen.get(environment.name) ?? []}
      now={data.at}
      refresh={poll.refresh}
      onDone={setNotice}
    />
  );

  return (
    <>
      {poll.error && (
        <div className="stale">
          <ErrorNote error={poll.error} />
          <span className="muted small">Showing the last data that loaded.</span>
        </div>
      )}
      <section className="section" aria-labelledby="environments-title">
        <h2 id="environments-title">Pipeline</h2>
        {data.environments.length === 0 ? (
          <div className="empty card">
            <p>No environments yet. Promote a deployment to create one — production is the usual first — or push a branch to get its preview:</p>
            <p>
              <GitPushHint gitUrl={data.gitUrl} />
            </p>
          </div>
        ) : (
          pipeline.length > 0 && (
            <ol className="env-grid pipeline-columns" aria-label={`${project} pipeline, upstream first`}>
              {pipeline.map((environment) => (
                <li key={environment.name} className="pipeline-column">
                  {card(environment)}
                </li>
              ))}
            </ol>
          )
        )}
        {previews.length > 0 && (
          <section aria-labelledby="previews-title">
            <h3 className="subhead" id="previews-title">
              Previews <span className="muted small">one per branch, following it</span>
            </h3>
            <div className="env-grid preview-grid">{previews.map(card)}</div>
          </section>
        )}
        <RetiredPreviews environments={data.retired} />
      </section>

      {pipeline.length + previews.length > 0 && (
        <section className="section" id="releases" aria-labelledby="releases-title">
          <h2 id="releases-title">Release history</h2>
          <div className="card flush">
            <ReleasesPanel environments={data.environments} releases={data.releases} selected={releasesOf} onSelect={setReleasesOf} />
          </div>
        </section>
      )}
      <Toast message={notice} onClose={closeNotice} />
    </>
  );
}
