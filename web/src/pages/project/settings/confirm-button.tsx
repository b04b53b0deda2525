import { useEffect, useRef, useState } from 'react';

/**
 * A button that asks once more, in place: "Remove" becomes "Remove alice? [Yes, remove] [Cancel]".
 * The confirming button takes the focus; Escape or Cancel go back and return the focus.
 */
export function ConfirmButton({
  label,
  text,
  question,
  confirmLabel,
  onConfirm,
  disabled,
  describedBy,
}: {
  /** The button's accessible name ("Remove alice"). */
  label: string;
  /** What the button shows, when shorter than its name ("Remove"); the name's first word otherwise. */
  text?: string;
  /** What is asked ("Remove alice from shop?"). */
  question: string;
  confirmLabel: string;
  onConfirm: () => void;
  disabled?: boolean;
  describedBy?: string | undefined;
}) {
  const [asking, setAsking] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);
  useEffect(() => {
    if (asking) yes.current?.focus();
    else if (returnFocus.current) {
      returnFocus.current = false;
      opener.current?.focus();
    }
  }, [asking]);
  const cancel = () => {
    returnFocus.current = true;
    setAsking(false);
  };
  if (!asking) {
    return (
      <button type="button" ref={opener} className="button small" onClick={() => setAsking(true)} disabled={disabled} aria-label={label} aria-describedby={describedBy}>
        {text ?? label.split(' ')[0]}
      </button>
    );
  }
  return (
    <span
      className="settings-confirm"
      role="group"
      aria-label={question}
      onKeyDown={(e) => {
        if (e.key === 'Escape') cancel();
      }}
    >
      <span className="settings-confirm-question">{question}</span>
      <button
        type="button"
        ref={yes}
        className="button small danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="button small" onClick={cancel}>
        Cancel
      </button>
    </span>
  );
}
