import { useEffect, useRef, useState } from 'react';
import type { ApiError } from '../../../src/protocol/client.ts';
import type { MovePlan } from '../../../src/protocol/pipelines.ts';
import { formatCount } from '../format.ts';
import { asApiError } from '../session.ts';
import { GateReasons } from './gate-reasons.tsx';

export type PlanState = { state: 'loading' } | { state: 'ready'; plan: MovePlan } | { state: 'refused'; error: ApiError };

/**
 * The server's dry run of a promotion or rollback, asked again whenever `key` changes: what the
 * confirmation shows before anything is written.
 */
export function useMovePlan(key: string | null, plan: () => Promise<MovePlan>): PlanState {
  const [state, setState] = useState<{ key: string | null; value: PlanState }>({ key: null, value: { state: 'loading' } });
  // `plan` is a new closure each render; `key` says when what it asks changed.
  const planRef = useRef(plan);
  planRef.current = plan;
  useEffect(() => {
    if (key === null) return undefined;
    let current = true;
    setState({ key, value: { state: 'loading' } });
    planRef.current().then(
      (value) => current && setState({ key, value: { state: 'ready', plan: value } }),
      (err: unknown) => current && setState({ key, value: { state: 'refused', error: asApiError(err) } }),
    );
    return () => {
      current = false;
    };
  }, [key, planRef]);
  return state.key === key ? state.value : { state: 'loading' };
}

/** "production v5 → v6, clears its pin, carries 3 commits by 2 authors". */
export function planWords(plan: MovePlan): string {
  const { release } = plan;
  const from = plan.createsEnvironment ? `${plan.environment} (new)` : plan.from.release === 0 ? `${plan.environment} (nothing yet)` : `${plan.environment} v${plan.from.release}`;
  const parts = [`${from} → v${release.number}`];
  if (plan.clearsPin) parts.push('clears its pin');
  if (plan.pins) parts.push('pins it there until the next promotion');
  const commits = release.batchSize ?? release.batch?.commits.length ?? null;
  if (release.kind === 'promote' && commits !== null) {
    parts.push(plan.authors.length > 0 ? `carries ${formatCount(commits, 'commit')} by ${formatCount(plan.authors.length, 'author')}` : `carries ${formatCount(commits, 'commit')}`);
  }
  return parts.join(', ');
}

/** What a promotion or rollback will change, as the server planned it; a refusal is shown with its code before anything is sent. */
export function PlanSummary({ state }: { state: PlanState }) {
  if (state.state === 'loading') return <p className="muted plan-loading">Working out what changes…</p>;
  if (state.state === 'refused') {
    return (
      <p className="plan-refused">
        The server would refuse this now: <code className="error-code">{state.error.code}</code> {state.error.message}
      </p>
    );
  }
  const { plan } = state;
  const { release } = plan;
  return (
    <div className="plan" data-plan-state={release.state}>
      <p className="plan-words strong">{planWords(plan)}.</p>
      <p className="small">
        Runs <code>{release.deployment}</code>
        {plan.from.deployment && (
          <>
            {' '}
            instead of <code>{plan.from.deployment}</code>
          </>
        )}
        {plan.authors.length > 0 && <> · by {plan.authors.join(', ')}</>}
        {plan.forced && <strong> · goes past what holds it (break-glass, audited)</strong>}
      </p>
      {release.state === 'live' || release.state === 'rolling_out' ? (
        <p className="small plan-outcome">Goes live at once.</p>
      ) : (
        <div className="small plan-outcome">
          <p>Waits to enter {plan.environment}:</p>
          <GateReasons release={release} />
        </div>
      )}
    </div>
  );
}
