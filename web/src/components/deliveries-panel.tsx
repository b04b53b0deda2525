import type { Delivery } from '../../../src/protocol/api.ts';
import { buildHref } from '../route.ts';
import { TimeAgo } from './time-ago.tsx';

const ZERO = '0'.repeat(40);

/** The look of a delivery's state: pending waits like a queued build, done and failed end like builds do, stale moved nothing. */
const STATE_CLASS: Record<Delivery['state'], string> = { pending: 'build-queued', done: 'build-succeeded', failed: 'build-failed', stale: 'build-canceled' };

/** `main → 1a2b3c4`, `tag v1 → …`, `main deleted`. */
function refText(update: Delivery['refs'][number]): string {
  const name = update.ref.replace(/^refs\/heads\//, '').replace(/^refs\/tags\//, 'tag ');
  return update.after === ZERO ? `${name} deleted` : `${name} → ${update.after.slice(0, 7)}`;
}

/**
 * Webhook deliveries from the git host, newest first, like a git host's "Recent deliveries":
 * whether each push was recorded, the builds it queued, or why it failed.
 */
export function DeliveriesPanel({ project, deliveries, repo }: { project: string; deliveries: Delivery[]; repo: string | null }) {
  if (deliveries.length === 0) {
    return (
      <p className="empty muted">
        {repo
          ? `No webhook deliveries yet. Point a push webhook of ${repo} at /hooks/github or /hooks/gitlab with the project's secret.`
          : 'No webhook deliveries. Pushes to Slipway’s own git need none.'}
      </p>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table deliveries" aria-label="Webhook deliveries">
        <thead>
          <tr>
            <th>Received</th>
            <th>From</th>
            <th>Delivery</th>
            <th>State</th>
            <th>Refs</th>
            <th>Builds</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((delivery) => (
            <tr key={delivery.seq} data-delivery={delivery.id} data-state={delivery.state}>
              <td className="nowrap">
                <TimeAgo iso={delivery.receivedAt} />
              </td>
              <td>{delivery.provider}</td>
              <td className="mono" title={delivery.id}>
                {delivery.id.length > 18 ? `${delivery.id.slice(0, 18)}…` : delivery.id}
              </td>
              <td>
                <span className={`build-state ${STATE_CLASS[delivery.state]}`}>{delivery.state}</span>
                {delivery.error && <div className="danger-text small">{delivery.error}</div>}
              </td>
              <td className="mono">{delivery.refs.map(refText).join(', ') || <span className="muted">—</span>}</td>
              <td className="mono">
                {delivery.builds.length === 0 ? (
                  <span className="muted">—</span>
                ) : (
                  delivery.builds.map((id) => (
                    <a key={id} href={buildHref(project, id)} className="delivery-build">
                      {id}
                    </a>
                  ))
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
