import { createHash } from 'node:crypto';
import { parse } from '../http/parse.ts';
import { ZERO_SHA } from '../services/pushes.ts';
import { gitlabPipelineEvent } from './check-events.ts';
import { GitlabPipelinePayload, GitlabProjectOf, GitlabPushPayload } from './payloads.ts';
import { headerOf, presentStrings, type RawDelivery, type WebhookProvider } from './provider.ts';
import { verifyStandardWebhook, verifyToken, type Verdict } from './signatures.ts';

const PUSH_EVENTS = new Set(['Push Hook', 'Tag Push Hook']);

/**
 * GitLab authenticates a delivery with a secret token (`X-Gitlab-Token`, the secret itself) or
 * a signing token (Standard Webhooks headers `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`), or both. Every credential present must hold, and at least one must be
 * present: a correct token beside a signature that does not match the body is a tampered body.
 */
function verifyGitlab(secret: string, delivery: RawDelivery, now: Date): Verdict {
  const token = headerOf(delivery, 'x-gitlab-token');
  const signature = headerOf(delivery, 'webhook-signature');
  if (token === undefined && signature === undefined) {
    return { ok: false, reason: 'send X-Gitlab-Token or the webhook-signature headers of a signing token' };
  }
  if (token !== undefined) {
    const verdict = verifyToken(secret, token);
    if (!verdict.ok) return verdict;
  }
  if (signature !== undefined) {
    return verifyStandardWebhook(
      secret,
      delivery.body,
      { id: headerOf(delivery, 'webhook-id'), timestamp: headerOf(delivery, 'webhook-timestamp'), signature },
      now,
    );
  }
  return { ok: true };
}

export const gitlab: WebhookProvider = {
  name: 'gitlab',
  actor: { name: 'gitlab', role: 'deployer', trigger: 'automation' },
  trigger: 'gitlab',

  verify: verifyGitlab,

  repositoryUrls(payload) {
    const parsed = GitlabProjectOf.safeParse(payload);
    const project = parsed.success ? parsed.data.project : undefined;
    return project ? presentStrings([project.git_http_url, project.git_ssh_url, project.web_url]) : [];
  },

  /**
   * `Idempotency-Key` is GitLab's key for exactly this: kept when a delivery is retried or
   * resent by hand (`webhook-id` is the same value). A signed delivery uses `webhook-id`, the
   * one the signature covers, so a resent body cannot pass as new with an edited header.
   * `X-Gitlab-Event-UUID` comes from older GitLab versions; one too old to send either gets
   * the body's digest, since a retry repeats the body byte for byte.
   */
  deliveryId: (delivery) =>
    (headerOf(delivery, 'webhook-signature') === undefined ? undefined : headerOf(delivery, 'webhook-id')) ??
    headerOf(delivery, 'idempotency-key') ??
    headerOf(delivery, 'webhook-id') ??
    headerOf(delivery, 'x-gitlab-event-uuid') ??
    `sha256:${createHash('sha256').update(delivery.body).digest('hex')}`,

  interpret(delivery, payload) {
    const event = headerOf(delivery, 'x-gitlab-event') ?? '(none)';
    // A system hook carries pushes of every project on the instance; a project's own hook is the way in.
    if (event === 'Pipeline Hook') return gitlabPipelineEvent(parse(GitlabPipelinePayload, payload));
    if (!PUSH_EVENTS.has(event)) return { kind: 'ignored', event };
    const push = parse(GitlabPushPayload, payload);
    const deleted = push.after === ZERO_SHA;
    // For an annotated tag `after` is the tag object and checkout_sha the commit it points at.
    const after = deleted ? ZERO_SHA : (push.checkout_sha ?? push.after);
    const head = push.commits?.find((c) => c.id === after);
    return {
      kind: 'push',
      updates: [{ ref: push.ref, before: push.before, after }],
      author: head?.author?.name ?? push.user_name ?? push.user_username ?? undefined,
      message: head?.message ?? undefined,
    };
  },
};
