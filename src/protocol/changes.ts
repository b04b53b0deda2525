import { z } from 'zod';
import { CHANGE_TOPICS } from '../core/change-topics.ts';

/** Wire schemas of the change stream (`GET /api/v1/stream`, Server-Sent Events). */

export const ChangeTopic = z.enum(CHANGE_TOPICS);
export type ChangeTopic = z.infer<typeof ChangeTopic>;

/** The query of `GET /api/v1/stream`: one project's changes, or (without it) those of every project the caller sees. */
export const StreamQuery = z.object({ project: z.string().min(1).max(200).optional() });
export type StreamQuery = z.infer<typeof StreamQuery>;

/** The data of one `event: change` message: something of `project` changed; reload what shows `topics`. */
export const ChangeMessage = z.object({
  project: z.string(),
  topics: z.array(ChangeTopic),
  at: z.string(),
});
export type ChangeMessage = z.infer<typeof ChangeMessage>;

/** The event name of a change message. */
export const CHANGE_EVENT = 'change';
