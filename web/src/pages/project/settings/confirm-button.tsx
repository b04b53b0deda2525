import { useState, type ReactNode } from 'react';
import { ActionDialog } from '../../../components/action-dialog.tsx';

/**
 * A button that asks once more before a change that cannot be taken back (remove, revoke,
 * rotate), in the dashboard's one action dialog: what will change, the server's refusal with its
 * code should it come, Escape to cancel, focus back on the button.
 */
export function ConfirmButton<T>({
  label,
  text,
  summary,
  confirmLabel,
  pendingLabel,
  perform,
  onDone,
  refresh,
  disabled,
  describedBy,
}: {
  /** The button's accessible name and the dialog's title ("Remove bo"). */
  label: string;
  /** What the button shows, when shorter than its name ("Remove"); the name's first word otherwise. */
  text?: string;
  /** What will change, in words. */
  summary: ReactNode;
  confirmLabel: string;
  pendingLabel: string;
  perform: () => Promise<T>;
  onDone: (value: T) => void;
  refresh: () => Promise<void>;
  disabled?: boolean;
  describedBy?: string | undefined;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button small" onClick={() => setOpen(true)} disabled={disabled} aria-label={label} aria-describedby={describedBy}>
        {text ?? label.split(' ')[0]}
      </button>
      {open && (
        <ActionDialog
          title={label}
          summary={summary}
          reason="none"
          confirmLabel={confirmLabel}
          pendingLabel={pendingLabel}
          tone="danger"
          refresh={refresh}
          perform={perform}
          onDone={(value) => {
            setOpen(false);
            onDone(value);
          }}
          onCancel={() => setOpen(false)}
        />
      )}
    </>
  );
}
