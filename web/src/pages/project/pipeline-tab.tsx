import { useCallback, useState } from 'react';
import type { Environment, Release } from '../../../../src/protocol/api.ts';
import type { PipelineStage } from '../../../../src/protocol/pipelines.ts';
import { EnvironmentCard } from '../../components/environment-card.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { GitPushHint } from '../../components/git-push-hint.tsx';
import { ReleaseDetailPanel } from '../../components/release-detail.tsx';
import { ReleasesPanel } from '../../components/releases-panel.tsx';
import { RetiredPreviews } from '../../components/retired-previews.tsx';
import { Toast } from '../../components/toast.tsx';
import { useSession } from '../../session.ts';
import { usePoll } from '../../use-poll.ts';

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

/** The project's pipeline: its environments in the order of `from:`, what waits to enter each, previews below. */
export function PipelineTab({ project }: { project: string }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [status, pipeline] = await Promise.all([client.getProjectStatus(project), client.getPipeline(project)]);
    // Retired previews are kept (their deployments stay addressable) but nothing moves them any more.
    const environments = status.environments.filter((e) => e.retiredAt === null).sort(byStages(pipeline.stages));
    const retired = status.environments.filter((e) => e.retiredAt !== null).sort((a, b) => (b.retiredAt ?? '').localeCompare(a.retiredAt ?? ''));
    const releases: Record<string, Release[]> = Object.fromEntries(
      await Promise.all(environments.map(async (e) => [e.name, (await client.listReleases(project, e.name, { limit: 20 })).releases] as const)),
    );
    return { gitUrl: status.project.gitUrl, stages: new Map(pipeline.stages.map((stage) => [stage.name, stage])), environments, retired, releases };
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
  if (data === undefined) return poll.error ? <ErrorNote error={poll.error} /> : <p className="muted">Loading…</p>;

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
    <>
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
              <GitPushHint gitUrl={data.gitUrl} />
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

      <section className="section" id="releases" aria-labelledby="releases-title">
        <h2 id="releases-title">Releases</h2>
        <div className="card flush">
          <ReleasesPanel environments={data.environments} releases={data.releases} selected={releasesOf} onSelect={setReleasesOf} onOpen={setOpenRelease} />
        </div>
      </section>
      <Toast message={notice} onClose={closeNotice} />
    </>
  );
}
