import { useCallback, useEffect, useRef, useState } from 'react';
import type { Approval } from '../../../../src/protocol/approvals.ts';
import type { Rollout } from '../../../../src/protocol/rollouts.ts';
import { AbortRollout } from '../../components/abort-rollout.tsx';
import { ApprovalPanel } from '../../components/approval-panel.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { GateReasons } from '../../components/gate-reasons.tsx';
import { ReleaseBatch } from '../../components/release-batch.tsx';
import { ReleaseFacts } from '../../components/release-facts.tsx';
import { ReleaseStateBadge } from '../../components/release-state.tsx';
import { TimeAgo } from '../../components/time-ago.tsx';
import { Toast } from '../../components/toast.tsx';
import { projectHref } from '../../route.ts';
import { asApiError, useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';
import { ReleaseRollout } from './release-rollout.tsx';
import { ReleaseTimeline } from './release-timeline.tsx';
import '../../styles/release.css';

const TIMELINE_LIMIT = 100;

type RolloutAnswer = { kind: 'rollout'; rollout: Rollout } | { kind: 'static' } | { kind: 'none'; message: string };

/**
 * One release on its own address: what it is, what holds it, who approved and who still has
 * to, the commits it carries with their checks, what happened to it, and for a service its
 * rollout across instances, instance by instance.
 */
export function ReleasePage({ project, release }: { project: string; release: string }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [detail, pipeline, events] = await Promise.all([
      client.getRelease(project, release),
      client.getPipeline(project),
      client.listEvents({ project, release, limit: TIMELINE_LIMIT }),
    ]);
    return { detail, required: pipeline.stages.find((s) => s.name === detail.environment)?.policy.checks ?? [], events: events.events };
  }, [client, project, release]);
  // Live: the page's change stream says when its releases (gates, approvals, rollout) or audit log change.
  const poll = useLive(load, { project, topics: ['releases', 'events'] });

  // A static site's release has no rollout: asked once, then never again.
  const staticSite = useRef(false);
  const loadRollout = useCallback(async (): Promise<RolloutAnswer> => {
    if (staticSite.current) return { kind: 'static' };
    try {
      return { kind: 'rollout', rollout: await client.getRollout(project, release) };
    } catch (err) {
      const error = asApiError(err);
      if (error.code === 'NOT_A_SERVICE') {
        staticSite.current = true;
        return { kind: 'static' };
      }
      if (error.code === 'ROLLOUT_NOT_FOUND') return { kind: 'none', message: error.message };
      throw error;
    }
  }, [client, project, release]);
  // A rollout moves as agents report: instances' steps, health and rotation.
  const rolloutPoll = useLive(loadRollout, { project, topics: ['releases', 'agents'] });
  const answer = rolloutPoll.data;

  const [notice, setNotice] = useState<string | undefined>(undefined);
  const closeNotice = useCallback(() => setNotice(undefined), []);
  const refresh = useCallback(async () => {
    await Promise.all([poll.refresh(), rolloutPoll.refresh()]);
  }, [poll, rolloutPoll]);

  const detail = poll.data?.detail;
  const title = detail ? `v${detail.number} to ${detail.environment}` : release;
  useEffect(() => {
    const before = document.title;
    document.title = `${title} · ${project} · Slipway`;
    return () => {
      document.title = before;
    };
  }, [title, project]);

  // Opening a release moves focus to its title, so a keyboard or screen reader user lands on the page they opened.
  const loaded = detail !== undefined;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (loaded) heading.current?.focus({ preventScroll: true });
  }, [loaded]);

  if (detail === undefined || poll.data === undefined) {
    return (
      <section className="section release-page" aria-label={`Release ${release}`}>
        {poll.error ? <ErrorNote error={poll.error} /> : <p className="muted">Loading…</p>}
        <p>
          <a href={projectHref(project)}>Back to the pipeline</a>
        </p>
      </section>
    );
  }
  const held = detail.state === 'waiting' || detail.state === 'pending' || detail.state === 'failed';
  const approvals = detail.approvals;
  const showApprovals = approvals.length > 0 || detail.approvalState !== null;

  return (
    <section className="section release-page" aria-labelledby="release-title" data-release={detail.id} data-state={detail.state}>
      <header className="release-head">
        <h2 id="release-title" ref={heading} tabIndex={-1}>
          Release {title}
        </h2>
        <ReleaseStateBadge state={detail.state} />
        {detail.expedited && <span className="badge badge-hotfix">HOTFIX</span>}
        {detail.forced && <span className="badge badge-forced">FORCED</span>}
      </header>
      {poll.error && <ErrorNote error={poll.error} />}
      <div className="release-grid">
        <div className="release-column">
          <section className="card release-card" aria-labelledby="release-about">
            <h3 id="release-about" className="release-card-title">
              About
            </h3>
            <ReleaseFacts release={detail} known={[]} />
          </section>
          {held && (
            <section className="card release-card" aria-labelledby="release-gates">
              <h3 id="release-gates" className="release-card-title">
                {detail.state === 'failed' ? 'Why it failed' : 'What holds it'}
              </h3>
              <GateReasons release={detail} />
            </section>
          )}
          {showApprovals && (
            <section className="card release-card" aria-labelledby="release-approvals">
              <h3 id="release-approvals" className="release-card-title">
                Approvals
              </h3>
              <Decisions approvals={approvals} />
              <ApprovalPanel release={detail} refresh={refresh} onDone={setNotice} />
            </section>
          )}
          {answer?.kind !== 'static' && (
            <section className="card release-card" aria-labelledby="release-rollout">
              <h3 id="release-rollout" className="release-card-title">
                Rollout across instances
              </h3>
              {rolloutPoll.error && <ErrorNote error={rolloutPoll.error} />}
              {answer === undefined ? (
                !rolloutPoll.error && <p className="muted">Loading…</p>
              ) : answer.kind === 'rollout' ? (
                <>
                  <ReleaseRollout rollout={answer.rollout} />
                  <AbortRollout release={detail} rollout={answer.rollout} refresh={refresh} onDone={setNotice} />
                </>
              ) : (
                <p className="muted">{held && detail.state !== 'failed' ? 'It rolls out across the instances once its gates let it go.' : `${answer.message}.`}</p>
              )}
            </section>
          )}
          <section className="card release-card" aria-labelledby="release-commits">
            <h3 id="release-commits" className="release-card-title">
              Commits
            </h3>
            <ReleaseBatch release={detail} required={poll.data.required} />
          </section>
        </div>
        <div className="release-column">
          <section className="card release-card" aria-labelledby="release-timeline">
            <h3 id="release-timeline" className="release-card-title">
              Timeline
            </h3>
            <ReleaseTimeline events={poll.data.events} release={detail.id} project={project} />
            {poll.data.events.length === TIMELINE_LIMIT && <p className="muted small">The {TIMELINE_LIMIT} latest events; the Activity tab has the rest.</p>}
          </section>
        </div>
      </div>
      <Toast message={notice} onClose={closeNotice} />
    </section>
  );
}

/** Who decided on the release, oldest first. */
function Decisions({ approvals }: { approvals: Approval[] }) {
  if (approvals.length === 0) return <p className="muted small">Nobody has approved or rejected it yet.</p>;
  return (
    <ul className="decisions" aria-label="Decisions">
      {approvals.map((a) => (
        <li key={a.id} className={`decision decision-${a.decision}`} data-decision={a.decision} data-user={a.user}>
          <span className="decision-mark" aria-hidden="true">
            {a.decision === 'approve' ? '✓' : '✕'}
          </span>
          <span>
            <span className="strong">{a.user}</span> {a.decision === 'approve' ? (a.forEmail ? `signed for ${a.forEmail}` : 'approved') : 'rejected'}{' '}
            <span className="muted small">
              as {a.role} <TimeAgo iso={a.at} />
            </span>
            {a.reason && <span className="decision-reason muted small"> — {a.reason}</span>}
          </span>
        </li>
      ))}
    </ul>
  );
}
