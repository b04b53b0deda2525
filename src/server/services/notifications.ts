import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Clock } from '../../core/clock.ts';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import type { ReleaseState } from '../../core/glossary.ts';
import {
  DEFAULT_NOTIFY_EVENTS,
  jsonNotification,
  NOTIFY_FORMATS,
  parseNotifyEvents,
  slackNotification,
  TEST_EVENT,
  testNotification,
  type NotifiedCommit,
  type NotifiedState,
  type NotifyFormat,
  type ReleaseNotice,
} from '../../core/notifications.ts';
import { notifyUrlOrigin, parseNotifyUrl, resolveNotifyHost, type NotifyUrlPolicy } from '../../core/notify-url.ts';
import type { Actor } from '../../core/release-planner.ts';
import { redactUrl, type LookupAll } from '../../core/repo-url.ts';
import { controlUrl, deploymentUrl, environmentUrl, type UrlConfig } from '../../core/urls.ts';
import type { EnvironmentRow, NotifyDeliveryRow, NotifyTargetRow, ProjectRow, ReleaseRow, Store } from '../../store/store.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { postPinned, type PostAnswer } from '../notify/post.ts';
import { signHex } from '../webhooks/signatures.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { getProject } from './projects.ts';

/**
 * Outgoing notifications: a project admin names a URL (a target) and the release events it
 * wants; every release state change of the project queues, in the transaction of the change,
 * one delivery per target that wants it and a `notification.send` job that sends it — so a
 * change that committed is never left unannounced, and one that rolled back announces nothing.
 *
 * Who may do what: adding and removing targets needs the admin role on the project (a target
 * carries project data off the server, and its secret is shown once); listing targets and
 * deliveries needs deployer, and only an admin sees a target's whole URL (webhook URLs often
 * carry a token). `allowPrivate` (a URL on loopback or the private network) is for an admin of
 * the whole server to give, on the target it is given for.
 *
 * A send is signed like the webhooks Slipway accepts (`X-Slipway-Signature: sha256=<hex>`,
 * HMAC-SHA256 of the raw body with the target's secret; `X-Slipway-Delivery`, the delivery id;
 * `X-Slipway-Event`). Its URL is checked again before every attempt and the connection goes to
 * the address that was checked.
 */

/** Targets a project may have: each state change writes a delivery per target, in its transaction. */
export const MAX_TARGETS_PER_PROJECT = 20;
/** How long a send waits for the target's host to resolve; adding one, too. */
const LOOKUP_TIMEOUT_MS = 3000;
/** Deliveries listed at most. */
export const MAX_DELIVERIES_LISTED = 200;
/** Characters of an error kept on a delivery. */
const ERROR_CHARS = 500;

/** The system resolver, every address, with a timeout. */
export const systemLookup: LookupAll = (hostname) => {
  const timeout = AbortSignal.timeout(LOOKUP_TIMEOUT_MS);
  return Promise.race([
    dnsLookup(hostname, { all: true, verbatim: true }),
    new Promise<never>((_resolve, reject) => timeout.addEventListener('abort', () => reject(new Error(`${hostname} did not resolve within ${LOOKUP_TIMEOUT_MS} ms`)), { once: true })),
  ]);
};

export interface NotifyTargetInput {
  url: string;
  /** Absent: DEFAULT_NOTIFY_EVENTS. */
  events?: string[] | undefined;
  format?: NotifyFormat | undefined;
  allowPrivate?: boolean | undefined;
}

/** A new target and its secret, which is shown this once. */
export async function createNotifyTarget(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  input: NotifyTargetInput,
  lookup: LookupAll = systemLookup,
): Promise<{ target: NotifyTargetRow; secret: string }> {
  requireRole(actor, 'admin');
  const project = await getProject(deps, projectName);
  const events = input.events === undefined ? [...DEFAULT_NOTIFY_EVENTS] : parseNotifyEvents(input.events);
  const format = input.format ?? 'json';
  if (!(NOTIFY_FORMATS as readonly string[]).includes(format)) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, `format is one of ${NOTIFY_FORMATS.join(', ')}`, { format });
  }
  const policy: NotifyUrlPolicy = { allowPrivate: input.allowPrivate === true };
  if (policy.allowPrivate && !(await isServerAdmin(deps, actor))) {
    throw new SlipwayError(ErrorCode.FORBIDDEN, "allowing a private address reaches the server's own network: only an admin of the whole server may (not one of a project)", {
      required: 'admin',
    });
  }
  const parsed = parseNotifyUrl(input.url, policy);
  if (!parsed.literal && !policy.allowPrivate) {
    try {
      await resolveNotifyHost(parsed, policy, lookup);
    } catch (err) {
      // A name that does not resolve now is taken: every send resolves and checks it again.
      if (isSlipwayError(err)) throw err;
    }
  }
  const now = deps.clock.now();
  const secret = randomBytes(32).toString('base64url');
  const target: NotifyTargetRow = {
    id: newId('ntf'),
    projectId: project.id,
    url: parsed.url,
    urlOrigin: notifyUrlOrigin(parsed.url),
    format,
    events,
    allowPrivate: policy.allowPrivate,
    createdAt: now.toISOString(),
    createdBy: actor.name,
    removedAt: null,
    removedBy: null,
  };
  await deps.store.transaction(async (tx) => {
    // Under the project's pipeline lock, so two adds at once cannot both take the last place.
    await tx.lockPipeline(project.id);
    if ((await tx.listNotifyTargetEvents(project.id)).length >= MAX_TARGETS_PER_PROJECT) {
      throw new SlipwayError(ErrorCode.INVALID_REQUEST, `${project.name} has ${MAX_TARGETS_PER_PROJECT} notification targets already, the most a project may have; remove one first`, {
        limit: MAX_TARGETS_PER_PROJECT,
      });
    }
    await tx.insertNotifyTarget({ ...target, secret });
    await recordEvent(tx, now, actor, 'notify.add', {
      projectId: project.id,
      target: target.id,
      after: { url: target.urlOrigin, format, events, allowPrivate: target.allowPrivate },
    });
  });
  return { target, secret };
}

