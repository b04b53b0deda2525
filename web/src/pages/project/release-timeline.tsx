import type { Event } from '../../../../src/protocol/api.ts';
import { formatAbsolute, formatClock } from '../../format.ts';
import { releaseHref } from '../../route.ts';

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown, key: string): string | undefined {
  const found = field(value, key);
  return typeof found === 'string' ? found : undefined;
}

const RELEASE_WORDS: Record<string, string> = {
  'release.promote': 'promoted it',
  'release.rollback': 'rolled back to it',
  'release.config': 'made it with new config vars',
  'release.pending': 'queued it',
  'release.waiting': 'held it: it waits',
  'release.rolling_out': 'started rolling it out',
  'release.live': 'made it live',
  'release.failed': 'failed it',
  'release.canceled': 'canceled it',
  'release.rolled_back': 'rolled it back',
  'release.superseded': 'superseded it',
  'release.approve': 'approved it',
  'release.reject': 'rejected it',
  'lock.break_glass': 'broke the lock for it',
};

const ROLLOUT_WORDS: Record<string, string> = {
  preparing: 'rollout: preparing the instances',
  release_phase: 'rollout: running the release phase',
  switching: 'rollout: switching instances',
  rolling_back: 'rollout: rolling back',
  done: 'rollout: done',
  failed: 'rollout: failed',
  rolled_back: 'rollout: rolled back',
};

/** What an event did to the release, in a few words; the action code is the fallback. */
function eventWords(event: Event, release: string, project: string) {
  if (event.action === 'release.superseded' && event.target !== release && event.target !== null) {
    const other = text(event.after, 'release');
    return (
      <>
        superseded <a href={releaseHref(project, event.target)}>{other ?? event.target}</a> with it
      </>
    );
  }
  if (event.action === 'release.sign_for') return <>signed for {text(event.after, 'forEmail') ?? 'an author'}</>;
  if (event.action.startsWith('rollout.')) return <>{ROLLOUT_WORDS[event.action.slice('rollout.'.length)] ?? event.action}</>;
  const words = RELEASE_WORDS[event.action];
  const forced = field(event.after, 'forced') === true ? ' (forced past its gates)' : '';
  return words ? (
    <>
      {words}
      {forced}
    </>
  ) : (
    <code>{event.action}</code>
  );
}

/** What happened to one release, newest first: who did what, when, and why. */
export function ReleaseTimeline({ events, release, project }: { events: Event[]; release: string; project: string }) {
  if (events.length === 0) return <p className="muted">Nothing recorded yet.</p>;
  return (
    <ol className="timeline" aria-label="What happened to this release">
      {events.map((event) => (
        <li key={event.id} className="timeline-event" data-action={event.action}>
          <time className="timeline-at muted small" dateTime={event.at} title={formatAbsolute(event.at)}>
            {formatClock(event.at)}
          </time>
          <div className="timeline-what">
            <span className="strong">{event.actor}</span> {eventWords(event, release, project)}
            {event.reason && <div className="timeline-reason muted small">{event.reason}</div>}
          </div>
        </li>
      ))}
    </ol>
  );
}
