import { useState } from 'react';
import type { Environment, MovedRelease, Release } from '../../../src/protocol/api.ts';
import type { Freeze } from '../../../src/protocol/freezes.ts';
import { formatCount, formatShort } from '../format.ts';
import { useSession } from '../session.ts';
import { ActionDialog } from './action-dialog.tsx';
import { PlanSummary, useMovePlan } from './move-plan.tsx';

/**
 * The changes made to one environment from its column — roll back, lock, unlock, freeze,
 * unfreeze — each a confirmation in the shared ActionDialog saying what will change.
 */

interface Common {
  environment: Environment;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
  onCancel: () => void;
}

/**
 * The deployment a rollback returns to: the newest release of another deployment that was live
 * here. A release that waited or failed never ran here, so it is no place to return to.
 */
export function rollbackTarget(environment: Environment, releases: Release[]): Release | undefined {
  return releases.find((release) => release.deployment !== environment.deployment && release.liveAt !== null);
}

export function RollbackDialog({ environment, target, refresh, onDone, onCancel }: Common & { target: Release }) {
  const { client } = useSession();
  // The release the person is looking at when they confirm; a move in between is a RELEASE_CONFLICT.
  const [seen] = useState(environment.release?.number ?? 0);
  const plan = useMovePlan(`${target.deployment}\u0000${seen}`, () =>
    client.planRollback(environment.project, environment.name, { to: target.deployment, expectRelease: seen }),
  );
  return (
    <ActionDialog<MovedRelease>
      title={`Roll back ${environment.name}`}
      subject={environment.name}
      summary={
        <>
          <p>
            Back to <code>{target.deployment}</code>, live here in v{target.number}. {environment.name} stays pinned there until someone promotes
            again.
          </p>
          <PlanSummary state={plan} />
        </>
      }
      reason="optional"
      reasonPlaceholder="e.g. checkout errors after v12"
      breakGlass={{ environment: environment.name, lock: environment.lock, allowed: environment.actions?.rollback.breakGlass === true }}
      confirmLabel="Roll back"
      pendingLabel="Rolling back…"
      tone="danger"
      refresh={refresh}
      perform={({ reason, force }) =>
        client.rollback(environment.project, environment.name, {
          to: target.deployment,
          expectRelease: seen,
          ...(reason ? { reason } : {}),
          ...(force ? { force: true } : {}),
        })
      }
      onDone={(release) => onDone(`Rolled ${environment.name} back to ${release.deployment} (v${release.number}); it stays pinned until the next promotion.`)}
      onCancel={onCancel}
    />
  );
}

export function LockDialog({ environment, waiting, refresh, onDone, onCancel }: Common & { waiting: number }) {
  const { client } = useSession();
  const [until, setUntil] = useState('');
  return (
    <ActionDialog
      title={`Lock ${environment.name}`}
      subject={environment.name}
      summary={
        <p>
          <strong>{environment.name}</strong>: every promotion and rollback is refused — from the dashboard, the CLI and automation —{' '}
          {until.trim() ? `until ${until.trim()}` : 'until someone unlocks it'}.
          {waiting > 0 && ` ${formatCount(waiting, 'release')} waiting to enter stay${waiting === 1 ? 's' : ''} waiting.`} It keeps running{' '}
          {environment.release ? `v${environment.release.number}` : 'what it runs'}.
        </p>
      }
      reason="required"
      reasonPlaceholder="e.g. database migration in progress"
      confirmLabel="Lock"
      pendingLabel="Locking…"
      refresh={refresh}
      perform={({ reason }) => client.lock(environment.project, environment.name, { reason: reason ?? '', ...(until.trim() ? { until: until.trim() } : {}) })}
      onDone={() => onDone(`Locked ${environment.name}: every promotion and rollback is refused until it is unlocked.`)}
      onCancel={onCancel}
    >
      <label className="field">
        <span>Until (optional)</span>
        <input value={until} onChange={(e) => setUntil(e.target.value)} placeholder="2h, 30m, or 2030-01-31T18:00Z" maxLength={64} />
      </label>
    </ActionDialog>
  );
}

