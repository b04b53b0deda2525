import { useState } from 'react';
import { GateCode } from '../../../src/core/gates/types.ts';
import type { Release } from '../../../src/protocol/api.ts';
import type { Decision } from '../../../src/protocol/approvals.ts';
import { useSession } from '../session.ts';
import { ActionButton } from './action-button.tsx';
import { ActionDialog } from './action-dialog.tsx';

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

type Open = 'none' | 'approve' | 'reject';

/**
 * A release waiting for approvals: who still has to approve, and Approve / Reject, each
 * confirmed in the shared dialog. The server judges them for the person signed in
 * (release.actions: four eyes, roles, already approved); a refused one is disabled with its reason.
 */
export function ApprovalPanel({ release, refresh, onDone }: { release: Release; refresh: () => Promise<void>; onDone: (message: string) => void }) {
  const { client } = useSession();
  const [open, setOpen] = useState<Open>('none');
  const missing = missingOf(release);
  if (release.state !== 'waiting' || missing === null) return null;
  const label = `${release.environment} v${release.number}`;
  const close = () => setOpen('none');
  const still = missing.missingCount + missing.authors.length + missing.unmapped.length;

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
      <div className="form-actions approval-actions">
        <ActionButton verdict={release.actions?.approve} className="button primary small" onClick={() => setOpen('approve')}>
          Approve
          <span className="visually-hidden"> v{release.number}</span>
        </ActionButton>
        <ActionButton verdict={release.actions?.reject} className="button small" onClick={() => setOpen('reject')}>
          Reject…
          <span className="visually-hidden"> v{release.number}</span>
        </ActionButton>
      </div>
      {open === 'approve' && (
        <ActionDialog<Decision>
          title={`Approve ${label}`}
          subject={label}
          summary={
            <p>
              Your approval of <strong>{label}</strong> (<code>{release.deployment}</code>) is recorded
              {still <= 1 ? '; if it was the last one missing, it goes live at once' : `; ${still} approvals are still missing before yours`}.
            </p>
          }
          reason="optional"
          reasonMax={500}
          reasonPlaceholder="e.g. checked on staging"
          confirmLabel="Approve"
          pendingLabel="Approving…"
          refresh={refresh}
          perform={({ reason }) => client.approve(release.project, release.id, reason ? { reason } : {})}
          onDone={(decision) => {
            close();
            onDone(decision.release.state === 'live' ? `Approved ${label}: it is live.` : `Approved ${label}.`);
          }}
          onCancel={close}
        />
      )}
      {open === 'reject' && (
        <ActionDialog<Decision>
          title={`Reject ${label}`}
          subject={label}
          summary={
            <p>
              <strong>{label}</strong> (<code>{release.deployment}</code>) fails with your reason and never goes live in {release.environment}; it keeps
              running {release.previousDeployment ? <code>{release.previousDeployment}</code> : 'what it runs'}.
            </p>
          }
          reason="required"
          reasonMax={500}
          reasonPlaceholder="e.g. breaks checkout on Safari"
          confirmLabel={`Reject v${release.number}`}
          pendingLabel="Rejecting…"
          tone="danger"
          refresh={refresh}
          perform={({ reason }) => client.reject(release.project, release.id, { reason: reason ?? '' })}
          onDone={() => {
            close();
            onDone(`Rejected ${label}.`);
          }}
          onCancel={close}
        />
      )}
    </div>
  );
}
