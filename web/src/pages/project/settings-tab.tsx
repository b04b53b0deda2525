import { useCallback, useState } from 'react';
import { DomainsPanel } from '../../components/domains-panel.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { Toast } from '../../components/toast.tsx';
import { useSession } from '../../session.ts';
import { usePoll } from '../../use-poll.ts';

/** The project's settings. */
export function SettingsTab({ project }: { project: string }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [status, domains] = await Promise.all([client.getProjectStatus(project), client.listDomains(project)]);
    return { environments: status.environments.filter((e) => e.retiredAt === null), domains: domains.domains };
  }, [client, project]);
  const poll = usePoll(load, 10_000);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const closeNotice = useCallback(() => setNotice(undefined), []);
  const data = poll.data;
  return (
    <>
      {poll.error && <ErrorNote error={poll.error} />}
      <section className="section" aria-labelledby="domains-title">
        <h2 id="domains-title">Custom domains</h2>
        {data === undefined ? (
          !poll.error && <p className="muted">Loading…</p>
        ) : (
          <div className="card">
            <DomainsPanel project={project} domains={data.domains} environments={data.environments} refresh={poll.refresh} onDone={setNotice} />
          </div>
        )}
      </section>
      <Toast message={notice} onClose={closeNotice} />
    </>
  );
}
