import { useState, type FormEvent } from 'react';
import { GateCode } from '../../../src/core/gates/types.ts';
import type { Release } from '../../../src/protocol/api.ts';
import { useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { ActionButton } from './action-button.tsx';
import { ErrorNote } from './error-note.tsx';

interface Missing {
  required: number;
  role: string;
  missingCount: number;
  approvedBy: string[];
  authors: { email: string; user: string | null }[];
  unmapped: string[];
  unknownCommits: number;
}

/** Who still has to approve, from the APPROVALS_PENDING reason of the release's last look; null when approvals do not hold it. */
function missingOf(release: Release): Missing | null {
  if (release.gates?.outcome !== 'wait') return null;
  const reason = release.gates.reasons.find((r) => r.code === GateCode.APPROVALS_PENDING);
  if (!reason) return null;
  const d = reason.details ?? {};
  const list = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null) : []);
  return {
    required: typeof d.required === 'number' ? d.required : 0,
    role: typeof d.role === 'string' ? d.role : 'approver',
    missingCount: typeof d.missingCount === 'number' ? d.missingCount : 0,
    approvedBy: Array.isArray(d.approvedBy) ? d.approvedBy.filter((v): v is string => typeof v === 'string') : [],
    authors: list(d.missingAuthors).flatMap((a) => (typeof a.email === 'string' ? [{ email: a.email, user: typeof a.user === 'string' ? a.user : null }] : [])),
    unmapped: list(d.unmapped).flatMap((a) => (typeof a.email === 'string' ? [a.email] : [])),
    unknownCommits: typeof d.unknownCommits === 'number' ? d.unknownCommits : 0,
  };
}

/**
 * A release waiting for approvals: who still has to approve, and Approve / Reject as the server
 * judges them for the person signed in (release.actions: four eyes, roles, already approved),
 * each disabled with the server's reason when refused.
 */
export function ApprovalPanel({ release, refresh, onDone }: { release: Release; refresh: () => Promise<void>; onDone: (message: string) => void }) {
  const { client } = useSession();
  const action = useAction(refresh);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const missing = missingOf(release);
  if (release.state !== 'waiting' || missing === null) return null;
  const label = `${release.environment} v${release.number}`;

  const approve = async () => {
    const outcome = await action.run(() => client.approve(release.project, release.id));
    if (outcome.ok) onDone(outcome.value.release.state === 'live' ? `Approved ${label}: it is live.` : `Approved ${label}.`);
  };
  const reject = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() => client.reject(release.project, release.id, { reason: reason.trim() }));
    if (outcome.ok) onDone(`Rejected ${label}.`);
  };

  return (
    <div className="approval-panel" aria-label={`Approvals of ${label}`}>
      <p className="small strong">Still to approve:</p>
      <ul className="approval-missing small">
        {missing.missingCount > 0 && (
          <li data-missing="count">
            {missing.missingCount} more of {missing.required} ({missing.role} or above; not an author of its commits, not who promoted it)
            {missing.approvedBy.length > 0 && <span className="muted"> — approved by {missing.approvedBy.join(', ')}</span>}
          </li>
        )}
        {missing.authors.map((author) => (
          <li key={author.email} data-missing="author" data-email={author.email}>
            {author.user ?? author.email} <span className="muted">({author.email})</span>
          </li>
        ))}
        {missing.unmapped.map((email) => (
          <li key={email} data-missing="unmapped" data-email={email}>
            {email} <span className="muted">(no user: someone with {missing.role} may sign for it from the CLI)</span>
          </li>
        ))}
        {missing.unknownCommits > 0 && <li data-missing="unknown">Authors of {missing.unknownCommits} commit(s) Slipway does not know</li>}
      </ul>
      {action.error && <ErrorNote error={action.error} subject={label} />}
      {rejecting ? (
        <form className="inline-form" onSubmit={(e) => void reject(e)} aria-label={`Reject ${label}`}>
          <label className="field">
            <span>Reason (required)</span>
            <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. breaks checkout on Safari" required maxLength={500} />
          </label>
          <div className="form-actions">
            <button type="submit" className="button danger" disabled={action.pending || reason.trim() === ''}>
              {action.pending ? 'Rejecting…' : `Reject v${release.number}`}
            </button>
            <button type="button" className="button" onClick={() => setRejecting(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div className="form-actions approval-actions">
          <ActionButton verdict={release.actions?.approve} className="button primary" busy={action.pending} onClick={() => void approve()}>
            {action.pending ? 'Approving…' : 'Approve'}
            <span className="visually-hidden"> v{release.number}</span>
          </ActionButton>
          <ActionButton verdict={release.actions?.reject} busy={action.pending} onClick={() => setRejecting(true)}>
            Reject…
            <span className="visually-hidden"> v{release.number}</span>
          </ActionButton>
        </div>
      )}
    </div>
  );
}
