import { useState, type FormEvent } from 'react';
import type { Environment } from '../../../src/protocol/api.ts';
import { useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { ErrorNote } from './error-note.tsx';

export function LockForm({
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
  const { client } = useSession();
  const action = useAction(refresh);
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() =>
      client.lock(environment.project, environment.name, { reason: reason.trim(), ...(until.trim() ? { until: until.trim() } : {}) }),
    );
    if (outcome.ok) onDone(`Locked ${environment.name}: every promotion and rollback is refused until it is unlocked.`);
  };

  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={`Lock ${environment.name}`}>
      <p>
        A lock stops every promotion and rollback of <strong>{environment.name}</strong>, from the dashboard, the CLI and automation.
      </p>
      <label className="field">
        <span>Reason</span>
        <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. release freeze for the launch" required />
      </label>
      <label className="field">
        <span>Until (optional)</span>
        <input value={until} onChange={(e) => setUntil(e.target.value)} placeholder="2h, 30m, or 2030-01-31T18:00Z" />
      </label>
      {action.error && <ErrorNote error={action.error} subject={environment.name} />}
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={action.pending || reason.trim() === ''}>
          {action.pending ? 'Locking…' : 'Lock'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
