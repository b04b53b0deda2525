import { parse } from '../http/parse.ts';
import { ZERO_SHA } from '../services/pushes.ts';
import { githubCheckRunEvent, githubStatusEvent } from './check-events.ts';
import { GithubCheckRunPayload, GithubPingPayload, GithubPushPayload, GithubRepositoryOf, GithubStatusPayload } from './payloads.ts';
import { headerOf, presentStrings, type WebhookProvider } from './provider.ts';
import { verifyHexSignature } from './signatures.ts';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body, the event in `X-GitHub-Event`,
 * the delivery id in `X-GitHub-Delivery` (the same on a redelivery). Pushes build; `status`
 * and `check_run` events become checks of their commit.
 */
export const github: WebhookProvider = {
  name: 'github',
  actor: { name: 'github', role: 'deployer', trigger: 'automation' },
  trigger: 'github',

  verify: (secret, delivery) => verifyHexSignature(secret, delivery.body, headerOf(delivery, 'x-hub-signature-256')),

  repositoryUrls(payload) {
    const parsed = GithubRepositoryOf.safeParse(payload);
    const repo = parsed.success ? parsed.data.repository : undefined;
    return repo ? presentStrings([repo.clone_url, repo.html_url, repo.ssh_url, repo.git_url]) : [];
  },

  deliveryId: (delivery) => headerOf(delivery, 'x-github-delivery'),

  interpret(delivery, payload) {
    const event = headerOf(delivery, 'x-github-event') ?? '(none)';
    if (event === 'ping') {
      const ping = parse(GithubPingPayload, payload);
      return { kind: 'ping', zen: ping.zen, hookId: ping.hook_id };
    }
    if (event === 'status') return githubStatusEvent(parse(GithubStatusPayload, payload));
    if (event === 'check_run') return githubCheckRunEvent(parse(GithubCheckRunPayload, payload));
    if (event !== 'push') return { kind: 'ignored', event };
    const push = parse(GithubPushPayload, payload);
    const head = push.head_commit ?? undefined;
    let after = push.deleted ? ZERO_SHA : push.after;
    // An annotated tag's `after` is the tag object; build the commit it points at.
    if (!push.deleted && push.ref.startsWith('refs/tags/') && head) after = head.id;
    return {
      kind: 'push',
      updates: [{ ref: push.ref, before: push.before, after }],
      author: head?.author?.name ?? head?.author?.username ?? push.pusher?.name ?? undefined,
      message: head?.message ?? undefined,
    };
  },
};
