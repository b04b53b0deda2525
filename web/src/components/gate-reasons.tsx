import type { ReactNode } from 'react';
import { GateCode, type GateKind } from '../../../src/core/gates/types.ts';
import type { GateReason, Release } from '../../../src/protocol/api.ts';
import { formatAbsolute, formatClock, formatRelative, shortCommit } from '../format.ts';
import { CheckLink } from './check-link.tsx';

const GATE_LABEL: Record<GateKind, string> = {
  lock: 'Lock',
  freeze: 'Freeze',
  window: 'Deploy window',
  pin: 'Pin',
  lineage: 'Lineage',
  soak: 'Soak',
  checks: 'Checks',
  max_commits: 'Batch size',
  requires: 'Requires',
  approvals: 'Approvals',
  queue: 'Queue',
};

function gateLabel(gate: string): string {
  return gate in GATE_LABEL ? GATE_LABEL[gate as GateKind] : gate;
}

/**
 * What holds a release, one line per gate, and when Slipway looks at it again: the words come
 * from each reason's code and details (the message is the fallback, as the CLI prints it).
 */
export function GateReasons({ release }: { release: Release }) {
  const gates = release.gates;
  if (gates === null) {
    return <p className="gate-note muted">{release.state === 'pending' ? 'Not looked at yet.' : (release.stateReason ?? '')}</p>;
  }
  if (gates.outcome === 'pass') return <p className="gate-note muted">Every gate passed.</p>;
  const reasons = gates.outcome === 'wait' ? gates.reasons : [gates.reason];
  return (
    <div className="gate-reasons">
      <ul aria-label={gates.outcome === 'wait' ? `What v${release.number} waits for` : `Why v${release.number} failed`}>
        {reasons.map((reason) => (
          <li key={`${reason.gate}:${reason.code}`} data-gate={reason.gate} data-code={reason.code} className={gates.outcome === 'fail' ? 'is-fail' : 'is-wait'}>
            <span className="gate-label">{gateLabel(reason.gate)}</span>
            <span className="gate-text">{describeReason(reason)}</span>
          </li>
        ))}
      </ul>
      {gates.outcome === 'wait' && <Recheck at={gates.recheckAt ?? release.recheckAt} />}
    </div>
  );
}

function Recheck({ at }: { at: string | null | undefined }) {
  if (!at) return <p className="recheck muted small">Looked at again as soon as what it waits for changes.</p>;
  return (
    <p className="recheck muted small">
      Looked at again at{' '}
      <time dateTime={at} title={formatAbsolute(at)}>
        {formatClock(at)}
      </time>{' '}
      ({formatRelative(at)}), or sooner if what it waits for changes.
    </p>
  );
}

/** A reason as a sentence for a person; unknown codes or details fall back to the server's message. */
function describeReason(reason: GateReason): ReactNode {
  const details = reason.details ?? {};
  switch (reason.code) {
    case GateCode.CHECKS_PENDING: {
      const waiting = listOf(details.waiting, (v) => (typeof v.name === 'string' && typeof v.state === 'string' ? { name: v.name, state: v.state } : undefined));
      if (waiting === undefined || waiting.length === 0) break;
      return (
        <>
          Waiting for {waiting.length === 1 ? 'check' : 'checks'}{' '}
          {join(
            waiting.map((check) => (
              <span key={check.name}>
                <code>{check.name}</code> ({check.state === 'missing' ? 'not reported yet' : check.state})
              </span>
            )),
          )}{' '}
          to pass.
        </>
      );
    }
    case GateCode.CHECK_FAILED: {
      const failed = listOf(details.failed, (v) =>
        typeof v.name === 'string' ? { name: v.name, url: typeof v.url === 'string' ? v.url : null } : undefined,
      );
      if (failed === undefined || failed.length === 0) break;
      return (
        <>
          {failed.length === 1 ? 'Check' : 'Checks'}{' '}
          {join(failed.map((check) => <CheckLink key={check.name} name={check.name} url={check.url} />))} failed, so it will not go live.
        </>
      );
    }
    case GateCode.ENVIRONMENT_LOCKED: {
      if (typeof details.lockedBy !== 'string') break;
      const why = typeof details.reason === 'string' && details.reason ? <> — “{details.reason}”</> : null;
      const until = typeof details.until === 'string' ? <> until {formatClock(details.until)}</> : ' until someone unlocks it';
      return (
        <>
          Locked by {details.lockedBy}
          {why}
          {until}.
        </>
      );
    }
    case GateCode.ENVIRONMENT_PINNED:
      if (typeof details.pinnedBy !== 'string') break;
      return <>Pinned by {details.pinnedBy}: automation waits until someone promotes a release here.</>;
    case GateCode.LINEAGE_VIOLATION: {
      if (typeof details.upstream !== 'string') break;
      const what = typeof details.commit === 'string' ? <code>{shortCommit(details.commit)}</code> : 'this deployment';
      if (details.lineage === 'rolled_back') return <>Rolled back in {details.upstream}: it may not go further.</>;
      return (
        <>
          {details.upstream} has not run {what} yet.
        </>
      );
    }
    case GateCode.APPROVALS_PENDING:
      // Who still has to approve is listed by the approval panel below.
      return <>Waiting for approval.</>;
    case GateCode.QUEUED:
      if (typeof details.behind !== 'number') break;
      return <>Queued behind v{details.behind}: releases enter one at a time, oldest first.</>;
    default:
      break;
  }
  return sentence(reason.message);
}

function listOf<T>(value: unknown, item: (v: Record<string, unknown>) => T | undefined): T[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: T[] = [];
  for (const entry of value) {
    const parsed = typeof entry === 'object' && entry !== null ? item(entry as Record<string, unknown>) : undefined;
    if (parsed === undefined) return undefined;
    out.push(parsed);
  }
  return out;
}

/** "a", "a and b", "a, b and c". */
function join(parts: ReactNode[]): ReactNode {
  return parts.map((part, i) => (
    <span key={i}>
      {i > 0 && (i === parts.length - 1 ? ' and ' : ', ')}
      {part}
    </span>
  ));
}

function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