/**
 * An admin of the whole server, not only of this project: a service token with the admin role
 * and no project scope, or a person whose own (global) role is admin. A project admin by
 * membership or a project-scoped token is not: the private network is not theirs to reach.
 */
async function isServerAdmin(deps: ServiceDeps, actor: Actor): Promise<boolean> {
  if (actor.projectScope !== undefined) return false;
  if (actor.userId !== undefined) return (await deps.store.findUserById(actor.userId))?.role === 'admin';
  return actor.role === 'admin';
}

/** A target as the caller may see it: the whole URL for an admin, its origin for anyone else. */
export function shownTarget(actor: Actor, target: NotifyTargetRow): NotifyTargetRow {
  return actor.role === 'admin' ? target : { ...target, url: target.urlOrigin };
}

export async function listNotifyTargets(deps: ServiceDeps, actor: Actor, projectName: string): Promise<NotifyTargetRow[]> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  return (await deps.store.listNotifyTargets(project.id)).map((t) => shownTarget(actor, t));
}

async function getTarget(store: Store, project: ProjectRow, id: string): Promise<NotifyTargetRow> {
  const target = await store.findNotifyTarget(id);
  if (!target || target.projectId !== project.id || target.removedAt !== null) {
    throw new SlipwayError(ErrorCode.NOTIFY_TARGET_NOT_FOUND, `no notification target ${id} in ${project.name}`, { target: id });
  }
  return target;
}

/** Removes a target; what it had pending is canceled, what it sent stays listed. */
export async function removeNotifyTarget(deps: ServiceDeps, actor: Actor, projectName: string, id: string): Promise<NotifyTargetRow> {
  requireRole(actor, 'admin');
  const project = await getProject(deps, projectName);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const target = await getTarget(tx, project, id);
    if (!(await tx.removeNotifyTarget(target.id, actor.name, now.toISOString()))) {
      throw new SlipwayError(ErrorCode.NOTIFY_TARGET_NOT_FOUND, `notification target ${id} was removed meanwhile`, { target: id });
    }
    const canceled = await tx.cancelNotifyDeliveries(target.id, now.toISOString());
    await recordEvent(tx, now, actor, 'notify.remove', {
      projectId: project.id,
      target: target.id,
      before: { url: target.urlOrigin, format: target.format, events: target.events },
      after: { canceledDeliveries: canceled },
    });
    return { ...shownTarget(actor, target), removedAt: now.toISOString(), removedBy: actor.name };
  });
}

export async function listNotifyDeliveries(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  options: { target?: string | undefined; limit?: number | undefined },
): Promise<NotifyDeliveryRow[]> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  if (options.target !== undefined) {
    const target = await deps.store.findNotifyTarget(options.target);
    // A removed target's deliveries stay listed.
    if (!target || target.projectId !== project.id) throw new SlipwayError(ErrorCode.NOTIFY_TARGET_NOT_FOUND, `no notification target ${options.target} in ${project.name}`, { target: options.target });
  }
  const limit = Math.min(Math.max(1, options.limit ?? 50), MAX_DELIVERIES_LISTED);
  return deps.store.listNotifyDeliveries(project.id, { targetId: options.target, limit });
}

/**
 * Queues a test notification to a target (admin, like adding one): the same signing, checks and
 * retries as any delivery, with a body that says it is a test. Audited as `notify.test`.
 */
