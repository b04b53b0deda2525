import type { Verdict } from './verdicts.ts';

/** Why a form is disabled, next to it; nothing when it is allowed. */
export function Refusal({ verdict, id }: { verdict: Verdict; id: string }) {
  if (verdict.allowed || verdict.reason === null) return null;
  return (
    <p className="settings-refusal" id={id}>
      {/[.!?]$/.test(verdict.reason) ? verdict.reason : `${verdict.reason}.`}
    </p>
  );
}
