import type { Event } from '../../protocol/api.ts';
import { connect, parsePositiveInt } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface EventsOptions {
  project?: string | undefined;
  env?: string | undefined;
  limit?: string | undefined;
  before?: string | undefined;
  json?: boolean | undefined;
}

/** The audit log, newest first. `--project` is a filter here, so SLIPWAY_PROJECT does not apply. */
export const events: Command<EventsOptions> = async (options, ctx) => {
  const query: { project?: string; environment?: string; limit?: number; before?: number } = {};
  if (options.project !== undefined) query.project = options.project;
  if (options.env !== undefined) query.environment = options.env;
  const limit = parsePositiveInt('--limit', options.limit);
  if (limit !== undefined) query.limit = limit;
  const before = parsePositiveInt('--before', options.before);
  if (before !== undefined) query.before = before;
  const client = await connect(ctx);
  const result = await client.listEvents(query);
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.events.length === 0) {
    ctx.out.line('No events.');
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'AT', 'ACTOR', 'ACTION', 'WHERE', 'TARGET', 'REASON'],
    result.events.map((e) => [
      String(e.id),
      formatTime(e.at),
      e.actor,
      e.action,
      [e.project, e.environment].filter(Boolean).join('/') || '-',
      describeTarget(e),
      e.reason ?? '',
    ]),
  );
  return ExitCode.OK;
};

/** A release event targets a release id; what a person wants is the move it made: `v4 → v5 · dpl-…`, as the dashboard shows it. */
export function describeTarget(event: Event): string {
  const to = field(event.after, 'release');
  const deployment = field(event.after, 'deployment');
  if (event.action.startsWith('release.') && to !== undefined && deployment !== undefined) {
    const from = field(event.before, 'release');
    return `${from === undefined ? '' : `${from} → `}${to} · ${deployment}`;
  }
  return event.target ?? '-';
}

function field(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const found = (value as Record<string, unknown>)[key];
  return typeof found === 'string' ? found : undefined;
}
