import { z } from 'zod';
import { ROLLOUT_STATES, ROTATIONS } from '../core/glossary.ts';
import { ROLLOUT_STEPS } from '../core/rollout-planner.ts';
import { ReleaseKind, ReleaseState } from './api.ts';

/** Wire schemas of a service's rollout: where each instance is, and the release phase. */

const Ref = z.object({ release: z.string(), deployment: z.string() });

export const RolloutInstance = z.object({
  agent: z.string(),
  name: z.string(),
  /** What the instance ran when the rollout reached it. */
  from: Ref.nullable(),
  /** The deployment it is moved to. */
  to: z.string(),
  step: z.enum(ROLLOUT_STEPS),
  since: z.string().nullable(),
  healthy: z.boolean(),
  rotation: z.enum(ROTATIONS),
  lost: z.boolean(),
  error: z.string().nullable(),
});
export type RolloutInstance = z.infer<typeof RolloutInstance>;

export const Rollout = z.object({
  release: z.object({ id: z.string(), number: z.number().int(), environment: z.string(), kind: ReleaseKind, state: ReleaseState, deployment: z.string() }),
  previous: Ref.nullable(),
  state: z.enum(ROLLOUT_STATES),
  /** One line: where the rollout is. */
  phase: z.string(),
  maxUnavailable: z.string(),
  drainMs: z.number().int(),
  healthTimeoutMs: z.number().int(),
  instances: z.array(RolloutInstance),
  releasePhase: z
    .object({
      agent: z.string().nullable(),
      name: z.string().nullable(),
      state: z.enum(['running', 'succeeded', 'failed']).nullable(),
      exitCode: z.number().int().nullable(),
      log: z.string().nullable(),
    })
    .nullable(),
  reason: z.string().nullable(),
  startedAt: z.string(),
  updatedAt: z.string(),
  endedAt: z.string().nullable(),
});
export type Rollout = z.infer<typeof Rollout>;

/** POST …/releases/:release/rollout/abort: stops a running rollout; switched instances go back. */
export const AbortRolloutRequest = z.object({
  /** With a release given as vN. */
  environment: z.string().min(1).max(64).optional(),
  /** Required (REASON_REQUIRED without one): the release ends with it and the environment is pinned with it. */
  reason: z.string().max(2000).optional(),
});
export type AbortRolloutRequest = z.infer<typeof AbortRolloutRequest>;
