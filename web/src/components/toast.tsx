import { useEffect } from 'react';

/** A short confirmation of the last action, bottom right; it fades by itself. */
export function Toast({ message, onClose }: { message: string | undefined; onClose: () => void }) {
  useEffect(() => {
    if (message === undefined) return undefined;
    const timer = window.setTimeout(onClose, 6000);
    return () => window.clearTimeout(timer);
  }, [message, onClose]);
  if (message === undefined) return null;
  return (
    <div className="toast" role="status">
      <span>{message}</span>
      <button type="button" className="link-button" onClick={onClose} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
