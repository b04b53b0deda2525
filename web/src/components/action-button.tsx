import { useId, type ReactNode } from 'react';
import type { Verdict } from '../../../src/protocol/actions.ts';
import '../styles/actions.css';

/**
 * Buttons of actions the server judges (protocol/actions.ts): the dashboard never decides who
 * may do what; it shows the server's verdict. A refused action's button is disabled, says why
 * in its title, and points at a visible reason with aria-describedby — its own line under it,
 * or a note shared by many buttons (`describedBy`, an ActionNote's id).
 */

/** What the page shows before it has the server's verdict (or when an older server sent none). */
export const NOT_JUDGED: Verdict = { allowed: false, reason: 'Waiting for the server to say whether you may do this', code: null };

export function ActionButton({
  verdict,
  onClick,
  children,
  className = 'button',
  type = 'button',
  busy = false,
  title,
  describedBy,
}: {
  verdict: Verdict | undefined;
  onClick?: () => void;
  children: ReactNode;
  className?: string;
  type?: 'button' | 'submit';
  /** A request of this action is on its way. */
  busy?: boolean;
  /** The title while allowed. */
  title?: string | undefined;
  /** The id of an ActionNote that already shows the reason; without it the reason is shown under the button. */
  describedBy?: string | undefined;
}) {
  const own = useId();
  const judged = verdict ?? NOT_JUDGED;
  const reason = judged.allowed ? null : (judged.reason ?? 'Not allowed');
  return (
    <>
      <button
        type={type}
        className={className}
        onClick={onClick}
        disabled={reason !== null || busy}
        title={reason ?? title}
        aria-describedby={reason === null ? undefined : (describedBy ?? own)}
        data-refused={reason === null ? undefined : (judged.code ?? 'UNKNOWN')}
      >
        {children}
      </button>
      {reason !== null && describedBy === undefined && (
        <span id={own} className="action-reason">
          {reason}
        </span>
      )}
    </>
  );
}

/** One visible reason for several refused buttons (a table's rows): their describedBy. Nothing when allowed. */
export function ActionNote({ id, verdict }: { id: string; verdict: Verdict | undefined }) {
  const judged = verdict ?? NOT_JUDGED;
  if (judged.allowed) return null;
  return (
    <p id={id} className="action-reason action-note" data-refused={judged.code ?? undefined}>
      {judged.reason}
    </p>
  );
}
