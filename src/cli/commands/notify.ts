import type { NotifyFormat } from '../../core/notifications.ts';
import type { CreateNotifyTargetRequest, NotifyDeliveryQuery, NotifyTarget } from '../../protocol/notifications.ts';
import { connect, parsePositiveInt, requireProject, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface NotifyAddOptions {
  project?: string | undefined;
  url?: string | undefined;
  /** Comma-separated: `release.live,release.failed` or `live,failed`. */
  events?: string | undefined;
  /** One of NOTIFY_FORMATS (the option's choices). */
  format?: NotifyFormat | undefined;
  allowPrivate?: boolean | undefined;
  json?: boolean | undefined;
}

function eventsOf(target: Pick<NotifyTarget, 'events'>): string {
  return target.events.map((e) => e.replace(/^release\./, '')).join(',');
}

/** `slipway notify add --url https://… [--events live,failed] [--format slack]`: prints the signing secret once. */
export const notifyAdd: Command<NotifyAddOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  if (!options.url?.trim()) throw usage('notify add needs --url <https://…>');
  const body: CreateNotifyTargetRequest = { url: options.url };
  if (options.events !== undefined) body.events = options.events.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (options.format !== undefined) body.format = options.format;
  if (options.allowPrivate) body.allowPrivate = true;
  const client = await connect(ctx);
  const created = await client.addNotifyTarget(project, body);
  if (options.json) {
    ctx.out.json(created);
    return ExitCode.OK;
  }
  ctx.out.line(`Added notification target ${created.id}: ${created.format} to ${created.url} on ${eventsOf(created)}.`);
  ctx.out.line(`Signing secret (shown once; every POST carries X-Slipway-Signature: sha256=HMAC-SHA256(secret, body)):`);
  ctx.out.line(`  ${created.secret}`);
  return ExitCode.OK;
};

export interface NotifyListOptions {
  project?: string | undefined;
  json?: boolean | undefined;
}

export const notifyList: Command<NotifyListOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const list = await client.listNotifyTargets(project);
  if (options.json) {
    ctx.out.json(list);
    return ExitCode.OK;
  }
  if (list.targets.length === 0) {
    ctx.out.line(`No notification targets in ${project}.`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'FORMAT', 'URL', 'EVENTS', 'BY', 'ADDED'],
    list.targets.map((t) => [t.id, t.format, `${t.url}${t.allowPrivate ? ' (private allowed)' : ''}`, eventsOf(t), t.createdBy, formatTime(t.createdAt)]),
  );
  return ExitCode.OK;
};

export interface NotifyRemoveOptions {
  project?: string | undefined;
  id: string;
  json?: boolean | undefined;
}

export const notifyRemove: Command<NotifyRemoveOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const removed = await client.removeNotifyTarget(project, options.id);
  if (options.json) ctx.out.json(removed);
  else ctx.out.line(`Removed notification target ${removed.id} (${removed.url}); its pending deliveries are canceled.`);
  return ExitCode.OK;
};

export interface NotifyDeliveriesOptions {
  project?: string | undefined;
  target?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

export const notifyDeliveries: Command<NotifyDeliveriesOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const query: NotifyDeliveryQuery = {};
  if (options.target !== undefined) query.target = options.target;
  const limit = parsePositiveInt('--limit', options.limit);
  if (limit !== undefined) query.limit = limit;
  const client = await connect(ctx);
  const list = await client.listNotifyDeliveries(project, query);
  if (options.json) {
    ctx.out.json(list);
    return ExitCode.OK;
  }
  if (list.deliveries.length === 0) {
    ctx.out.line(`No notification deliveries in ${project}.`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'TARGET', 'EVENT', 'STATE', 'ATTEMPTS', 'STATUS', 'LAST ATTEMPT', 'NEXT', 'ERROR'],
    list.deliveries.map((d) => [
      d.id,
      d.target,
      d.event,
      d.state,
      String(d.attempts),
      d.statusCode === null ? '-' : String(d.statusCode),
      d.lastAttemptAt === null ? '-' : formatTime(d.lastAttemptAt),
      d.nextAttemptAt === null ? '-' : formatTime(d.nextAttemptAt),
      oneLine(d.error ?? ''),
    ]),
  );
  return ExitCode.OK;
};

function oneLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
