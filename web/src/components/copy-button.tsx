import { useEffect, useState } from 'react';

type Copied = 'idle' | 'copied' | 'failed';

/**
 * Copies `text`. The Clipboard API exists only in secure contexts (https, localhost); elsewhere
 * the button says so and the text beside it selects with one click (`user-select: all`).
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<Copied>('idle');
  useEffect(() => {
    if (state === 'idle') return undefined;
    const timer = window.setTimeout(() => setState('idle'), 2000);
    return () => window.clearTimeout(timer);
  }, [state]);

  const copy = () => {
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (clipboard === undefined) {
      setState('failed');
      return;
    }
    clipboard.writeText(text).then(
      () => setState('copied'),
      () => setState('failed'),
    );
  };

  return (
    <button
      type="button"
      className="button small copy-button"
      onClick={copy}
      aria-label={label}
      title={state === 'failed' ? 'The browser refused; select the text and copy it by hand' : label}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy by hand' : 'Copy'}
    </button>
  );
}
