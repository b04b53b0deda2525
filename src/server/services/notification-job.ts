import { z } from 'zod';
import { defaultBackoffMs, type JobContext } from '../jobs/job-queue.ts';
import type { ServiceDeps } from './deps.ts';
import { sendNotification } from './notifications.ts';

const NotificationJob = z.object({ deliveryId: z.string().min(1).max(64) });

/**
 * The `notification.send` job: sends its delivery. A failed attempt throws (the delivery says
 * why), and the queue runs the job again after its backoff; the last one leaves the delivery
 * failed and the job done. A payload that names no delivery is logged and dropped: no attempt
 * of it could succeed.
 */
export async function sendNotificationJob(deps: ServiceDeps, payload: Record<string, unknown>, ctx: JobContext): Promise<void> {
  const parsed = NotificationJob.safeParse(payload);
  if (!parsed.success) {
    ctx.log.error({ payload }, 'a notification.send job without a delivery id; dropped');
    return;
  }
  const retryAt = new Date(deps.clock.now().getTime() + defaultBackoffMs(ctx.job.attempts)).toISOString();
  await sendNotification(deps, parsed.data.deliveryId, { attempt: ctx.job.attempts, lastAttempt: ctx.lastAttempt, retryAt, signal: ctx.signal });
}
