import { useState, type FormEvent } from 'react';
import type { Environment } from '../../../src/protocol/api.ts';
import { useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { ErrorNote } from './error-note.tsx';

export function UnlockForm({
  environment,
  refresh,
  onDone,
  onCancel,
}: {
  environment: Environment;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const { client, whoami } = useSession();
  const action = useAction(refresh);
  const [reason, setReason] = useState('');
  const owner = environment.lock?.by;
  // Someone else's lock is a break-glass unlock: admins only, with a reason, audited. A lock
  // belongs to a token id; another token of the same name is someone else.
  const force = environment.lock !== null && environment.lock.byId !== whoami.actor.id;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() =>
      client.unlock(environment.project, environment.name, { ...(reason.trim() ? { reason: reason.trim() } : {}), ...(force ? { force: true } : {}) }),
    );
    if (outcome.ok) onDone(`Unlocked ${environment.name}.`);
  };

  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={`Unlock ${environment.name}`}>
      {force ? (
        <p className="lock-warning">
          This lock belongs to <strong>{owner}</strong>. Removing it is a break-glass action: admins only, with a reason, recorded in the audit
          log.
        </p>
      ) : (
        <p>
          Unlock <strong>{environment.name}</strong>? Promotions and rollbacks are allowed again.
        </p>
      )}
      <label className="field">
        <span>Reason {force ? '(required)' : '(optional)'}</span>
        <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. freeze is over" required={force} />
      </label>
      {action.error && <ErrorNote error={action.error} subject={environment.name} />}
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={action.pending}>
          {action.pending ? 'Unlocking…' : 'Unlock'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
