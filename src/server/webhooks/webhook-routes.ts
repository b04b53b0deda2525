import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { ProjectRow } from '../../store/store.ts';
import { parse } from '../http/parse.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { getProject } from '../services/projects.ts';
import { ZERO_SHA, type RefUpdate } from '../services/pushes.ts';
import { defaultReposDir, hasCommit, repoPath } from '../git/repos.ts';
import { recordWebhookCheck } from './check-events.ts';
import { queuePushDelivery } from './deliveries.ts';
import { findProjectsByRepository } from './find-projects.ts';
import { generic } from './generic.ts';
import { github } from './github.ts';
import { gitlab } from './gitlab.ts';
import { decodePayload, type RawDelivery, type WebhookProvider } from './provider.ts';

/** GitHub's push payloads stay far below this; its own cap is 25 MB, for pushes of thousands of commits. */
export const DEFAULT_WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;

export interface WebhookOptions {
  deps: ServiceDeps;
  /** Largest body accepted, in bytes; larger ones get PAYLOAD_TOO_LARGE before they are read. */
  maxBodyBytes?: number;
  /** Slipway's own repositories, where generic pushes of projects without a repository URL are checked. */
  reposDir?: string;
}

const WebhookQuery = z.object({ project: z.string().min(1).max(200).optional() });

const DeliveryId = z.string().min(1).max(200);

function tooLarge(limit: number): SlipwayError {
  return new SlipwayError(ErrorCode.PAYLOAD_TOO_LARGE, `webhook bodies are limited to ${limit} bytes`, { limit });
}

/**
 * `POST /hooks/github`, `/hooks/gitlab` and `/hooks/generic`. They live in their own plugin
 * scope because signatures are computed over the exact bytes sent: here every body stays a
 * Buffer, capped at `maxBodyBytes`, and JSON is decoded only by the handler.
 */
export async function registerWebhookRoutes(app: FastifyInstance, options: WebhookOptions): Promise<void> {
  const { deps } = options;
  const limit = options.maxBodyBytes ?? DEFAULT_WEBHOOK_BODY_LIMIT;
  const reposDir = options.reposDir ?? defaultReposDir(deps.dataDir);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer', bodyLimit: limit },
      (_request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body),
    );
    // Refuse an announced oversize body before a byte of it is read; a chunked one is cut at the limit.
    scope.addHook('onRequest', async (request) => {
      const announced = Number(request.headers['content-length'] ?? 0);
      if (announced > limit) throw tooLarge(limit);
    });
    for (const provider of [github, gitlab, generic]) {
      scope.post(`/hooks/${provider.name}`, { bodyLimit: limit }, (request, reply) => receive(deps, reposDir, provider, request, reply));
    }
  });
}

interface Addressed {
  projects: ProjectRow[];
  payload: unknown;
}

function refuse(provider: WebhookProvider, reason: string): SlipwayError {
  return new SlipwayError(ErrorCode.WEBHOOK_SIGNATURE_INVALID, `${provider.name} delivery refused: ${reason}`, { reason });
}

function noSecret(project: ProjectRow): SlipwayError {
  return new SlipwayError(
    ErrorCode.FORBIDDEN,
    `project "${project.name}" has no webhook secret, so it accepts no webhooks; set one (slipway projects create … --webhook-secret)`,
    { project: project.name },
  );
}

/** `?project=<name>`: the project's secret is checked before the body is decoded at all. */
async function addressByName(deps: ServiceDeps, provider: WebhookProvider, delivery: RawDelivery, name: string): Promise<Addressed> {
  const project = await getProject(deps, name);
  if (project.webhookSecret === null) throw noSecret(project);
  const verdict = provider.verify(project.webhookSecret, delivery, deps.clock.now());
  if (!verdict.ok) throw refuse(provider, verdict.reason);
  return { projects: [project], payload: decodePayload(delivery) };
}

/**
 * No `?project=`: the payload's repository URLs name the project, so the body is decoded
 * first — but only those URLs are read from it until a project's secret has verified it.
 * Every project of that repository whose secret verifies the delivery gets the push.
 */