export async function testNotifyTarget(deps: ServiceDeps, actor: Actor, projectName: string, id: string): Promise<NotifyDeliveryRow> {
  requireRole(actor, 'admin');
  const project = await getProject(deps, projectName);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const target = await getTarget(tx, project, id);
    const deliveryId = newId('ndl');
    const body = JSON.stringify(testNotification(target.format, deliveryId, project.name, actor.name, now.toISOString(), dashboardUrl(deps.urls, project)));
    await tx.insertNotifyDelivery({ id: deliveryId, targetId: target.id, projectId: project.id, event: TEST_EVENT, releaseId: null, body, createdAt: now.toISOString() });
    await enqueueJob(tx, deps.clock, 'notification.send', { deliveryId }, { key: notificationJobKey(deliveryId) });
    await recordEvent(tx, now, actor, 'notify.test', { projectId: project.id, target: target.id, after: { delivery: deliveryId } });
    const row = await tx.findNotifyDelivery(deliveryId);
    if (!row) throw new Error(`delivery ${deliveryId} was not written`);
    return row;
  });
}

function dashboardUrl(urls: UrlConfig, project: ProjectRow): string {
  return `${controlUrl(urls)}/#/projects/${encodeURIComponent(project.name)}`;
}

/** Deliveries are listed this long after they ended, then forgotten (the audit log keeps the release's moves). */
export const ENDED_DELIVERIES_KEPT_MS = 30 * 24 * 60 * 60_000;

/** Part of `jobs.cleanup`: deletes deliveries that ended more than ENDED_DELIVERIES_KEPT_MS ago. */
export async function forgetOldNotifyDeliveries(deps: ServiceDeps): Promise<number> {
  return deps.store.deleteEndedNotifyDeliveries(new Date(deps.clock.now().getTime() - ENDED_DELIVERIES_KEPT_MS).toISOString());
}

// ---------------------------------------------------------------------------------------------
// queueing, in the transaction of a release's state change

/** One `notification.send` job per delivery: its key keeps a delivery from being sent twice at once. */
export function notificationJobKey(deliveryId: string): string {
  return `notification.send:${deliveryId}`;
}

/**
 * A release moved from `from` to `release.state`: every target of the project that wants
 * `release.<state>` gets a delivery and a job. Call it with the transaction's store of the
 * change. The body is built now, once: retries send the same bytes.
 */
export async function queueReleaseNotifications(
  store: Store,
  clock: Clock,
  urls: UrlConfig,
  project: ProjectRow,
  env: EnvironmentRow,
  release: ReleaseRow,
  from: ReleaseState,
): Promise<void> {
  if (release.state === 'pending') return;
  const event = `release.${release.state}` as const;
  const targets = (await store.listNotifyTargetEvents(project.id)).filter((t) => t.events.includes(event));
  if (targets.length === 0) return;
  const now = clock.now().toISOString();
  const notice = await releaseNotice(store, urls, project, env, { ...release, state: release.state }, from, now);
  let slack: string | undefined;
  for (const target of targets) {
    const id = newId('ndl');
    const body = target.format === 'slack' ? (slack ??= JSON.stringify(slackNotification(notice))) : JSON.stringify(jsonNotification(id, notice));
    await store.insertNotifyDelivery({ id, targetId: target.id, projectId: project.id, event, releaseId: release.id, body, createdAt: now });
    await enqueueJob(store, clock, 'notification.send', { deliveryId: id }, { key: notificationJobKey(id) });
  }
}

