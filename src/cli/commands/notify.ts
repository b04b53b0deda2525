import { setTimeout as sleep } from 'node:timers/promises';
import type { NotifyFormat } from '../../core/notifications.ts';
import type { CreateNotifyTargetRequest, NotifyDelivery, NotifyDeliveryQuery, NotifyTarget } from '../../protocol/notifications.ts';
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

export interface NotifyTestOptions {
  project?: string | undefined;
  id: string;
  /** Seconds to wait for the first attempt; 0: do not wait. */
  wait?: string | undefined;
  json?: boolean | undefined;
}

const TEST_POLL_MS = 250;

/**
 * `slipway notify test ntf-…`: queues a test notification and waits (15 s by default) for its
 * first attempt. Exit 0 when the target accepted it, 7 when it did not (the delivery says why
 * and is retried like any other), 0 when the wait ran out with the attempt still to come.
 */
export const notifyTest: Command<NotifyTestOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const waitSeconds = options.wait === '0' ? 0 : (parsePositiveInt('--wait', options.wait) ?? 15);
  const client = await connect(ctx);
  let delivery: NotifyDelivery = await client.testNotifyTarget(project, options.id);
  const until = Date.now() + waitSeconds * 1000;
  while (delivery.state === 'pending' && delivery.attempts === 0 && Date.now() < until) {
    await sleep(TEST_POLL_MS);
    const { deliveries } = await client.listNotifyDeliveries(project, { target: options.id, limit: 20 });
    delivery = deliveries.find((d) => d.id === delivery.id) ?? delivery;
  }
  if (options.json) ctx.out.json(delivery);
  if (delivery.state === 'delivered') {
    if (!options.json) ctx.out.line(`Delivered test notification ${delivery.id} to ${options.id}: answered ${delivery.statusCode ?? '?'}.`);
    return ExitCode.OK;
  }
  if (delivery.attempts === 0) {
    if (!options.json) ctx.out.line(`Queued test notification ${delivery.id} to ${options.id}; see \`slipway notify deliveries --target ${options.id}\`.`);
    return ExitCode.OK;
  }
  if (!options.json) {
    ctx.out.line(`Test notification ${delivery.id} to ${options.id} was not accepted: ${delivery.error ?? delivery.state}.`);
    if (delivery.state === 'pending' && delivery.nextAttemptAt) ctx.out.line(`It is tried again at ${formatTime(delivery.nextAttemptAt)}.`);
  }
  return ExitCode.UNREACHABLE;
};

function oneLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
