import type { Selectable } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Database } from '../schema.ts';
import type { FamilyContext } from './family-context.ts';

/** A custom hostname served by one environment of a project. */
export interface DomainRow {
  hostname: string;
  projectId: string;
  environment: string;
  createdAt: string;
  createdBy: string;
}

export interface DomainStore {
  insertDomain(row: DomainRow): Promise<void>;
  findDomain(hostname: string): Promise<DomainRow | undefined>;
  listDomains(projectId: string): Promise<DomainRow[]>;
  deleteDomain(hostname: string): Promise<boolean>;
}

export function createDomainStore({ db, dialect }: FamilyContext): DomainStore {
  return {
    async insertDomain(row) {
      try {
        await db
          .insertInto('domains')
          .values({
            hostname: row.hostname,
            project_id: row.projectId,
            environment: row.environment,
            created_at: row.createdAt,
            created_by: row.createdBy,
          })
          .execute();
      } catch (err) {
        if (dialect.isUniqueViolation(err)) {
          throw new SlipwayError(ErrorCode.DOMAIN_EXISTS, `domain ${row.hostname} is already mapped`, { hostname: row.hostname });
        }
        throw err;
      }
    },

    async findDomain(hostname) {
      const row = await db.selectFrom('domains').selectAll().where('hostname', '=', hostname).executeTakeFirst();
      return row && toDomain(row);
    },

    async listDomains(projectId) {
      return (await db.selectFrom('domains').selectAll().where('project_id', '=', projectId).orderBy('hostname').execute()).map(toDomain);
    },

    async deleteDomain(hostname) {
      const result = await db.deleteFrom('domains').where('hostname', '=', hostname).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}

function toDomain(row: Selectable<Database['domains']>): DomainRow {
  return {
    hostname: row.hostname,
    projectId: row.project_id,
    environment: row.environment,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
