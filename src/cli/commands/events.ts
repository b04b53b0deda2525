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
      e.target ?? '-',
      e.reason ?? '',
    ]),
  );
  return ExitCode.OK;
};
