import { useCallback } from 'react';
import type { AgentView } from '../../../../src/protocol/agents.ts';
import { AgentsPanel } from '../../components/agents-panel.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { formatCount } from '../../format.ts';
import { useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';
import '../../styles/release.css';

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
        <>
          <AgentsSummary agents={poll.data} />
          <div className="card flush">
            <AgentsPanel project={project} agents={poll.data} />
          </div>
        </>
      )}
    </section>
  );
}

/** At a glance: how many agents, how many healthy, in rotation or lost, and which versions they run. */
function AgentsSummary({ agents }: { agents: AgentView[] }) {
  const lost = agents.filter((a) => a.lost).length;
  const healthy = agents.filter((a) => !a.lost && a.healthy).length;
  const inRotation = agents.filter((a) => !a.lost && a.rotation === 'in').length;
  const versions = new Map<string, number>();
  for (const agent of agents) versions.set(agent.version, (versions.get(agent.version) ?? 0) + 1);
  return (
    <p className="agents-summary small" aria-label="Agents at a glance">
      <span className="strong">{formatCount(agents.length, 'agent')}</span>
      <span>{healthy} healthy</span>
      <span>{inRotation} in rotation</span>
      {lost > 0 ? <span className="danger-text strong">{lost} lost</span> : <span className="muted">none lost</span>}
      <span className="muted">
        {versions.size === 1 ? 'version' : 'versions'} {[...versions].map(([version, count]) => (versions.size === 1 ? version : `${version} (${count})`)).join(', ')}
      </span>
    </p>
  );
}
