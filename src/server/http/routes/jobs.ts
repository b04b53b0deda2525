import { z } from 'zod';
import { Job, JobsQuery } from '../../../protocol/api.ts';
import type { JobRow } from '../../../store/kysely/jobs.ts';
import { listJobs, retryJob } from '../../services/jobs.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

/** A job row as the API shows it (kept beside its only routes). */
export function presentJob(row: JobRow): Job {
  return { ...row };
}

export function jobRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/jobs',
      summary: 'Background jobs, newest first (admin): ?state=dead lists what failed for good, with its last error',
      query: JobsQuery,
      response: z.object({ jobs: z.array(Job) }),
      handler: async (request, _reply, actor) => {
        const query = parse(JobsQuery, request.query);
        return { jobs: (await listJobs(deps, actor, query, query)).map(presentJob) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/jobs/:id/retry',
      summary: 'Queue a dead job again, with all its attempts ahead of it (admin; audited as job.retry)',
      response: Job,
      handler: async (request, _reply, actor) => {
        const { id = '' } = request.params as Params;
        return presentJob(await retryJob(deps, actor, id));
      },
    },
  ];
}
