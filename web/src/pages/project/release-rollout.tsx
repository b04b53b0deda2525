import type { Rollout, RolloutInstance } from '../../../../src/protocol/rollouts.ts';
import { TimeAgo } from '../../components/time-ago.tsx';

const STEP_WORDS: Record<RolloutInstance['step'], string> = {
  pending: 'waiting its turn',
  draining: 'draining',
  switching: 'switching',
  in: 'switched, in rotation',
  back_draining: 'rolling back: draining',
  back_switching: 'rolling back: switching',
  back: 'rolled back',
  kept: 'kept what it ran',
  skipped: 'skipped (lost)',
};

const STATE_WORDS: Record<Rollout['state'], string> = {
  preparing: 'preparing',
  release_phase: 'release phase',
  switching: 'switching',
  rolling_back: 'rolling back',
  done: 'done',
  failed: 'failed',
  rolled_back: 'rolled back',
};

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function stepTone(step: RolloutInstance['step']): string {
  if (step === 'in') return 'is-done';
  if (step === 'pending' || step === 'kept' || step === 'skipped') return 'is-idle';
  if (step.startsWith('back')) return 'is-back';
  return 'is-moving';
}

/**
 * A service release's rollout across its environment's instances, as `slipway rollout` prints
 * it: where the rollout is, the release phase and its log when it failed, and one row per
 * instance with its step, health and rotation.
 */
export function ReleaseRollout({ rollout }: { rollout: Rollout }) {
  const done = rollout.instances.filter((i) => i.step === 'in').length;
  const phase = rollout.releasePhase;
  return (
    <div className="rollout" data-rollout-state={rollout.state}>
      <p className="rollout-phase">
        <span className={`rollout-state rollout-${rollout.state}`}>{STATE_WORDS[rollout.state]}</span> {rollout.phase}
      </p>
      {rollout.instances.length > 0 && (
        <div className="rollout-progress">
          <progress max={rollout.instances.length} value={done} aria-label={`Instances switched: ${done} of ${rollout.instances.length}`} />
          <span className="small muted" aria-hidden="true">
            {done}/{rollout.instances.length}
          </span>
          <span className="visually-hidden">
            {done} of {rollout.instances.length} instances switched
          </span>
        </div>
      )}
      <p className="small muted">
        {rollout.previous ? (
          <>
            over <code>{rollout.previous.deployment}</code> ·{' '}
          </>
        ) : null}
        at most {rollout.maxUnavailable} unavailable · drain {seconds(rollout.drainMs)} · health deadline {seconds(rollout.healthTimeoutMs)} · started{' '}
        <TimeAgo iso={rollout.startedAt} />
        {rollout.endedAt && (
          <>
            , ended <TimeAgo iso={rollout.endedAt} />
          </>
        )}
      </p>
      {rollout.reason && <p className="rollout-reason">{rollout.reason}</p>}
      {phase && (
        <div className="rollout-release-phase">
          <p className="small">
            Release phase on {phase.name ?? phase.agent ?? 'an instance'}: <strong>{phase.state ?? 'waiting'}</strong>
            {phase.exitCode !== null && ` (exit ${phase.exitCode})`}
          </p>
          {phase.log && phase.state === 'failed' && (
            <pre className="rollout-log" aria-label="Release phase log">
              {phase.log.trimEnd().split('\n').slice(-40).join('\n')}
            </pre>
          )}
        </div>
      )}
      {rollout.instances.length === 0 ? (
        <p className="muted small">No instance to switch: no agent runs this environment.</p>
      ) : (
        <div className="table-wrap">
          <table className="table stack-narrow rollout-instances" aria-label="Instances of the rollout">
            <thead>
              <tr>
                <th>Instance</th>
                <th>From</th>
                <th>Step</th>
                <th>Health</th>
                <th>Rotation</th>
                <th>Since</th>
              </tr>
            </thead>
            <tbody>
              {rollout.instances.map((instance) => (
                <tr key={instance.agent} data-instance={instance.name} data-step={instance.step}>
                  <td data-label="Instance">
                    <span className="strong">{instance.name}</span>
                    {instance.lost && (
                      <span className="badge badge-locked" title="Missed two heartbeats: counted as unavailable">
                        LOST
                      </span>
                    )}
                  </td>
                  <td className="mono small" data-label="From">
                    {instance.from?.deployment ?? <span className="muted">nothing</span>}
                  </td>
                  <td data-label="Step">
                    <span className={`rollout-step ${stepTone(instance.step)}`}>{STEP_WORDS[instance.step]}</span>
                    {instance.error && <div className="small reason rollout-error">{instance.error}</div>}
                  </td>
                  <td data-label="Health">{instance.healthy ? <span className="chip chip-live">healthy</span> : <span className="chip">not healthy</span>}</td>
                  <td data-label="Rotation">{instance.rotation === 'in' ? 'in rotation' : instance.rotation === 'draining' ? 'draining' : 'out of rotation'}</td>
                  <td className="nowrap" data-label="Since">
                    {instance.since ? <TimeAgo iso={instance.since} /> : <span className="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
