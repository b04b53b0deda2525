import { useCallback } from 'react';
import { ErrorNote } from '../../components/error-note.tsx';
import { ReleaseDetailPanel } from '../../components/release-detail.tsx';
import { projectHref, releaseHref } from '../../route.ts';
import { useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';

/** One release on its own address: its gates, the batch of commits it carries, their checks. */
export function ReleasePage({ project, release }: { project: string; release: string }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [detail, pipeline] = await Promise.all([client.getRelease(project, release), client.getPipeline(project)]);
    return { required: pipeline.stages.find((s) => s.name === detail.environment)?.policy.checks ?? [] };
  }, [client, project, release]);
  const poll = useLive(load, { project, topics: ['releases', 'environments'] });
  const open = useCallback((id: string) => (window.location.hash = releaseHref(project, id)), [project]);
  const close = useCallback(() => (window.location.hash = projectHref(project)), [project]);
  if (poll.data === undefined) return poll.error ? <ErrorNote error={poll.error} /> : <p className="muted">Loading…</p>;
  return <ReleaseDetailPanel project={project} releaseId={release} known={[]} required={poll.data.required} onOpen={open} onClose={close} />;
}
