import { useCallback, useState } from 'react';
import { DeploymentsTable } from '../../components/deployments-table.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { Toast } from '../../components/toast.tsx';
import { useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';

/** The project's deployments, newest first; each can be promoted from here. */
export function DeploymentsTab({ project, query }: { project: string; query: string }) {
  void query;
  const { client } = useSession();
  const load = useCallback(async () => {
    const [status, deployments] = await Promise.all([client.getProjectStatus(project), client.listDeployments(project, { limit: 30 })]);
    return { environments: status.environments.filter((e) => e.retiredAt === null), deployments: deployments.deployments };
  }, [client, project]);
  const poll = useLive(load, { project, topics: ['deployments', 'environments'] });
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const closeNotice = useCallback(() => setNotice(undefined), []);
  const data = poll.data;
  return (
    <section className="section" aria-labelledby="deployments-title">
      <h2 id="deployments-title">Deployments</h2>
      {poll.error && <ErrorNote error={poll.error} />}
      {data === undefined ? (
        !poll.error && <p className="muted">Loading…</p>
      ) : (
        <div className="card flush">
          <DeploymentsTable project={project} deployments={data.deployments} environments={data.environments} refresh={poll.refresh} onDone={setNotice} />
        </div>
      )}
      <Toast message={notice} onClose={closeNotice} />
    </section>
  );
}
