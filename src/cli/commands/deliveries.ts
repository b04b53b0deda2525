import type { Delivery } from '../../protocol/api.ts';
import { connect, parsePositiveInt, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface DeliveriesOptions {
  project?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

/** A project's webhook deliveries, newest first: what arrived, and what became of each (like a git host's "Recent Deliveries"). */
export const deliveries: Command<DeliveriesOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const limit = parsePositiveInt('--limit', options.limit);
  const client = await connect(ctx);
  const result = await client.listDeliveries(project, limit === undefined ? {} : { limit });
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.deliveries.length === 0) {
    ctx.out.line(`No webhook deliveries for ${project} yet (docs/webhooks.md shows how to connect a git host).`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['RECEIVED', 'PROVIDER', 'DELIVERY', 'STATE', 'REFS', 'RESULT'],
    result.deliveries.map((d) => [formatTime(d.receivedAt), d.provider, d.id, d.state, refsOf(d), resultOf(d)]),
  );
  return ExitCode.OK;
};

function refsOf(delivery: Delivery): string {
  return delivery.refs.map((r) => `${r.ref.replace(/^refs\/(heads|tags)\//, '')}@${r.after.slice(0, 8)}`).join(' ') || '-';
}

function resultOf(delivery: Delivery): string {
  if (delivery.state === 'failed' || delivery.state === 'stale') return delivery.error?.split('\n')[0] ?? delivery.state;
  if (delivery.state === 'pending') return 'waiting in the queue';
  return delivery.builds.length === 0 ? 'no build' : delivery.builds.join(' ');
}
