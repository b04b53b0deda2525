import { sql, type Selectable } from 'kysely';
import type { DeliveryState } from '../../core/glossary.ts';
import type { Database } from '../schema.ts';
import { parseJson, type FamilyContext, type Page } from './family-context.ts';

/**
 * What a webhook push asks for, kept with its delivery until the queue records it: the input of
 * a push record, by value, and the name of whom it acts as.
 */
export interface DeliveryPush {
  updates: { ref: string; before: string; after: string }[];
  trigger: string;
  /** `github`, `gitlab` or `webhook`. */
  actor: string;
  /** Repository the runner fetches from, as the project had it when the delivery arrived; null = Slipway's own. */
  sourceUrl: string | null;
  author: string | null;
  message: string | null;
}

/** One webhook delivery for one project: an entry of the delivery queue, kept afterwards as its history. */
export interface WebhookDeliveryRow {
  /** Queue order, across all projects. */
  seq: number;
  provider: string;
  projectId: string;
  /** The provider's own delivery id: the idempotency key, per provider and project. */
  deliveryId: string;
  /** Null only on deliveries recorded before the queue existed (they were done in their request). */
  push: DeliveryPush | null;
  state: DeliveryState;
  receivedAt: string;
  processedAt: string | null;
  /** Builds its push queued (an existing build of the same commit included). */
  builds: string[];
  error: string | null;
}

export type NewWebhookDelivery = Pick<WebhookDeliveryRow, 'provider' | 'projectId' | 'deliveryId' | 'receivedAt'> & { push: DeliveryPush };

/** The webhook delivery queue: pending → done (maybe stale afterwards) or failed. */
export interface DeliveryStore {
  /**
   * Records deliveries, pending, in one statement; one whose (provider, project, delivery id) is
   * known already is left as it is. Returns the rows that are new: a repeat gets none.
   */
  insertWebhookDeliveries(rows: NewWebhookDelivery[]): Promise<WebhookDeliveryRow[]>;
  /** The oldest pending delivery (of one project, given its id): the head of the queue. */
  findNextPendingDelivery(projectId?: string): Promise<WebhookDeliveryRow | undefined>;
  /**
   * Marks a pending delivery done and returns it; undefined when it is not pending anymore
   * (another replica took it). Call it in the transaction that records its push: a rollback
   * leaves it pending, and a second claimer on PostgreSQL waits for the first one's outcome.
   */
  claimWebhookDelivery(seq: number, processedAt: string): Promise<WebhookDeliveryRow | undefined>;
  setWebhookDeliveryBuilds(seq: number, builds: string[]): Promise<void>;
  /** Marks a delivery its queue recorded (done) as stale: its push moved nothing; `reason` says why. */
  markWebhookDeliveryStale(seq: number, reason: string): Promise<void>;
  /** Marks a pending delivery failed; false when it was not pending anymore. */
  failWebhookDelivery(seq: number, error: string, processedAt: string): Promise<boolean>;
  /** A project's deliveries, newest first; `page.before` is a seq. */
  listWebhookDeliveries(projectId: string, page: Page): Promise<WebhookDeliveryRow[]>;
  /** Ids of the projects that have pending deliveries. */
  listProjectsWithPendingDeliveries(): Promise<string[]>;
}

export function createDeliveryStore({ db }: FamilyContext): DeliveryStore {
  return {
    async insertWebhookDeliveries(rows) {
      if (rows.length === 0) return [];
      const inserted = await db
        .insertInto('webhook_deliveries')
        .values(
          rows.map((row) => ({
            provider: row.provider,
            project_id: row.projectId,
            delivery_id: row.deliveryId,
            push: JSON.stringify(row.push),
            state: 'pending',
            received_at: row.receivedAt,
            processed_at: null,
            builds: '[]',
            error: null,
          })),
        )
        .onConflict((oc) => oc.columns(['provider', 'project_id', 'delivery_id']).doNothing())
        .returningAll()
        .execute();
      return inserted.map(toWebhookDelivery);
    },

    async findNextPendingDelivery(projectId) {
      // A literal, not a parameter, so that SQLite can use the partial index of pending rows (few: they wait for their job).
      const row = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('state', '=', sql.lit('pending'))
        .$if(projectId !== undefined, (q) => q.where('project_id', '=', projectId as string))
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      return row && toWebhookDelivery(row);
    },

    async claimWebhookDelivery(seq, processedAt) {
      const row = await db
        .updateTable('webhook_deliveries')
        .set({ state: 'done', processed_at: processedAt })
        .where('seq', '=', seq)
        .where('state', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return row && toWebhookDelivery(row);
    },

    async setWebhookDeliveryBuilds(seq, builds) {
      await db.updateTable('webhook_deliveries').set({ builds: JSON.stringify(builds) }).where('seq', '=', seq).execute();
    },

    async failWebhookDelivery(seq, error, processedAt) {
      const updated = await db
        .updateTable('webhook_deliveries')
        .set({ state: 'failed', error, processed_at: processedAt })
        .where('seq', '=', seq)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },

    async markWebhookDeliveryStale(seq, reason) {
      await db.updateTable('webhook_deliveries').set({ state: 'stale', error: reason }).where('seq', '=', seq).where('state', '=', 'done').execute();
    },

    async listWebhookDeliveries(projectId, page) {
      let query = db.selectFrom('webhook_deliveries').selectAll().where('project_id', '=', projectId);
      if (page.before !== undefined) query = query.where('seq', '<', page.before);
      const rows = await query.orderBy('seq', 'desc').limit(page.limit).execute();
      return rows.map(toWebhookDelivery);
    },

    async listProjectsWithPendingDeliveries() {
      const rows = await db.selectFrom('webhook_deliveries').select('project_id').distinct().where('state', '=', sql.lit('pending')).execute();
      return rows.map((row) => row.project_id);
    },
  };
}

function toWebhookDelivery(row: Selectable<Database['webhook_deliveries']>): WebhookDeliveryRow {
  return {
    seq: Number(row.seq),
    provider: row.provider,
    projectId: row.project_id,
    deliveryId: row.delivery_id,
    push: row.push === null ? null : parseJson<DeliveryPush>(row.push),
    state: row.state as DeliveryState,
    receivedAt: row.received_at,
    processedAt: row.processed_at,
    builds: parseJson<string[]>(row.builds),
    error: row.error,
  };
}
