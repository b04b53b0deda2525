import { formatInZone, nextOpening, openWindow, parseWindows } from '../deploy-windows.ts';
import { GateCode, PASS, type Gate } from './types.ts';

/**
 * `windows:` allow-list when releases may go live. Outside every window a release waits, and is
 * looked at again the moment the next one opens. An admin's forced release goes through (a person's
 * promotion outside a window is refused before it gets here, unless forced). An expedited
 * release (a hotfix) goes through where the policy says `expedite: allow`.
 */
export const windowGate: Gate = (candidate, policy, _facts, now) => {
  if (policy.windows.length === 0 || candidate.forced || (candidate.expedited === true && policy.expedite === 'allow')) return PASS;
  const parsed = parseWindows(policy.windows);
  if (!parsed.ok) {
    // Policies are checked where they enter; a window stored unreadable must not open the gate.
    return { status: 'fail', reason: { gate: 'window', code: GateCode.WINDOW_INVALID, message: `deploy window ${parsed.error}`, details: { windows: policy.windows } } };
  }
  if (openWindow(parsed.windows, now)) return PASS;
  const next = nextOpening(parsed.windows, now);
  const list = parsed.windows.map((w) => w.text).join(', ');
  const opens = next ? `: next opens ${formatInZone(next.at, next.window.zone)}` : '';
  return {
    status: 'wait',
    reason: {
      gate: 'window',
      code: GateCode.OUTSIDE_WINDOW,
      message: `outside the deploy windows (${list})${opens}`,
      details: { windows: parsed.windows.map((w) => w.text), opensAt: next?.at.toISOString() ?? null, window: next?.window.text ?? null },
    },
    ...(next ? { recheckAt: next.at.toISOString() } : {}),
  };
};
