import type { Environment, Release } from '../../../src/protocol/api.ts';
import { releaseHref } from '../route.ts';
import { releaseLabel, ReleaseStateBadge } from './release-state.tsx';
import { TimeAgo } from './time-ago.tsx';

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
        <table className="table releases stack-narrow" aria-label={`Releases of ${current ?? ''}`}>
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
              <tr key={release.id} data-release={release.number} data-state={release.state}>
                <td className="mono strong" data-label="Release">
                  <a className="mono strong" href={releaseHref(release.project, release.id)} title="Gates, commits and checks">
                    v{release.number}
                  </a>
                </td>
                <td data-label="Kind">
                  {release.kind}
                  {release.forced && (
                    <span className="badge badge-forced" title="Pushed past a lock by an admin">
                      FORCED
                    </span>
                  )}
                  {release.expedited && (
                    <span className="badge badge-hotfix" title="A hotfix: no soak, no place in the queue; deploy windows only where the policy allows hotfixes">
                      HOTFIX
                    </span>
                  )}
                </td>
                <td data-label="State">
                  <ReleaseStateBadge state={release.state} />
                  <StateNote release={release} known={rows} />
                </td>
                <td className="mono" data-label="Deployment">
                  {release.deployment}
                  {release.previousDeployment && <div className="muted small">from {release.previousDeployment}</div>}
                </td>
                <td data-label="By">{release.trigger === 'automation' ? 'automation' : release.createdBy}</td>
                <td className="nowrap" data-label="When">
                  <TimeAgo iso={release.createdAt} />
                </td>
                <td className="reason" data-label="Reason">
                  {release.reason ?? <span className="muted">—</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** Why a release is not (or no longer) live, under its state: the superseding release, the failed gate, the rollback. */
function StateNote({ release, known }: { release: Release; known: readonly Release[] }) {
  if (release.state === 'superseded' && release.supersededBy) {
    const by = releaseLabel(release.supersededBy, known);
    return (
      <div className="state-note small">
        by{' '}
        <a className="mono" href={releaseHref(release.project, release.supersededBy)}>
          {by}
        </a>
        {/* "replaced by v3" says no more than the link; "contained in v5, which went live" does. */}
        {release.stateReason && release.stateReason !== `replaced by ${by}` && <div className="muted">{release.stateReason}</div>}
      </div>
    );
  }
  if (release.state === 'live' || release.stateReason === null) return null;
  return <div className="state-note muted small">{release.stateReason}</div>;
}
