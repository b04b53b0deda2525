import type { Release } from '../../../src/protocol/api.ts';
import { releaseHref } from '../route.ts';
import { releaseLabel } from './release-state.tsx';
import { SourceRef } from './source-ref.tsx';
import { TimeAgo } from './time-ago.tsx';
import { triggerWords } from './waiting-releases.tsx';

/**
 * What a release is, as a definition list: its deployment, commit, who made it and why, when it
 * was live and what ended it, with a link to the release that superseded it.
 */
export function ReleaseFacts({ release, known }: { release: Release; known: readonly Release[] }) {
  return (
    <dl className="env-facts">
      <dt>Deployment</dt>
      <dd>
        <code>{release.deployment}</code>
        {release.previousDeployment && <span className="muted small"> replacing {release.previousDeployment}</span>}
      </dd>
      {(release.commit || release.branch) && (
        <>
          <dt>Commit</dt>
          <dd>
            <SourceRef commit={release.commit} branch={release.branch} />
          </dd>
        </>
      )}
      <dt>Made by</dt>
      <dd>
        {triggerWords(release)} <TimeAgo iso={release.createdAt} />
        {release.reason && <span className="muted"> — {release.reason}</span>}
      </dd>
      <StateFacts release={release} known={known} />
    </dl>
  );
}

/** What ended or replaced the release, with a way to the release that superseded it. */
function StateFacts({ release, known }: { release: Release; known: readonly Release[] }) {
  return (
    <>
      {release.liveAt && (
        <>
          <dt>Live</dt>
          <dd>
            <TimeAgo iso={release.liveAt} />
            {release.endedAt && (
              <>
                {' '}
                until <TimeAgo iso={release.endedAt} />
              </>
            )}
          </dd>
        </>
      )}
      {release.supersededBy && (
        <>
          <dt>Superseded</dt>
          <dd>
            by{' '}
            <a className="mono" href={releaseHref(release.project, release.supersededBy)}>
              {releaseLabel(release.supersededBy, known)}
            </a>
          </dd>
        </>
      )}
      {release.stateReason && release.state !== 'waiting' && release.state !== 'pending' && (
        <>
          <dt>Why</dt>
          <dd>{release.stateReason}</dd>
        </>
      )}
    </>
  );
}

