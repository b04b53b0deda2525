import type { Release } from '../../../src/protocol/api.ts';
import { formatCount } from '../format.ts';
import { releaseHref } from '../route.ts';
import { ApprovalPanel } from './approval-panel.tsx';
import { GateReasons } from './gate-reasons.tsx';
import { ReleaseStateBadge } from './release-state.tsx';
import { SourceRef } from './source-ref.tsx';
import { TimeAgo } from './time-ago.tsx';

/** Who made a release: Slipway's automation (with why), or the person who promoted. */
export function triggerWords(release: Release): string {
  return release.trigger === 'automation' ? 'automation' : release.createdBy;
}

/** The releases waiting to enter an environment, oldest first, each with what holds it. */
export function WaitingReleases({
  environment,
  releases,
  refresh,
  onDone,
}: {
  environment: string;
  releases: Release[];
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
}) {
  if (releases.length === 0) return null;
  return (
    <section className="waiting" aria-label={`Waiting to enter ${environment}`}>
      <h4 className="waiting-title">
        Waiting to enter <span className="muted">({releases.length})</span>
      </h4>
      <ol className="waiting-list">
        {releases.map((release) => (
          <li key={release.id} className="waiting-release" data-release={release.number} data-state={release.state}>
            <div className="waiting-head">
              <a className="mono strong" href={releaseHref(release.project, release.id)} aria-label={`Release v${release.number} to ${environment}`}>
                v{release.number}
              </a>
              <ReleaseStateBadge state={release.state} />
              {release.expedited && (
                <span className="badge badge-hotfix" title="A hotfix: no soak, no place in the queue; deploy windows only where the policy allows hotfixes">
                  HOTFIX
                </span>
              )}
              <span className="muted small">
                by {triggerWords(release)} <TimeAgo iso={release.createdAt} />
              </span>
            </div>
            <div className="waiting-source">
              <code className="waiting-deployment">{release.deployment}</code>
              <SourceRef commit={release.commit} branch={release.branch} />
            </div>
            {release.reason && <div className="muted small">{release.reason}</div>}
            <GateReasons release={release} />
            <ApprovalPanel release={release} refresh={refresh} onDone={onDone} />
            <a className="small" href={releaseHref(release.project, release.id)}>
              {release.batchSize === null ? 'Commits and checks' : `${formatCount(release.batchSize, 'commit')} and their checks`}
              <span className="visually-hidden"> of v{release.number}</span>
            </a>
          </li>
        ))}
      </ol>
    </section>
  );
}
