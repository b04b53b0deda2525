import { sweepAgents } from '../services/agents.ts';
import { reapBuilds } from '../services/builds.ts';
import { expireUploads } from '../services/deployments.ts';
import { sendNotificationJob } from '../services/notification-job.ts';
import { forgetOldNotifyDeliveries } from '../services/notifications.ts';
import { evaluateProjectPipeline } from '../services/pipeline.ts';
import { purgeDeletedProject } from '../services/project-deletion.ts';
import { advanceRollout } from '../services/rollouts.ts';
import { deliverNext } from '../webhooks/process-delivery.ts';
import type { JobHandlers } from './job-queue.ts';
import { DONE_JOBS_KEPT_MS } from './kinds.ts';

/**
 * The one place kinds get their handlers (kinds.ts has their payloads and attempts). A kind
 * left out here is never claimed by this process: its jobs wait in the queue (so a replica
 * running older code leaves a new kind to the ones that know it). A kind is added with its
 * payload in kinds.ts and one line here, `'<kind>': (deps, payload, ctx) => service(…)`.
 */
export const jobHandlers: JobHandlers = {
  'webhook.deliver': (deps, { projectId }, ctx) => deliverNext(deps, projectId, ctx),
  'builds.reap': async (deps) => {
    const reaped = await reapBuilds(deps);
    // Builds back in the queue: long-polling claims answer now.
    if (reaped.some((build) => build.state === 'queued')) deps.buildsQueued.notify();
  },
  'uploads.expire': async (deps) => {
    await expireUploads(deps);
  },
  'project.purge': (deps, { projectId }) => purgeDeletedProject(deps, projectId),
  'pipeline.evaluate': (deps, { projectId }) => evaluateProjectPipeline(deps, projectId),
  'notification.send': (deps, payload, ctx) => sendNotificationJob(deps, payload, ctx),
  'rollout.advance': (deps, { releaseId }) => advanceRollout(deps, releaseId),
  'agents.sweep': async (deps) => {
    await sweepAgents(deps);
  },
  'jobs.cleanup': async (deps) => {
    await deps.store.deleteDoneJobs(new Date(deps.clock.now().getTime() - DONE_JOBS_KEPT_MS).toISOString());
    await forgetOldNotifyDeliveries(deps);
  },
};
