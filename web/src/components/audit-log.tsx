import type { Event } from '../../../src/protocol/api.ts';
import { TimeAgo } from './time-ago.tsx';

function tone(action: string): string {
  if (action.startsWith('lock.break_glass')) return 'action-danger';
  if (action.endsWith('.rollback') || action.endsWith('.lock') || action.endsWith('.pin')) return 'action-warn';
  if (action.startsWith('release.')) return 'action-ok';
  return 'action-plain';
}

function field(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const found = (value as Record<string, unknown>)[key];
  return typeof found === 'string' ? found : undefined;
}

/** Release events target a release id; what a person wants is the move it made. */
function Target({ event }: { event: Event }) {
  const to = field(event.after, 'release');
  const deployment = field(event.after, 'deployment');
  if (event.action.startsWith('release.') && to && deployment) {
    const from = field(event.before, 'release');
    return (
      <span title={event.target ?? undefined}>
        {from ? `${from} → ` : ''}
        <strong>{to}</strong> · {deployment}
      </span>
    );
  }
  return event.target ? <>{event.target}</> : <span className="muted">—</span>;
}

export function AuditLog({ events }: { events: Event[] }) {
  if (events.length === 0) return <p className="empty muted">No events yet. Every change to this project is recorded here.</p>;
  return (
    <div className="table-wrap">
      <table className="table audit" aria-label="Audit log">
        <thead>
          <tr>
            <th>Time</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Environment</th>
            <th>Target</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id} data-action={event.action}>
              <td className="nowrap">
                <TimeAgo iso={event.at} />
              </td>
              <td>{event.actor}</td>
              <td>
                <code className={`action ${tone(event.action)}`}>{event.action}</code>
              </td>
              <td>{event.environment ?? <span className="muted">—</span>}</td>
              <td className="mono">
                <Target event={event} />
              </td>
              <td className="reason">{event.reason ?? <span className="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
