import { useCallback, useEffect, useRef } from 'react';
import type { CheckState } from '../../../src/core/glossary.ts';
import type { Release } from '../../../src/protocol/api.ts';
import type { BatchCommit, ReleaseDetail } from '../../../src/protocol/pipelines.ts';
import { firstLine, formatCount, shortCommit } from '../format.ts';
import { useSession } from '../session.ts';
import { useLive } from '../use-live.ts';
import { CheckLink } from './check-link.tsx';
import { ErrorNote } from './error-note.tsx';
import { GateReasons } from './gate-reasons.tsx';
import { releaseLabel, ReleaseStateBadge } from './release-state.tsx';
import { SourceRef } from './source-ref.tsx';
import { TimeAgo } from './time-ago.tsx';
import { triggerWords } from './waiting-releases.tsx';


const CHECK_MARK: Record<CheckState, string> = { pending: '…', success: '✓', failure: '✕' };

/**
 * One release opened from the page: its gates and the batch of commits it carries over what the
 * environment ran, each commit with its checks. Keyed by release id by the page, so opening
 * another release loads afresh; it polls like the page does.
 */
export function ReleaseDetailPanel({
  project,
  releaseId,
  known,
  required,
  onOpen,
  onClose,
}: {
  project: string;
  releaseId: string;
  /** Releases the page already has: the title before the detail loads, and "superseded by v7". */
  known: readonly Release[];
  /** Checks the release's environment requires, marked in the batch. */
  required: readonly string[];
  onOpen: (id: string) => void;
  onClose: () => void;
}) {
  const { client } = useSession();
  const load = useCallback(() => client.getRelease(project, releaseId), [client, project, releaseId]);
  const poll = useLive(load, { project, topics: ['releases', 'agents'] });
  // Until the detail loads, what the page knows of the release (no batch yet).
  const loaded: ReleaseDetail | undefined = poll.data?.id === releaseId ? poll.data : undefined;
  const detail: Release | undefined = loaded ?? known.find((r) => r.id === releaseId);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
    heading.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }, []);
  const title = detail ? `v${detail.number} to ${detail.environment}` : releaseId;

  return (
    <section className="card release-detail" id="release-detail" aria-labelledby="release-detail-title" data-release-detail={releaseId}>
      <header className="release-detail-head">
        <h3 id="release-detail-title" ref={heading} tabIndex={-1}>
          Release {title}
        </h3>
        {detail && <ReleaseStateBadge state={detail.state} />}
        <button type="button" className="button small push-right" onClick={onClose}>
          Close<span className="visually-hidden"> release {title}</span>
        </button>
      </header>
      {poll.error && <ErrorNote error={poll.error} />}
      {detail === undefined ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <dl className="env-facts">
            <dt>Deployment</dt>
            <dd>
              <code>{detail.deployment}</code>
              {detail.previousDeployment && <span className="muted small"> replacing {detail.previousDeployment}</span>}
            </dd>
            {(detail.commit || detail.branch) && (
              <>
                <dt>Commit</dt>
                <dd>
                  <SourceRef commit={detail.commit} branch={detail.branch} />
                </dd>
              </>
            )}
            <dt>Made by</dt>
            <dd>
              {triggerWords(detail)} <TimeAgo iso={detail.createdAt} />
              {detail.reason && <span className="muted"> — {detail.reason}</span>}
            </dd>
            <StateFacts release={detail} known={known} onOpen={onOpen} />
          </dl>
          {(detail.state === 'waiting' || detail.state === 'pending' || detail.state === 'failed') && <GateReasons release={detail} />}
          {loaded ? <Batch release={loaded} required={required} /> : <p className="muted">Loading the commits…</p>}
        </>
      )}
    </section>
  );
}

/** What ended or replaced the release, with a way to the release that superseded it. */
function StateFacts({ release, known, onOpen }: { release: Release; known: readonly Release[]; onOpen: (id: string) => void }) {
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
            <button type="button" className="link-button mono" onClick={() => onOpen(release.supersededBy ?? '')}>
              {releaseLabel(release.supersededBy, known)}
            </button>
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

function Batch({ release, required }: { release: ReleaseDetail; required: readonly string[] }) {
  const batch = release.batch;
  if (batch === null) {
    return <p className="muted batch-note">{release.kind === 'rollback' ? 'A rollback carries no new commits.' : 'No commits known: the deployment says nothing of its commit.'}</p>;
  }
  const since = batch.base ? (
    <>
      since <code title={batch.base}>{shortCommit(batch.base)}</code>, what {release.environment} ran when v{release.number} was made
    </>
  ) : (
    <>the first release of {release.environment} from git: its own commit</>
  );
  return (
    <section className="batch" aria-label={`Commits of v${release.number}`}>
      <h4 className="batch-title">
        {formatCount(batch.commits.length, 'commit')} <span className="muted">{since}</span>
      </h4>
      <ol className="batch-list">
        {batch.commits.map((commit) => (
          <BatchCommitItem key={commit.sha} commit={commit} required={commit.sha === release.commit ? required : []} />
        ))}
      </ol>
      {batch.truncated && <p className="muted small batch-note">More commits than shown: Slipway does not know all of this batch’s history.</p>}
    </section>
  );
}

/** `required`: the environment's required checks, for the release's own commit (the one its gates read); empty for the others. */
function BatchCommitItem({ commit, required }: { commit: BatchCommit; required: readonly string[] }) {
  const short = shortCommit(commit.sha);
  const missing = required.filter((name) => !commit.checks.some((c) => c.name === name));
  return (
    <li className="batch-commit" data-commit={commit.sha}>
      <div className="batch-commit-head">
        <code title={commit.sha}>{short}</code>
        <span className="batch-message">{commit.message ? firstLine(commit.message) : <span className="muted">no message known</span>}</span>
      </div>
      {commit.author && (
        <div className="muted small" title={commit.email ?? undefined}>
          {commit.author}
        </div>
      )}
      {commit.checks.length === 0 && missing.length === 0 ? (
        <div className="muted small">No checks reported.</div>
      ) : (
        <ul className="check-list" aria-label={`Checks of ${short}`}>
          {commit.checks.map((check) => (
            <li key={check.name} className={`check check-${check.state}`} data-check={check.name} data-state={check.state}>
              <span className="check-mark" aria-hidden="true">
                {CHECK_MARK[check.state]}
              </span>
              <CheckLink name={check.name} url={check.url} /> <span className="check-state">{check.state}</span>
              {required.includes(check.name) && <span className="muted small"> required</span>}
            </li>
          ))}
          {missing.map((name) => (
            <li key={name} className="check check-missing" data-check={name} data-state="missing">
              <span className="check-mark" aria-hidden="true">
                ○
              </span>
              <code>{name}</code> <span className="check-state">not reported</span>
              <span className="muted small"> required</span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
