import type { Selectable } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { DeliveryEvent, NotifyDeliveryState, NotifyEvent, NotifyFormat } from '../../core/notifications.ts';
import type { Database } from '../schema.ts';
import { parseJson, type FamilyContext } from './family-context.ts';

/** A notification target; `url` is opened (it is sealed at rest), its secret is read on its own (findNotifyTargetSecret). */
export interface NotifyTargetRow {
  id: string;
  projectId: string;
  url: string;
  /** `https://hooks.example.com/…`: what those who may not see the URL see. */
  urlOrigin: string;
  format: NotifyFormat;
  events: NotifyEvent[];
  allowPrivate: boolean;
  createdAt: string;
  createdBy: string;
  removedAt: string | null;
  removedBy: string | null;
}

export interface NewNotifyTarget extends Omit<NotifyTargetRow, 'removedAt' | 'removedBy'> {
  secret: string;
}

export interface NotifyDeliveryRow {
  id: string;
  targetId: string;
  projectId: string;
  event: DeliveryEvent;
  releaseId: string | null;
  /** The exact bytes every attempt sends (JSON text). */
  body: string;
  state: NotifyDeliveryState;
  attempts: number;
  statusCode: number | null;
  error: string | null;
  /** The first bytes of the receiver's last answer. */
  responseExcerpt: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  /** While pending after a failed attempt: when the next one is due. */
  nextAttemptAt: string | null;
  endedAt: string | null;
}

export type NewNotifyDelivery = Pick<NotifyDeliveryRow, 'id' | 'targetId' | 'projectId' | 'event' | 'releaseId' | 'body' | 'createdAt'>;

/** What one attempt leaves on its delivery. */
export type NotifyAttempt = Pick<NotifyDeliveryRow, 'state' | 'attempts' | 'statusCode' | 'error' | 'responseExcerpt' | 'lastAttemptAt' | 'nextAttemptAt' | 'endedAt'>;

export interface NotificationStore {
  insertNotifyTarget(row: NewNotifyTarget): Promise<void>;
  /** A target, removed or not. */
  findNotifyTarget(id: string): Promise<NotifyTargetRow | undefined>;
  /** The HMAC secret of a target, opened. */
  findNotifyTargetSecret(id: string): Promise<string | undefined>;
  /** A project's targets that are not removed, oldest first. */
  listNotifyTargets(projectId: string): Promise<NotifyTargetRow[]>;
  /** What a state change needs of a project's targets that are not removed: which events each wants (nothing sealed is opened). */
  listNotifyTargetEvents(projectId: string): Promise<Pick<NotifyTargetRow, 'id' | 'format' | 'events'>[]>;
  /** Marks it removed; false when it was removed already. */
  removeNotifyTarget(id: string, by: string, at: string): Promise<boolean>;
  insertNotifyDelivery(row: NewNotifyDelivery): Promise<void>;
  findNotifyDelivery(id: string): Promise<NotifyDeliveryRow | undefined>;
  /** A project's deliveries (of one target when given), newest first. */
  listNotifyDeliveries(projectId: string, options: { targetId?: string | undefined; limit: number }): Promise<NotifyDeliveryRow[]>;
  /** Records an attempt on a delivery pending (or failed: an admin retried its job); false when it was delivered or canceled meanwhile. */
  recordNotifyAttempt(id: string, attempt: NotifyAttempt): Promise<boolean>;
  /** Deletes deliveries that ended (delivered, failed, canceled) before `before`; how many. */
  deleteEndedNotifyDeliveries(before: string): Promise<number>;
  /** Pending deliveries of a target become canceled; how many. */
  cancelNotifyDeliveries(targetId: string, at: string): Promise<number>;
}

type TargetRecord = Selectable<Database['notify_targets']>;
type DeliveryRecord = Selectable<Database['notify_deliveries']>;

function iso(value: string | Date): string {
  return new Date(value).toISOString();
}

function isoOrNull(value: string | Date | null): string | null {
  return value === null ? null : iso(value);
}

/** What a sealed value of a target is bound to: its row and column (the AES-GCM additional data). */
function targetContext(id: string, column: 'url' | 'secret'): string {
  return `notify_targets/${id}/${column}`;
}

function toDelivery(row: DeliveryRecord): NotifyDeliveryRow {
  return {
    id: row.id,
    targetId: row.target_id,
    projectId: row.project_id,
    event: row.event as DeliveryEvent,
    releaseId: row.release_id,
    body: row.body,
    state: row.state as NotifyDeliveryState,
    attempts: Number(row.attempts),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    error: row.error,
    responseExcerpt: row.response_excerpt,
    createdAt: iso(row.created_at),
    lastAttemptAt: isoOrNull(row.last_attempt_at),
    nextAttemptAt: isoOrNull(row.next_attempt_at),
    endedAt: isoOrNull(row.ended_at),
  };
}

