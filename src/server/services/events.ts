import type { Actor } from '../../core/release-planner.ts';
import { redactDeep, redactUrl } from '../../core/repo-url.ts';
import type { Store } from '../../store/store.ts';

export interface EventFields {
  projectId?: string | null;
  environment?: string | null;
  target?: string | null;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
}

/** Appends one audit event; call it inside the transaction of the change it records. */
export async function recordEvent(store: Store, at: Date, actor: Actor, action: string, fields: EventFields): Promise<void> {
  await store.appendEvent({
    at: at.toISOString(),
    actor: actor.name,
    action,
    projectId: fields.projectId ?? null,
    environment: fields.environment ?? null,
    // Whatever an event quotes — a repository URL, a payload field, an error — never carries credentials.
    target: fields.target == null ? null : redactUrl(fields.target),
    reason: fields.reason == null ? null : redactUrl(fields.reason),
    before: redactDeep(fields.before ?? null),
    after: redactDeep(fields.after ?? null),
  });
}