async function releaseNotice(
  store: Store,
  urls: UrlConfig,
  project: ProjectRow,
  env: EnvironmentRow,
  release: ReleaseRow & { state: NotifiedState },
  from: ReleaseState,
  at: string,
): Promise<ReleaseNotice> {
  const shas = release.batch?.commits ?? [];
  const known = new Map((shas.length === 0 ? [] : await store.findCommits(project.id, shas)).map((c) => [c.sha, c]));
  const commits: NotifiedCommit[] = shas.map((sha) => {
    const commit = known.get(sha);
    return { sha, message: commit?.message ?? null, authorName: commit?.authorName ?? null, authorEmail: commit?.authorEmail ?? null };
  });
  return {
    event: `release.${release.state}`,
    at,
    project: project.name,
    environment: env.name,
    release: {
      id: release.id,
      number: release.number,
      kind: release.kind,
      state: release.state,
      previousState: from,
      // What held it or ended it; a release that went on has nothing left to explain.
      stateReason: release.state === 'live' || release.state === 'rolling_out' ? null : release.stateReason,
      reason: release.reason,
      createdBy: release.createdBy,
      trigger: release.trigger,
      deploymentId: release.deploymentId,
      commit: release.commitSha,
      branch: release.branch,
    },
    batch: { commits, truncated: release.batch?.truncated ?? false },
    urls: {
      deployment: deploymentUrl(urls, project.name, release.deploymentId),
      environment: environmentUrl(urls, project.name, env.name),
      dashboard: dashboardUrl(urls, project),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// sending: the `notification.send` job

export interface SendContext {
  /** The queue's attempt number of this run (1 for the first). */
  attempt: number;
  /** No attempt follows this one if it fails. */
  lastAttempt: boolean;
  /** When a failed attempt is tried again (the queue's backoff), for the delivery to show. */
  retryAt: string | null;
  /** Aborted when the job's lease is lost. */
  signal?: AbortSignal | undefined;
  /** The whole exchange's limit; default POST_TIMEOUT_MS. */
  timeoutMs?: number | undefined;
}

/** Thrown to make the queue try again later; the delivery already says why. */
export class NotificationAttemptFailed extends Error {}

/**
 * Sends one delivery. The target's URL is parsed and resolved again and every address
 * checked, then the body is POSTed, signed, to a checked address. A 2xx answer: delivered.
 * Anything else (an error status, a redirect, a timeout, a refused connection) is recorded on
 * the delivery and thrown, so the job queue tries again after its backoff; after the last
 * attempt the delivery is failed. A URL refused now (its name resolves to a private address)
 * fails the delivery at once: no later attempt could be sent. A removed target's delivery was
 * canceled already; a delivered one is not sent again.
 */
export async function sendNotification(deps: ServiceDeps, deliveryId: string, ctx: SendContext, lookup: LookupAll = systemLookup): Promise<NotifyDeliveryRow | undefined> {
  const delivery = await deps.store.findNotifyDelivery(deliveryId);
  if (!delivery || delivery.state === 'delivered' || delivery.state === 'canceled') return delivery;
  const target = await deps.store.findNotifyTarget(delivery.targetId);
  const secret = await deps.store.findNotifyTargetSecret(delivery.targetId);
  const attempt = Math.max(ctx.attempt, delivery.attempts + 1);
  const record = async (fields: { ok: boolean; final: boolean; status: number | null; error: string | null; excerpt: string | null }) => {
    const now = deps.clock.now().toISOString();
    const ended = fields.ok || fields.final || ctx.lastAttempt;
    const row = {
      state: fields.ok ? 'delivered' : ended ? 'failed' : 'pending',
      attempts: attempt,
      statusCode: fields.status,
      error: fields.error === null ? null : redactUrl(fields.error).slice(0, ERROR_CHARS),
      responseExcerpt: fields.excerpt,
      lastAttemptAt: now,
      nextAttemptAt: ended ? null : ctx.retryAt,
      endedAt: ended ? now : null,
    } as const;
    await deps.store.recordNotifyAttempt(delivery.id, row);
    return { ...delivery, ...row };
  };
  if (!target || target.removedAt !== null || secret === undefined) {
    await deps.store.cancelNotifyDeliveries(delivery.targetId, deps.clock.now().toISOString());
    return deps.store.findNotifyDelivery(delivery.id);
  }
  const policy: NotifyUrlPolicy = { allowPrivate: target.allowPrivate };
  let addresses: string[];
  let parsed;
  try {
    parsed = parseNotifyUrl(target.url, policy);
    addresses = await resolveNotifyHost(parsed, policy, lookup);
  } catch (err) {
    const refused = isSlipwayError(err, ErrorCode.URL_FORBIDDEN);
    const message = isSlipwayError(err) ? `${err.code}: ${err.message}` : `cannot resolve the target's host: ${err instanceof Error ? err.message : String(err)}`;
    const row = await record({ ok: false, final: refused, status: null, error: message, excerpt: null });
    if (refused || ctx.lastAttempt) return row;
    throw new NotificationAttemptFailed(message);
  }
  const body = Buffer.from(delivery.body, 'utf8');
  const headers = {
    'x-slipway-signature': signHex(secret, body),
    'x-slipway-delivery': delivery.id,
    'x-slipway-event': delivery.event,
  };
  let answer: PostAnswer;
  try {
    answer = await postPinned(parsed, addresses[0] ?? parsed.hostname, body, headers, { signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  } catch (err) {
    const message = `no answer from ${target.urlOrigin}: ${err instanceof Error ? err.message : String(err)}`;
    const row = await record({ ok: false, final: false, status: null, error: message, excerpt: null });
    if (ctx.lastAttempt) return row;
    throw new NotificationAttemptFailed(message);
  }
  const ok = answer.status >= 200 && answer.status < 300;
  const error = ok ? null : answer.status >= 300 && answer.status < 400 ? `answered ${answer.status}, a redirect, which is not followed` : `answered ${answer.status}`;
  const row = await record({ ok, final: false, status: answer.status, error, excerpt: answer.excerpt === '' ? null : answer.excerpt });
  if (ok || ctx.lastAttempt) return row;
  throw new NotificationAttemptFailed(`${target.urlOrigin} ${error ?? ''}`);
}
