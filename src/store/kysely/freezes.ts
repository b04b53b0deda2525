import type { Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import type { FamilyContext } from './family-context.ts';

export interface FreezeRow {
  id: string;
  projectId: string;
  environmentId: string;
  /** ISO times in UTC; `from` inclusive, `until` exclusive. */
  from: string;
  until: string;
  reason: string;
  createdBy: string;
  createdAt: string;
}

export interface FreezeStore {
  insertFreeze(row: FreezeRow): Promise<void>;
  findFreeze(id: string): Promise<FreezeRow | undefined>;
  /** Freezes of one environment that have not ended by `now` (in force or to come), by start. */
  listFreezes(environmentId: string, now: string): Promise<FreezeRow[]>;
  /** Freezes of a project's environments that have not ended by `now`, by start. */
  listProjectFreezes(projectId: string, now: string): Promise<FreezeRow[]>;
  /** Deletes it; false when it was gone already (another unfreeze won). */
  deleteFreeze(id: string): Promise<boolean>;
}

type FreezeRecord = Selectable<Database['freezes']>;

/** Both dialects hand back what was written as ISO text; PostgreSQL's timestamptz comes back in the connection's format. */
function iso(value: string | Date): string {
  return new Date(value).toISOString();
}

function toFreeze(row: FreezeRecord): FreezeRow {
  return {
    id: row.id,
    projectId: row.project_id,
    environmentId: row.environment_id,
    from: iso(row.from_at),
    until: iso(row.until_at),
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
  };
}

/** The freeze family over Kysely; the same statements run on SQLite and PostgreSQL. */
export function createFreezeStore({ db }: Pick<FamilyContext, 'db'>): FreezeStore {
  return {
    async insertFreeze(row) {
      await db
        .insertInto('freezes')
        .values({
          id: row.id,
          project_id: row.projectId,
          environment_id: row.environmentId,
          from_at: row.from,
          until_at: row.until,
          reason: row.reason,
          created_by: row.createdBy,
          created_at: row.createdAt,
        })
        .execute();
    },
    async findFreeze(id) {
      const row = await db.selectFrom('freezes').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toFreeze(row) : undefined;
    },
    async listFreezes(environmentId, now) {
      const rows = await db.selectFrom('freezes').selectAll().where('environment_id', '=', environmentId).where('until_at', '>', now).orderBy('from_at').orderBy('id').execute();
      return rows.map(toFreeze);
    },
    async listProjectFreezes(projectId, now) {
      const rows = await db.selectFrom('freezes').selectAll().where('project_id', '=', projectId).where('until_at', '>', now).orderBy('from_at').orderBy('id').execute();
      return rows.map(toFreeze);
    },
    async deleteFreeze(id) {
      const result = await db.deleteFrom('freezes').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
