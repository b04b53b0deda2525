import { useState } from 'react';
import type { Release } from '../../../src/protocol/api.ts';
import type { Rollout } from '../../../src/protocol/rollouts.ts';
import { useSession } from '../session.ts';
import { ActionButton } from './action-button.tsx';
import { ActionDialog } from './action-dialog.tsx';

/** A rollout an abort can still stop: running, and not already going back. */
const STOPPABLE: readonly Rollout['state'][] = ['preparing', 'release_phase', 'switching'];

/**
 * Abort of a running rollout, confirmed in the shared dialog with a reason: switched instances
 * go back to the previous release, the release ends rolled back (failed when none had switched)
 * and the environment is pinned. The server judges it (release.actions.abortRollout).
 */
export function AbortRollout({ release, rollout, refresh, onDone }: { release: Release; rollout: Rollout; refresh: () => Promise<void>; onDone: (message: string) => void }) {
  const { client } = useSession();
  const [open, setOpen] = useState(false);
  if (!STOPPABLE.includes(rollout.state)) return null;
  const label = `${release.environment} v${release.number}`;
  const switched = rollout.instances.filter((i) => i.step === 'switching' || i.step === 'in').length;
  const previous = rollout.previous?.deployment ?? null;
  const close = () => setOpen(false);
  return (
    <div className="form-actions">
      <ActionButton verdict={release.actions?.abortRollout} className="button danger small" onClick={() => setOpen(true)}>
        Abort rollout…
        <span className="visually-hidden"> of v{release.number}</span>
      </ActionButton>
      {open && (
        <ActionDialog<Rollout>
          title={`Abort the rollout of ${label}`}
          subject={label}
          summary={
            <p>
              {switched > 0 ? (
                <>
                  The {switched === 1 ? 'instance' : `${switched} instances`} already on v{release.number} go{switched === 1 ? 'es' : ''} back to{' '}
                  {previous ? <code>{previous}</code> : 'the previous release'}; the release ends rolled back.
                </>
              ) : (
                <>No instance has switched yet: the release ends failed and nothing restarts.</>
              )}{' '}
              {release.environment} is pinned with your reason, so automation sends nothing out until someone promotes.
              {rollout.state === 'release_phase' && ' A release phase already running on its host finishes there.'}
            </p>
          }
          reason="required"
          reasonMax={500}
          reasonPlaceholder="e.g. error rate up on the new instances"
          confirmLabel="Abort rollout"
          pendingLabel="Aborting…"
          tone="danger"
          refresh={refresh}
          perform={({ reason }) => client.abortRollout(release.project, release.id, { reason })}
          onDone={(stopped) => {
            close();
            onDone(stopped.state === 'rolling_back' ? `Aborted the rollout of ${label}: instances are going back.` : `Aborted the rollout of ${label}.`);
          }}
          onCancel={close}
        />
      )}
    </div>
  );
}
