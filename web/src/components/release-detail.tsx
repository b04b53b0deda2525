import { useCallback, useEffect, useRef } from 'react';
import type { Release } from '../../../src/protocol/api.ts';
import type { ReleaseDetail } from '../../../src/protocol/pipelines.ts';
import { releaseHref } from '../route.ts';
import { useSession } from '../session.ts';
import { usePoll } from '../use-poll.ts';
import { ErrorNote } from './error-note.tsx';
import { GateReasons } from './gate-reasons.tsx';
import { ReleaseBatch } from './release-batch.tsx';
import { ReleaseFacts } from './release-facts.tsx';
import { ReleaseStateBadge } from './release-state.tsx';

const POLL_MS = 4000;

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
  const poll = usePoll(load, POLL_MS);
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
        <a className="button small push-right" href={releaseHref(project, releaseId)}>
          Open its page<span className="visually-hidden"> (release {title})</span>
        </a>
        <button type="button" className="button small" onClick={onClose}>
          Close<span className="visually-hidden"> release {title}</span>
        </button>
      </header>
      {poll.error && <ErrorNote error={poll.error} />}
      {detail === undefined ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <ReleaseFacts release={detail} known={known} onOpen={onOpen} />
          {(detail.state === 'waiting' || detail.state === 'pending' || detail.state === 'failed') && <GateReasons release={detail} />}
          {loaded ? <ReleaseBatch release={loaded} required={required} /> : <p className="muted">Loading the commits…</p>}
        </>
      )}
    </section>
  );
}
