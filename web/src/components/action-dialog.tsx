import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { Lock } from '../../../src/protocol/api.ts';
import type { ApiError } from '../../../src/protocol/client.ts';
import { useAction } from '../use-action.ts';
import { ErrorNote } from './error-note.tsx';
import '../styles/pipeline.css';

/** What the person typed when they confirmed. */
export interface ActionInput {
  /** Trimmed; undefined when left empty. */
  reason: string | undefined;
  /** The admin's break-glass past a lock (only when offered and ticked). */
  force: boolean;
}

/** The break-glass past a lock, offered where the API takes `force`. */
export interface BreakGlassOffer {
  environment: string;
  lock: Lock | null;
  /** Whether this person may break it (an admin); otherwise the dialog says the server will refuse. */
  allowed: boolean;
}

export interface ActionDialogProps<T> {
  /** The dialog's (and its form's) accessible name: "Lock production", "Promote dpl_x". */
  title: string;
  /** What will change, in words: "production v5 → v6, clears its pin, carries 3 commits by 2 authors". */
  summary: ReactNode;
  /** Fields of this action, above the reason (a target, an end time). */
  children?: ReactNode;
  reason: 'none' | 'optional' | 'required';
  reasonPlaceholder?: string;
  /** The longest reason the API takes (1000 unless it says less). */
  reasonMax?: number;
  breakGlass?: BreakGlassOffer | undefined;
  confirmLabel: string;
  pendingLabel: string;
  tone?: 'primary' | 'danger';
  /** Whether confirming is possible at all (a field is incomplete, nothing to do). */
  ready?: boolean;
  /** Names the thing in error hints ("production is locked"). */
  subject?: string;
  refresh: () => Promise<void>;
  perform: (input: ActionInput) => Promise<T>;
  onDone: (value: T) => void;
  /** After a refusal (the dialog stays open and shows it): e.g. note what the server says is live now. */
  onFailed?: (error: ApiError) => void;
  onCancel: () => void;
}

/**
 * Every change made from the dashboard goes through this one dialog: what will change, the
 * fields of the action, a reason, the break-glass past a lock where the API supports it, the
 * error with its code, and a pending state. A modal `<dialog>`: focus goes to its first field,
 * Escape cancels, focus returns to what opened it.
 */
export function ActionDialog<T>({
  title,
  summary,
  children,
  reason,
  reasonPlaceholder,
  reasonMax = 1000,
  breakGlass,
  confirmLabel,
  pendingLabel,
  tone = 'primary',
  ready = true,
  subject,
  refresh,
  perform,
  onDone,
  onFailed,
  onCancel,
}: ActionDialogProps<T>) {
  const action = useAction(refresh);
  const [text, setText] = useState('');
  const [force, setForce] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const summaryId = useId();
  const reasonNeeded = reason === 'required' || force;

  useEffect(() => {
    const element = dialog.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (element && !element.open) element.showModal();
    element?.querySelector<HTMLElement>('input:not([type="checkbox"]), select, textarea, button[type="submit"]')?.focus();
    return () => {
      if (element?.open) element.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = text.trim();
    const outcome = await action.run(() => perform({ reason: trimmed === '' ? undefined : trimmed, force }));
    if (outcome.ok) onDone(outcome.value);
    else onFailed?.(outcome.error);
  };

  const lock = breakGlass?.lock ?? null;
  return (
    <dialog
      ref={dialog}
      className="action-dialog"
      aria-labelledby={titleId}
      aria-describedby={summaryId}
      onCancel={(event) => {
        // Escape: the parent unmounts the dialog, which closes it and returns focus.
        event.preventDefault();
        if (!action.pending) onCancel();
      }}
    >
      <form className="action-form" onSubmit={(e) => void submit(e)} aria-label={title}>
        <h2 id={titleId} className="action-title">
          {title}
        </h2>
        <div id={summaryId} className="action-summary" data-summary>
          {summary}
        </div>
        {children}
        {lock && breakGlass && (
          <div className="lock-warning">
            <strong>{breakGlass.environment} is locked</strong> by {lock.by}: “{lock.reason}”.
            {breakGlass.allowed ? (
              <label className="checkbox">
                <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Break the lock (admin; needs a reason; audited)
              </label>
            ) : (
              <> The server will refuse this until it is unlocked.</>
            )}
          </div>
        )}
        {reason !== 'none' && (
          <label className="field">
            <span>Reason {reasonNeeded ? '(required)' : '(optional)'}</span>
            <input value={text} onChange={(e) => setText(e.target.value)} placeholder={reasonPlaceholder} required={reasonNeeded} maxLength={reasonMax} />
          </label>
        )}
        {action.error && <ErrorNote error={action.error} subject={subject} onDismiss={action.clear} />}
        <div className="form-actions action-buttons">
          <button type="submit" className={`button ${tone}`} disabled={action.pending || !ready || (reasonNeeded && text.trim() === '')} aria-busy={action.pending}>
            {action.pending ? pendingLabel : confirmLabel}
          </button>
          <button type="button" className="button" onClick={onCancel} disabled={action.pending}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
