import { z } from 'zod';

/** A span in which nothing goes live in an environment but an admin's forced release. */
export const Freeze = z.object({
  id: z.string(),
  project: z.string(),
  environment: z.string(),
  /** ISO times in UTC; `from` inclusive, `until` exclusive. */
  from: z.string(),
  until: z.string(),
  reason: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type Freeze = z.infer<typeof Freeze>;

export const CreateFreezeRequest = z.object({
  /** `2026-12-20T00:00`, with an optional offset (`Z`, `+01:00`) or IANA zone after a space; without one, UTC. Absent: now. */
  from: z.string().min(1).max(64).optional(),
  until: z.string().min(1).max(64),
  reason: z.string().trim().min(1).max(1000),
});
export type CreateFreezeRequest = z.infer<typeof CreateFreezeRequest>;

export const FreezeList = z.object({ freezes: z.array(Freeze) });
export type FreezeList = z.infer<typeof FreezeList>;
