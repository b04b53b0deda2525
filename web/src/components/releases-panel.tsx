import type { Environment, Release } from '../../../src/protocol/api.ts';
import { TimeAgo } from './time-ago.tsx';

const STATE_CLASS: Record<Release['state'], string> = {
  pending: 'state-pending',
  waiting: 'state-pending',
  rolling_out: 'state-pending',
  live: 'state-live',
  failed: 'state-failed',
  rolled_back: 'state-rolled-back',
  canceled: 'state-muted',
  superseded: 'state-muted',
};

export function ReleasesPanel({
  environments,
  releases,
  selected,
  onSelect,
}: {
  environments: Environment[];
  releases: Record<string, Release[]>;
  selected: string | undefined;
  onSelect: (name: string) => void;
}) {
  if (environments.length === 0) {
    return <p className="empty muted">No releases yet: the first promotion creates an environment and its v1.</p>;
  }
  const current = selected !== undefined && environments.some((e) => e.name === selected) ? selected : environments[0]?.name;
  const rows = current === undefined ? [] : (releases[current] ?? []);
  return (
    <div>
      <div className="tabs" role="tablist" aria-label="Environment">
        {environments.map((e) => (
          <button key={e.name} type="button" role="tab" aria-selected={e.name === current} className="tab" onClick={() => onSelect(e.name)}>
            {e.name}
          </button>
        ))}
      </div>
      <div className="table-wrap">
        <table className="table releases" aria-label={`Releases of ${current ?? ''}`}>
          <thead>
            <tr>
              <th>Release</th>
              <th>Kind</th>
              <th>State</th>
              <th>Deployment</th>
              <th>By</th>
              <th>When</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((release) => (
              <tr key={release.id} data-release={release.number}>
                <td className="mono strong">v{release.number}</td>
                <td>
                  {release.kind}
                  {release.forced && (
                    <span className="badge badge-forced" title="Pushed past a lock by an admin">
                      FORCED
                    </span>
                  )}
                </td>
                <td>
                  <span className={`state ${STATE_CLASS[release.state]}`}>{release.state.replace('_', ' ')}</span>
                </td>
                <td className="mono">
                  {release.deployment}
                  {release.previousDeployment && <div className="muted small">from {release.previousDeployment}</div>}
                </td>
                <td>{release.createdBy}</td>
                <td className="nowrap">
                  <TimeAgo iso={release.createdAt} />
                </td>
                <td className="reason">{release.reason ?? <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
