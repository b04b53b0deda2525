import { useState } from 'react';
import type { Deployment, Environment, MovedRelease } from '../../../src/protocol/api.ts';
import { useSession } from '../session.ts';
import { ActionDialog } from './action-dialog.tsx';
import { PlanSummary, useMovePlan } from './move-plan.tsx';

const NEW = '\u0000new';

/** What the person saw of the target environment when they chose it; sent as `expectRelease`. */
function seenOf(environments: Environment[], name: string): number {
  return environments.find((e) => e.name === name)?.release?.number ?? 0;
}

function defaultTarget(environments: Environment[], deployment: { id: string }, target: string | undefined): string {
  if (target !== undefined) return target;
  const elsewhere = environments.filter((e) => e.deployment !== deployment.id);
  return (elsewhere.find((e) => e.name === 'production') ?? elsewhere[0] ?? environments[0])?.name ?? NEW;
}

/**
 * Promoting a deployment: the target (fixed when opened from an environment's column), and
 * what will change as the server's dry run says — "production v5 → v6, clears its pin, carries
 * 3 commits by 2 authors" — before anything is written. `expectRelease` is what was seen, so a
 * move by someone else in between is refused (RELEASE_CONFLICT) rather than overwritten.
 */
export function PromoteForm({
  deployment,
  environments,
  target: fixed,
  refresh,
  onDone,
  onCancel,
}: {
  deployment: Deployment | { id: string; project: string };
  environments: Environment[];
  /** The environment to promote into; absent: the person chooses (or names a new one). */
  target?: string;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const { client } = useSession();
  const [choice, setChoice] = useState(() => defaultTarget(environments, deployment, fixed));
  const [newName, setNewName] = useState(environments.length === 0 ? 'production' : '');
  const target = choice === NEW ? newName.trim() : choice;
  const [seen, setSeen] = useState<number>(() => seenOf(environments, target));
  const live = environments.find((e) => e.name === target);
  // Promoting what is already live only makes sense to clear a pin (the server says ALREADY_LIVE otherwise).
  const alreadyLive = live !== undefined && live.deployment === deployment.id && live.pin === null;
  const moved = live !== undefined && (live.release?.number ?? 0) !== seen;
  const plan = useMovePlan(target === '' || alreadyLive ? null : `${target}\u0000${seen}`, () =>
    client.planPromote(deployment.project, target, { deployment: deployment.id, expectRelease: seen }),
  );

  const choose = (value: string) => {
    setChoice(value);
    setSeen(seenOf(environments, value === NEW ? newName.trim() : value));
  };
  const rename = (value: string) => {
    setNewName(value);
    setSeen(seenOf(environments, value.trim()));
  };

  return (
    <ActionDialog<MovedRelease>
      title={`Promote ${deployment.id}`}
      subject={target || undefined}
      summary={
        target === '' ? (
          <p>Name the environment to create.</p>
        ) : alreadyLive ? (
          <p>
            <code>{deployment.id}</code> is already live in <strong>{target}</strong>.
          </p>
        ) : (
          <>
            <PlanSummary state={plan} />
            {moved && (
              <p className="lock-warning">
                {target} has moved to v{live.release?.number ?? 0} since you opened this (you saw v{seen}). Promoting now will be refused; check what
                is live, then open it again.
              </p>
            )}
          </>
        )
      }
      reason="optional"
      reasonPlaceholder="e.g. ship the new checkout"
      breakGlass={live ? { environment: live.name, lock: live.lock, allowed: live.actions?.promote.breakGlass === true } : undefined}
      confirmLabel={`Promote to ${target || '…'}`}
      pendingLabel="Promoting…"
      ready={target !== '' && !alreadyLive}
      refresh={refresh}
      perform={({ reason, force }) =>
        client.promote(deployment.project, target, {
          deployment: deployment.id,
          expectRelease: seen,
          ...(reason ? { reason } : {}),
          ...(force ? { force: true } : {}),
        })
      }
      onDone={(release) =>
        onDone(
          release.state === 'live'
            ? `Promoted ${deployment.id} to ${target} as v${release.number}${release.clearedPin ? '; its pin is cleared' : ''}.`
            : `v${release.number} waits to enter ${target}: ${release.stateReason ?? 'its gates hold it'}.`,
        )
      }
      onFailed={(error) => {
        // The error names the release live now; the dialog shows it, and a second press
        // promotes on top of that one, knowingly.
        const actual = error.details?.actual;
        if (error.code === 'RELEASE_CONFLICT' && typeof actual === 'number') setSeen(actual);
      }}
      onCancel={onCancel}
    >
      {fixed === undefined && (
        <div className="form-row">
          <label className="field">
            <span>Promote to</span>
            <select value={choice} onChange={(e) => choose(e.target.value)} aria-label="Target environment">
              {environments.map((e) => (
                <option key={e.name} value={e.name}>
                  {e.name}
                  {e.deployment === deployment.id ? ' (live here)' : ''}
                </option>
              ))}
              <option value={NEW}>New environment…</option>
            </select>
          </label>
          {choice === NEW && (
            <label className="field grow">
              <span>Environment name</span>
              <input value={newName} onChange={(e) => rename(e.target.value)} placeholder="staging" aria-label="New environment name" required maxLength={64} />
            </label>
          )}
        </div>
      )}
    </ActionDialog>
  );
}
