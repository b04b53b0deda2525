import { useCallback } from 'react';
import { AgentsPanel } from '../../components/agents-panel.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';

/** The hosts running this project's services: agents, their instances, lost ones marked. */
export function AgentsTab({ project }: { project: string }) {
  const { client } = useSession();
  const load = useCallback(async () => (await client.listAgents(project)).agents, [client, project]);
  const poll = useLive(load, { project, topics: ['agents'] });
  return (
    <section className="section" id="agents" aria-labelledby="agents-title">
      <h2 id="agents-title">Agents and instances</h2>
      {poll.error && <ErrorNote error={poll.error} />}
      {poll.data === undefined ? (
        !poll.error && <p className="muted">Loading…</p>
      ) : poll.data.length === 0 ? (
        <div className="empty card">
          <p>No agents yet. A service (a <code>service:</code> section in slipway.yaml) runs on hosts where an agent is enrolled:</p>
          <pre>
            <code>slipway agents enroll --project {project} --env production</code>
          </pre>
        </div>
      ) : (
        <div className="card flush">
          <AgentsPanel project={project} agents={poll.data} />
        </div>
      )}
    </section>
  );
}