export function UnlockDialog({ environment, waiting, refresh, onDone, onCancel }: Common & { waiting: number }) {
  const { client, whoami } = useSession();
  // Someone else's lock is a break-glass unlock: admins only, with a reason, audited. A lock
  // belongs to a token id; another token of the same name is someone else.
  const force = environment.lock !== null && environment.lock.byId !== whoami.actor.id;
  return (
    <ActionDialog
      title={`Unlock ${environment.name}`}
      subject={environment.name}
      summary={
        <>
          <p>
            <strong>{environment.name}</strong>: promotions and rollbacks are allowed again
            {waiting > 0 ? `; ${formatCount(waiting, 'waiting release')} ${waiting === 1 ? 'is' : 'are'} looked at again at once` : ''}.
          </p>
          {force && (
            <p className="lock-warning">
              This lock belongs to <strong>{environment.lock?.by}</strong>. Removing it is a break-glass action: admins only, with a reason, recorded in
              the audit log.
              {environment.actions?.unlock.allowed !== true &&
                environment.actions?.unlock.breakGlass !== true &&
                ` ${environment.actions?.unlock.reason ?? 'The server will refuse it for you.'}`}
            </p>
          )}
        </>
      }
      reason={force ? 'required' : 'optional'}
      reasonPlaceholder="e.g. migration done"
      confirmLabel="Unlock"
      pendingLabel="Unlocking…"
      refresh={refresh}
      perform={({ reason }) => client.unlock(environment.project, environment.name, { ...(reason ? { reason } : {}), ...(force ? { force: true } : {}) })}
      onDone={() => onDone(`Unlocked ${environment.name}.`)}
      onCancel={onCancel}
    />
  );
}

/** `datetime-local` is the reader's local time; the API takes an instant (with its offset). */
function instantOf(local: string): string | undefined {
  if (local === '') return undefined;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? local : at.toISOString();
}

export function FreezeDialog({ environment, waiting, refresh, onDone, onCancel }: Common & { waiting: number }) {
  const { client } = useSession();
  const [from, setFrom] = useState('');
  const [until, setUntil] = useState('');
  const end = instantOf(until);
  return (
    <ActionDialog<Freeze>
      title={`Freeze ${environment.name}`}
      subject={environment.name}
      summary={
        <p>
          <strong>{environment.name}</strong>: nothing goes live {from ? `from ${formatShort(instantOf(from) ?? from)}` : 'from now'}
          {end ? ` until ${formatShort(end)}` : ' until the end you set'} but an admin&apos;s forced promotion; releases wait, a person&apos;s promotion is
          refused (FROZEN).{waiting > 0 && ` ${formatCount(waiting, 'release')} waiting now keep${waiting === 1 ? 's' : ''} waiting.`}
        </p>
      }
      reason="required"
      reasonPlaceholder="e.g. end-of-year freeze"
      confirmLabel="Freeze"
      pendingLabel="Freezing…"
      ready={until !== ''}
      refresh={refresh}
      perform={({ reason }) => {
        const start = instantOf(from);
        return client.freeze(environment.project, environment.name, { until: end ?? '', reason: reason ?? '', ...(start ? { from: start } : {}) });
      }}
      onDone={(freeze) => onDone(`Froze ${environment.name} until ${formatShort(freeze.until)}.`)}
      onCancel={onCancel}
    >
      <div className="form-row">
        <label className="field">
          <span>From (optional; now)</span>
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label className="field">
          <span>Until</span>
          <input type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} required />
        </label>
      </div>
    </ActionDialog>
  );
}

export function UnfreezeDialog({ environment, freezes, refresh, onDone, onCancel }: Common & { freezes: Freeze[] }) {
  const { client } = useSession();
  const [chosen, setChosen] = useState(freezes[0]?.id ?? '');
  const freeze = freezes.find((f) => f.id === chosen);
  return (
    <ActionDialog<Freeze>
      title={`Unfreeze ${environment.name}`}
      subject={environment.name}
      summary={
        <p>
          Lifts the freeze of <strong>{environment.name}</strong>
          {freeze && (
            <>
              {' '}
              by {freeze.createdBy} (“{freeze.reason}”, until {formatShort(freeze.until)})
            </>
          )}
          ; what it held is looked at again at once.
        </p>
      }
      reason="none"
      confirmLabel="Unfreeze"
      pendingLabel="Unfreezing…"
      ready={freeze !== undefined}
      refresh={refresh}
      perform={() => client.unfreeze(environment.project, environment.name, chosen)}
      onDone={() => onDone(`Lifted the freeze of ${environment.name}.`)}
      onCancel={onCancel}
    >
      {freezes.length > 1 && (
        <label className="field">
          <span>Freeze</span>
          <select value={chosen} onChange={(e) => setChosen(e.target.value)}>
            {freezes.map((f) => (
              <option key={f.id} value={f.id}>
                {formatShort(f.from)} – {formatShort(f.until)}: {f.reason}
              </option>
            ))}
          </select>
        </label>
      )}
    </ActionDialog>
  );
}
