import type { AgentView } from '../../../src/protocol/agents.ts';
import { TimeAgo } from './time-ago.tsx';

/**
 * The service directory of a project: every agent (one instance each), grouped by
 * environment, with what it runs, whether it is healthy and in rotation, and lost agents
 * marked. Enrolling is a CLI step (`slipway agents enroll`), shown when there is none.
 */
export function AgentsPanel({ project, agents }: { project: string; agents: AgentView[] }) {
  if (agents.length === 0) {
    return (
      <p className="muted agents-empty">
        No agents. A service runs on your hosts: enroll one with <code>slipway agents enroll --project {project} --env production</code> and run the{' '}
        <code>slipway agent …</code> line it prints on the host.
      </p>
    );
  }
  const sorted = [...agents].sort((a, b) => a.environment.localeCompare(b.environment) || a.name.localeCompare(b.name));
  return (
    <div className="table-wrap">
      <table className="table agents stack-narrow" aria-label="Agents and their instances">
        <thead>
          <tr>
            <th>Agent</th>
            <th>Environment</th>
            <th>Runs</th>
            <th>Health</th>
            <th>Rotation</th>
            <th>State</th>
            <th>Version</th>
            <th>Seen</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((agent) => (
            <tr key={agent.id} data-agent={agent.id} data-lost={agent.lost ? 'true' : 'false'}>
              <td data-label="Agent">
                <span className="strong">{agent.name}</span>
                <div className="muted small mono">
                  {agent.address}:{agent.port}
                </div>
              </td>
              <td data-label="Environment">{agent.environment}</td>
              <td className="mono" data-label="Runs">
                {agent.current === null ? (
                  <span className="muted">nothing yet</span>
                ) : (
                  <>
                    {agent.current.releaseNumber === null ? '' : `v${agent.current.releaseNumber} `}
                    <span className="muted small">{agent.current.deploymentId}</span>
                  </>
                )}
              </td>
              <td data-label="Health">
                {agent.lost ? (
                  <span className="badge badge-locked" title="Missed two heartbeats: counted as unavailable">
                    LOST
                  </span>
                ) : agent.healthy ? (
                  <span className="chip chip-live">healthy</span>
                ) : (
                  <span className="chip">not healthy</span>
                )}
                {agent.error !== null && <div className="muted small reason">{agent.error}</div>}
              </td>
              <td data-label="Rotation">{agent.rotation === 'in' ? 'in rotation' : agent.rotation === 'draining' ? 'draining' : 'out of rotation'}</td>
              <td data-label="State">{agent.state}</td>
              <td className="mono small" data-label="Version">
                {agent.version}
              </td>
              <td className="nowrap" data-label="Seen">
                <TimeAgo iso={agent.lastSeenAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
