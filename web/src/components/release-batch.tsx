import type { CheckState } from '../../../src/core/glossary.ts';
import type { BatchCommit, ReleaseDetail } from '../../../src/protocol/pipelines.ts';
import { firstLine, formatCount, shortCommit } from '../format.ts';
import { CheckLink } from './check-link.tsx';

const CHECK_MARK: Record<CheckState, string> = { pending: '…', success: '✓', failure: '✕' };

/**
 * The batch of a release: the commits it carries over what its environment ran, newest first,
 * each with its author, message and checks (the environment's required ones marked, and those
 * not reported yet listed, on the release's own commit).
 */
export function ReleaseBatch({ release, required }: { release: ReleaseDetail; required: readonly string[] }) {
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
