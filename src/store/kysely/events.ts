import { sql } from 'kysely';
import { containsPattern, parseJson, type FamilyContext, type Page } from './family-context.ts';

/** One entry of the audit log: who did what to which project and environment, with before and after. */
export interface EventRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  projectId: string | null;
  environment: string | null;
  target: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
}

export type NewEvent = Omit<EventRow, 'id'>;

/** What the change feed reads of an event: which project it was about and what was done. */
export interface EventHead {
  id: number;
  action: string;
  projectId: string | null;
}

/** The audit log: append-only (the database refuses updates and deletes). */
export interface EventStore {
  appendEvent(event: NewEvent): Promise<number>;
  listEvents(filter: EventFilter, page: Page): Promise<EventRow[]>;
  /** The newest event's id; 0 for an empty log. */
  lastEventId(): Promise<number>;
  /** Events after `afterId`, oldest first, at most `limit`, without their payloads: what the change feed tails. */
  listEventHeads(afterId: number, limit: number): Promise<EventHead[]>;
  /**
   * Calls `listener` after each commit that appended events (at once outside a transaction;
   * never for a rollback). In-process only: other replicas find them by reading the log.
   * Returns the unsubscribe.
   */
  onEventsAppended(listener: () => void): () => void;
}

export interface EventFilter {
  projectId?: string | undefined;
  environment?: string | undefined;
  /** Events about one release: it is their target, or their `after` names it (`supersededBy`). */
  release?: string | undefined;
}

export function createEventStore(ctx: FamilyContext): EventStore {
  const { db } = ctx;
  return {
    async appendEvent(event) {
      const row = await db
        .insertInto('events')
        .values({
          at: event.at,
          actor: event.actor,
          action: event.action,
          project_id: event.projectId,
          environment: event.environment,
          target: event.target,
          reason: event.reason,
          before: event.before === null || event.before === undefined ? null : JSON.stringify(event.before),
          after: event.after === null || event.after === undefined ? null : JSON.stringify(event.after),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ctx.afterCommit(() => {
        for (const listener of [...ctx.eventsAppended]) listener();
      });
      return Number(row.id);
    },

    async listEvents(filter, page) {
      let query = db.selectFrom('events').selectAll();
      if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
      if (filter.environment !== undefined) query = query.where('environment', '=', filter.environment);
      const release = filter.release;
      if (release !== undefined) {
        // `after` is JSON text: the id as a whole string value, quotes included.
        query = query.where((eb) => eb.or([eb('target', '=', release), sql<boolean>`lower(after) like ${containsPattern(JSON.stringify(release))} escape '\\'`]));
      }
      if (page.before !== undefined) query = query.where('id', '<', page.before);
      const rows = await query.orderBy('id', 'desc').limit(page.limit).execute();
      return rows.map((row) => ({
        id: Number(row.id),
        at: row.at,
        actor: row.actor,
        action: row.action,
        projectId: row.project_id,
        environment: row.environment,
        target: row.target,
        reason: row.reason,
        before: row.before === null ? null : parseJson<unknown>(row.before),
        after: row.after === null ? null : parseJson<unknown>(row.after),
      }));
    },

    async lastEventId() {
      const row = await db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
      return row?.id == null ? 0 : Number(row.id);
    },

    async listEventHeads(afterId, limit) {
      const rows = await db.selectFrom('events').select(['id', 'action', 'project_id']).where('id', '>', afterId).orderBy('id').limit(limit).execute();
      return rows.map((row) => ({ id: Number(row.id), action: row.action, projectId: row.project_id }));
    },

    onEventsAppended(listener) {
      const entry = () => listener();
      ctx.eventsAppended.add(entry);
      return () => ctx.eventsAppended.delete(entry);
    },
  };
}
