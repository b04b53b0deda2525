import { useCallback } from 'react';
import { AuditLog } from '../../components/audit-log.tsx';
import { DeliveriesPanel } from '../../components/deliveries-panel.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';

/** What happened in the project: the audit log, and the webhook deliveries that started builds. */
export function ActivityTab({ project }: { project: string }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [status, events, deliveries] = await Promise.all([
      client.getProjectStatus(project),
      client.listEvents({ project, limit: 50 }),
      client.listDeliveries(project, { limit: 20 }),
    ]);
    return { repo: status.project.repo, events: events.events, deliveries: deliveries.deliveries };
  }, [client, project]);
  const poll = useLive(load, { project, topics: ['events'] });
  const data = poll.data;
  if (data === undefined) return poll.error ? <ErrorNote error={poll.error} /> : <p className="muted">Loading…</p>;
  return (
    <>
      {poll.error && <ErrorNote error={poll.error} />}
      <section className="section" aria-labelledby="audit-title">
        <h2 id="audit-title">Audit log</h2>
        <div className="card flush">
          <AuditLog events={data.events} />
        </div>
      </section>
      {(data.repo !== null || data.deliveries.length > 0) && (
        <section className="section" id="deliveries" aria-labelledby="deliveries-title">
          <h2 id="deliveries-title">Webhook deliveries</h2>
          <div className="card flush">
            <DeliveriesPanel project={project} deliveries={data.deliveries} repo={data.repo} />
          </div>
        </section>
      )}
    </>
  );
}
