import { useState, type FormEvent } from 'react';
import type { Environment, Release } from '../../../src/protocol/api.ts';
import { useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { BreakGlass } from './break-glass.tsx';
import { ErrorNote } from './error-note.tsx';

/**
 * The deployment a rollback returns to: the newest release of another deployment that was live
 * here. A release that waited or failed never ran here, so it is no place to return to.
 */
export function rollbackTarget(environment: Environment, releases: Release[]): Release | undefined {
  return releases.find((release) => release.deployment !== environment.deployment && release.liveAt !== null);
}

export function RollbackForm({
  environment,
  target,
  refresh,
  onDone,
  onCancel,
}: {
  environment: Environment;
  target: Release;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const { client } = useSession();
  const action = useAction(refresh);
  const [reason, setReason] = useState('');
  const [force, setForce] = useState(false);
  // The release the person is looking at when they confirm; a move in between is a RELEASE_CONFLICT.
  const [seenRelease] = useState(environment.release?.number ?? 0);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() =>
      client.rollback(environment.project, environment.name, {
        to: target.deployment,
        expectRelease: seenRelease,
        ...(reason.trim() ? { reason: reason.trim() } : {}),
        ...(force ? { force: true } : {}),
      }),
    );
    if (outcome.ok) {
      const release = outcome.value;
      onDone(`Rolled ${environment.name} back to ${release.deployment} (v${release.number}); it stays pinned until the next promotion.`);
    }
  };

  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={`Roll back ${environment.name}`}>
      <p>
        Roll back <strong>{environment.name}</strong> to <code>{target.deployment}</code> (live in v{target.number})? The environment stays
        pinned there until someone promotes again.
      </p>
      <BreakGlass environment={environment} checked={force} onChange={setForce} />
      <label className="field">
        <span>Reason {force ? '(required)' : '(optional)'}</span>
        <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. checkout errors after v12" required={force} />
      </label>
      {action.error && <ErrorNote error={action.error} subject={environment.name} />}
      <div className="form-actions">
        <button type="submit" className="button danger" disabled={action.pending}>
          {action.pending ? 'Rolling back…' : 'Roll back'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
