import { formatDuration } from '../../../src/core/duration.ts';
import type { Policy } from '../../../src/protocol/pipelines.ts';

/** Above this a batch limit is no limit a person would have set (undeclared environments have none). */
const NO_LIMIT = 10_000;

const MODE_HINT = {
  gate: 'waits until every required check of its commit passed; a failed one fails the release',
  parallel: 'goes live at once; a required check that fails later rolls it back and pins it',
} as const;

/** One line: where releases come from, whether they enter by themselves, which checks hold them, which projects go first. */
export function PolicySummary({ policy }: { policy: Policy }) {
  const parts: { key: string; text: string; title?: string }[] = [];
  if (policy.from) parts.push({ key: 'from', text: `from ${policy.from}`, title: `Takes only what was live in ${policy.from}` });
  parts.push(
    policy.auto
      ? { key: 'auto', text: 'auto', title: `Takes each release that passes its gates by itself${policy.maxCommits < NO_LIMIT ? `, up to ${policy.maxCommits} commits at a time` : ''}` }
      : { key: 'manual', text: 'manual', title: 'Moves only when someone promotes' },
  );
  if (policy.checks.length > 0) {
    parts.push({ key: 'checks', text: `checks ${policy.checks.join(', ')} (${policy.mode})`, title: `${policy.mode}: ${MODE_HINT[policy.mode]}` });
  } else {
    parts.push({ key: 'checks', text: 'no checks' });
  }
  if (policy.requires.length > 0) {
    parts.push({ key: 'requires', text: `requires ${policy.requires.join(', ')}`, title: `Waits until ${policy.requires.join(' and ')} run what was tested with it` });
  }
  if (policy.auto && policy.maxCommits !== 8 && policy.maxCommits < NO_LIMIT) parts.push({ key: 'max', text: `max ${policy.maxCommits} commits` });
  if (policy.soakMs > 0 && policy.from) {
    parts.push({ key: 'soak', text: `soak ${formatDuration(policy.soakMs)}`, title: `Takes only what was live in ${policy.from} this long without interruption` });
  }
  if (policy.windows.length > 0) {
    parts.push({ key: 'windows', text: `windows ${policy.windows.join(', ')}`, title: 'Releases go live only inside these deploy windows' });
    if (policy.expedite === 'allow') parts.push({ key: 'expedite', text: 'hotfixes any time', title: 'Hotfixes (expedited releases) go live outside the deploy windows' });
  }
  const { approvals } = policy;
  if (approvals.count > 0 || approvals.authors === 'all') {
    const text = [approvals.count > 0 ? `${approvals.count} (${approvals.roles.join(', ')})` : '', approvals.authors === 'all' ? 'all authors' : ''].filter(Boolean).join(' + ');
    parts.push({
      key: 'approvals',
      text: `approvals ${text}`,
      title: 'Waits until people approve: authors of its commits and who promoted it never count toward the number',
    });
  }
  return (
    <p className="policy-summary" data-policy>
      <span className="visually-hidden">Policy: </span>
      {parts.map((part, i) => (
        <span key={part.key} title={part.title}>
          {i > 0 && ' · '}
          {part.text}
        </span>
      ))}
    </p>
  );
}
