import { parse } from '../http/parse.ts';
import { GenericPushPayload } from './payloads.ts';
import { headerOf, type WebhookProvider } from './provider.ts';
import { verifyHexSignature } from './signatures.ts';

/**
 * Slipway's own hook for any other sender (a CI job, a script, Gitea's generic webhook):
 * `X-Slipway-Signature: sha256=<hex>` over the raw body, the project named by `?project=`,
 * and a body `{ref, before, after, delivery?, author?, message?}`. Every delivery is a push; it
 * moves `ref` only while Slipway has it at `before` (forty zeros: the branch is new).
 */
export const generic: WebhookProvider = {
  name: 'generic',
  actor: { name: 'webhook', role: 'deployer', trigger: 'automation' },
  trigger: 'generic',

  verify: (secret, delivery) => verifyHexSignature(secret, delivery.body, headerOf(delivery, 'x-slipway-signature')),

  repositoryUrls: () => [],

  deliveryId(delivery, payload) {
    const fromBody = GenericPushPayload.shape.delivery.safeParse((payload as { delivery?: unknown } | null)?.delivery);
    return (fromBody.success ? fromBody.data : undefined) ?? headerOf(delivery, 'x-slipway-delivery');
  },

  interpret(_delivery, payload) {
    const push = parse(GenericPushPayload, payload);
    return {
      kind: 'push',
      updates: [{ ref: push.ref, before: push.before, after: push.after }],
      author: push.author,
      message: push.message,
    };
  },
};
