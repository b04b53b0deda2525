import { useCallback, useEffect, useRef, useState } from 'react';
import { BuildsPanel } from '../../components/builds-panel.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { Toast } from '../../components/toast.tsx';
import { useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';
import '../../styles/release.css';

/** Builds, newest first, with retry and cancel; a build's own address opens its log. */
export function BuildsTab({ project, openBuild }: { project: string; openBuild: string | undefined }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [status, builds] = await Promise.all([client.getProjectStatus(project), client.listBuilds(project, { limit: 20 })]);
    return { gitUrl: status.project.gitUrl, actions: status.project.actions, builds: builds.builds };
  }, [client, project]);
  const poll = useLive(load, { project, topics: ['builds'] });
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const closeNotice = useCallback(() => setNotice(undefined), []);
  const data = poll.data;
  // A shared link to a build's log lands on its log (once: later clicks open logs where the person already is).
  const landed = useRef(openBuild === undefined);
  const loaded = data !== undefined;
  useEffect(() => {
    if (landed.current || !loaded) return;
    landed.current = true;
    document.getElementById('builds')?.scrollIntoView({ block: 'start' });
  }, [loaded]);
  return (
    <section className="section" id="builds" aria-labelledby="builds-title">
      <h2 id="builds-title">Builds</h2>
      {poll.error && <ErrorNote error={poll.error} />}
      {data === undefined ? (
        !poll.error && <p className="muted">Loading…</p>
      ) : (
        <div className="card flush">
          <BuildsPanel project={project} gitUrl={data.gitUrl} builds={data.builds} openBuild={openBuild} actions={data.actions} refresh={poll.refresh} onDone={setNotice} />
        </div>
      )}
      <Toast message={notice} onClose={closeNotice} />
    </section>
  );
}