async function addressByRepository(deps: ServiceDeps, provider: WebhookProvider, delivery: RawDelivery): Promise<Addressed> {
  const payload = decodePayload(delivery);
  const urls = provider.repositoryUrls(payload);
  if (urls.length === 0) {
    if (provider.name === 'generic') throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'name the project: POST /hooks/generic?project=<name>');
    throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, 'the payload names no repository; add ?project=<name> to the webhook URL');
  }
  const candidates = await findProjectsByRepository(deps.store, urls);
  if (candidates.length === 0) {
    throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project has the repository ${urls[0] ?? ''}`, { repository: urls });
  }
  const withSecret = candidates.filter((p): p is ProjectRow & { webhookSecret: string } => p.webhookSecret !== null);
  const [firstCandidate] = candidates;
  if (withSecret.length === 0 && firstCandidate) throw noSecret(firstCandidate);
  const now = deps.clock.now();
  const verdicts = withSecret.map((project) => ({ project, verdict: provider.verify(project.webhookSecret, delivery, now) }));
  const projects = verdicts.filter((v) => v.verdict.ok).map((v) => v.project);
  const firstRefusal = verdicts.map((v) => v.verdict).find((v) => !v.ok);
  if (projects.length === 0) throw refuse(provider, firstRefusal && !firstRefusal.ok ? firstRefusal.reason : 'no project secret matches');
  return { projects, payload };
}

/**
 * A push that builds from Slipway's own repository (a generic push to a project without a
 * repository URL) must name commits that repository has: otherwise COMMIT_NOT_FOUND, and
 * nothing is queued — no build bound to fail, no preview that can only stay empty. Pushes
 * building from an external repository are checked by the runner's fetch.
 */
async function checkCommitsExist(reposDir: string, projects: ProjectRow[], updates: RefUpdate[]): Promise<void> {
  for (const project of projects) {
    if (project.repoUrl !== null) continue;
    for (const update of updates) {
      if (update.after === ZERO_SHA || (await hasCommit(repoPath(reposDir, project.name), update.after))) continue;
      throw new SlipwayError(ErrorCode.COMMIT_NOT_FOUND, `project "${project.name}" has no commit ${update.after} in its repository; push the commit to Slipway's git first`, {
        project: project.name,
        commit: update.after,
      });
    }
  }
}

/**
 * Verifies, finds the project(s) and queues the delivery with its job, then answers; the push
 * (build, branch, preview, audit event) is recorded by the `webhook.deliver` job after the
 * answer, so no build id is known yet: `GET /api/v1/projects/<p>/deliveries` shows them later.
 */
async function receive(
  deps: ServiceDeps,
  reposDir: string,
  provider: WebhookProvider,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const delivery: RawDelivery = { headers: request.headers, body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0) };
  const { project: name } = parse(WebhookQuery, request.query);
  const { projects, payload } =
    name === undefined ? await addressByRepository(deps, provider, delivery) : await addressByName(deps, provider, delivery, name);
  const names = projects.map((p) => p.name);

  const event = provider.interpret(delivery, payload);
  if (event.kind === 'ping') return { ok: true, zen: event.zen ?? null, hookId: event.hookId ?? null, projects: names };
  if (event.kind === 'ignored') {
    void reply.status(202);
    return { ignored: true, event: event.event, ...(event.reason === undefined ? {} : { reason: event.reason }), projects: names };
  }
  if (event.kind === 'check') {
    const id = DeliveryId.safeParse(provider.deliveryId(delivery, payload));
    const recorded = await recordWebhookCheck(deps, provider, projects, id.success ? id.data : undefined, event.check);
    if (recorded.recordedFor.length === 0) return { duplicate: true, check: event.check.name, projects: names };
    return {
      recorded: true,
      check: event.check.name,
      state: event.check.state,
      commit: event.check.commit,
      projects: recorded.recordedFor,
      ...(recorded.duplicateFor.length > 0 ? { duplicateFor: recorded.duplicateFor } : {}),
    };
  }

  // The external repository is where the runner fetches the commit from; generic pushes may build from Slipway's own.
  const unsourced = provider.name === 'generic' ? undefined : projects.find((p) => p.repoUrl === null);
  if (unsourced) {
    throw new SlipwayError(
      ErrorCode.FORBIDDEN,
      `project "${unsourced.name}" has no repository URL to fetch ${provider.name} pushes from; set one (slipway projects create … --repo <url>)`,
      { project: unsourced.name },
    );
  }
  await checkCommitsExist(reposDir, projects, event.updates);
  const deliveryId = DeliveryId.safeParse(provider.deliveryId(delivery, payload));
  if (!deliveryId.success) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, `a ${provider.name} push needs a delivery id of 1 to 200 characters (its idempotency key)`);
  }
  const outcome = await queuePushDelivery(deps, {
    provider: provider.name,
    deliveryId: deliveryId.data,
    actor: provider.actor,
    trigger: provider.trigger,
    projects,
    updates: event.updates,
    author: event.author,
    message: event.message,
  });
  if (outcome.queuedFor.length === 0) return { duplicate: true, delivery: deliveryId.data, projects: names };
  void reply.status(202);
  return {
    accepted: true,
    queued: true,
    delivery: deliveryId.data,
    projects: outcome.queuedFor,
    ...(outcome.duplicateFor.length > 0 ? { duplicateFor: outcome.duplicateFor } : {}),
  };
}