/** The notification family over Kysely; the same statements run on SQLite and PostgreSQL. */
export function createNotificationStore(ctx: FamilyContext): NotificationStore {
  const { db } = ctx;
  const box = () => {
    if (!ctx.secrets) throw new SlipwayError(ErrorCode.SECRET_KEY_INVALID, 'this store was opened without a secret key, so it cannot read or write notification targets');
    return ctx.secrets;
  };
  const toTarget = (row: TargetRecord): NotifyTargetRow => ({
    id: row.id,
    projectId: row.project_id,
    url: box().open(row.url, targetContext(row.id, 'url')),
    urlOrigin: row.url_origin,
    format: row.format as NotifyFormat,
    events: parseJson<NotifyEvent[]>(row.events),
    allowPrivate: Number(row.allow_private) === 1,
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
    removedAt: isoOrNull(row.removed_at),
    removedBy: row.removed_by,
  });
  return {
    async insertNotifyTarget(row) {
      await db
        .insertInto('notify_targets')
        .values({
          id: row.id,
          project_id: row.projectId,
          url: box().seal(row.url, targetContext(row.id, 'url')),
          url_origin: row.urlOrigin,
          format: row.format,
          events: JSON.stringify(row.events),
          secret: box().seal(row.secret, targetContext(row.id, 'secret')),
          allow_private: row.allowPrivate ? 1 : 0,
          created_at: row.createdAt,
          created_by: row.createdBy,
          removed_at: null,
          removed_by: null,
        })
        .execute();
    },
    async findNotifyTarget(id) {
      const row = await db.selectFrom('notify_targets').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toTarget(row) : undefined;
    },
    async findNotifyTargetSecret(id) {
      const row = await db.selectFrom('notify_targets').select(['id', 'secret']).where('id', '=', id).executeTakeFirst();
      return row ? box().open(row.secret, targetContext(row.id, 'secret')) : undefined;
    },
    async listNotifyTargets(projectId) {
      const rows = await db.selectFrom('notify_targets').selectAll().where('project_id', '=', projectId).where('removed_at', 'is', null).orderBy('created_at').orderBy('id').execute();
      return rows.map(toTarget);
    },
    async listNotifyTargetEvents(projectId) {
      const rows = await db
        .selectFrom('notify_targets')
        .select(['id', 'format', 'events'])
        .where('project_id', '=', projectId)
        .where('removed_at', 'is', null)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map((r) => ({ id: r.id, format: r.format as NotifyFormat, events: parseJson<NotifyEvent[]>(r.events) }));
    },
    async removeNotifyTarget(id, by, at) {
      const result = await db.updateTable('notify_targets').set({ removed_at: at, removed_by: by }).where('id', '=', id).where('removed_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async insertNotifyDelivery(row) {
      await db
        .insertInto('notify_deliveries')
        .values({
          id: row.id,
          target_id: row.targetId,
          project_id: row.projectId,
          event: row.event,
          release_id: row.releaseId,
          body: row.body,
          status_code: null,
          error: null,
          response_excerpt: null,
          created_at: row.createdAt,
          last_attempt_at: null,
          next_attempt_at: null,
          ended_at: null,
        })
        .execute();
    },
    async findNotifyDelivery(id) {
      const row = await db.selectFrom('notify_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toDelivery(row) : undefined;
    },
    async listNotifyDeliveries(projectId, { targetId, limit }) {
      let query = db.selectFrom('notify_deliveries').selectAll().where('project_id', '=', projectId);
      if (targetId !== undefined) query = query.where('target_id', '=', targetId);
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toDelivery);
    },
    async recordNotifyAttempt(id, attempt) {
      const result = await db
        .updateTable('notify_deliveries')
        .set({
          state: attempt.state,
          attempts: attempt.attempts,
          status_code: attempt.statusCode,
          error: attempt.error,
          response_excerpt: attempt.responseExcerpt,
          last_attempt_at: attempt.lastAttemptAt,
          next_attempt_at: attempt.nextAttemptAt,
          ended_at: attempt.endedAt,
        })
        .where('id', '=', id)
        .where('state', 'in', ['pending', 'failed'])
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async deleteEndedNotifyDeliveries(before) {
      const result = await db.deleteFrom('notify_deliveries').where('state', '!=', 'pending').where('ended_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async cancelNotifyDeliveries(targetId, at) {
      const result = await db
        .updateTable('notify_deliveries')
        .set({ state: 'canceled', ended_at: at, next_attempt_at: null })
        .where('target_id', '=', targetId)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
