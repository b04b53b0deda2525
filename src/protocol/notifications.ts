import { z } from 'zod';
import { DELIVERY_EVENTS, NOTIFY_DELIVERY_STATES, NOTIFY_EVENTS, NOTIFY_FORMATS } from '../core/notifications.ts';

/** Where a project's release state changes are sent. `url` is whole for an admin, its origin (`https://host/…`) for anyone else. */
export const NotifyTarget = z.object({
  id: z.string(),
  project: z.string(),
  url: z.string(),
  format: z.enum(NOTIFY_FORMATS),
  events: z.array(z.enum(NOTIFY_EVENTS)),
  allowPrivate: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type NotifyTarget = z.infer<typeof NotifyTarget>;

/** A new target and the secret its deliveries are signed with, shown this once. */
export const CreatedNotifyTarget = NotifyTarget.extend({ secret: z.string() });
export type CreatedNotifyTarget = z.infer<typeof CreatedNotifyTarget>;

export const CreateNotifyTargetRequest = z.object({
  url: z.string().min(1).max(2048),
  /** `release.live` or just `live`; absent: live, failed, waiting, rolled_back. */
  events: z.array(z.string().min(1).max(64)).min(1).max(16).optional(),
  format: z.enum(NOTIFY_FORMATS).optional(),
  /** Admin only: the URL may be on loopback or the private network. */
  allowPrivate: z.boolean().optional(),
});
export type CreateNotifyTargetRequest = z.infer<typeof CreateNotifyTargetRequest>;

export const NotifyTargetList = z.object({ targets: z.array(NotifyTarget) });
export type NotifyTargetList = z.infer<typeof NotifyTargetList>;

export const NotifyDelivery = z.object({
  id: z.string(),
  target: z.string(),
  event: z.enum(DELIVERY_EVENTS),
  release: z.string().nullable(),
  state: z.enum(NOTIFY_DELIVERY_STATES),
  attempts: z.number().int(),
  /** The receiver's last status; null when it never answered. */
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  /** The first bytes of the receiver's last answer. */
  response: z.string().nullable(),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  endedAt: z.string().nullable(),
});
export type NotifyDelivery = z.infer<typeof NotifyDelivery>;

export const NotifyDeliveryList = z.object({ deliveries: z.array(NotifyDelivery) });
export type NotifyDeliveryList = z.infer<typeof NotifyDeliveryList>;

export const NotifyDeliveryQuery = z.object({
  target: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});
export type NotifyDeliveryQuery = z.infer<typeof NotifyDeliveryQuery>;
