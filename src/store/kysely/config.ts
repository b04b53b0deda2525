import type { Selectable } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Database } from '../schema.ts';
import { parseJson, secretBox, type FamilyContext } from './family-context.ts';

/** One config var as a version holds it: its value and the change that last set it. */
export interface ConfigVar {
  value: string;
  /** The version whose change set this value. */
  version: number;
  at: string;
  by: string;
}

/** A config var as read: with its fingerprint (SecretBox.fingerprint), which is never stored. */
export interface ReadConfigVar extends ConfigVar {
  fingerprint: string;
}

/** A snapshot of every config var of an environment; `vars` is opened (it is sealed at rest). */
export interface ConfigVersionRow<V extends ConfigVar = ReadConfigVar> {
  environmentId: string;
  version: number;
  vars: Record<string, V>;
  createdAt: string;
  createdBy: string;
}

/**
 * Config vars: one sealed snapshot per version (migration 017). Values are opened only here,
 * for the service that needs them; nothing else in the database holds them.
 */
export interface ConfigStore {
  /** Inserts the next version; RELEASE_CONFLICT when that version was written meanwhile. */
  insertConfigVersion(row: ConfigVersionRow<ConfigVar>): Promise<void>;
  findConfigVersion(environmentId: string, version: number): Promise<ConfigVersionRow | undefined>;
  /** The newest version of an environment, opened; undefined when it has none. */
  findLatestConfigVersion(environmentId: string): Promise<ConfigVersionRow | undefined>;
  /** The newest version's number (0: none), without opening anything. */
  latestConfigVersionNumber(environmentId: string): Promise<number>;
  /** Releases of the environment that have not started (pending, waiting) and are not rollbacks take `version`; how many. */
  carryConfigVersion(environmentId: string, version: number): Promise<number>;
  /** Deletes every version of every environment of a project (it is being deleted); how many. */
  deleteProjectConfig(projectId: string): Promise<number>;
}

/** What a sealed snapshot is bound to (the AES-GCM additional data): its environment and version. */
export function configContext(environmentId: string, version: number): string {
  return `config_versions/${environmentId}/${version}`;
}

/** One purpose for every environment: fingerprints compare across environments and projects. */
const FINGERPRINT_PURPOSE = 'config vars';

export function createConfigStore(ctx: FamilyContext): ConfigStore {
  const { db, dialect } = ctx;
  const toRow = (row: Selectable<Database['config_versions']>): ConfigVersionRow => {
    const version = Number(row.version);
    const box = secretBox(ctx);
    const stored = parseJson<Record<string, ConfigVar>>(box.open(row.vars_sealed, configContext(row.environment_id, version)));
    const vars: Record<string, ReadConfigVar> = {};
    for (const [key, v] of Object.entries(stored)) {
      Object.defineProperty(vars, key, { value: { ...v, fingerprint: box.fingerprint(v.value, FINGERPRINT_PURPOSE) }, enumerable: true, writable: true, configurable: true });
    }
    return {
      environmentId: row.environment_id,
      version,
      vars,
      createdAt: new Date(row.created_at).toISOString(),
      createdBy: row.created_by,
    };
  };
  return {
    async insertConfigVersion(row) {
      const stored = Object.entries(row.vars).map(([key, v]) => [key, { value: v.value, version: v.version, at: v.at, by: v.by }] as const);
      const sealed = secretBox(ctx).seal(JSON.stringify(Object.fromEntries(stored)), configContext(row.environmentId, row.version));
      try {
        await db
          .insertInto('config_versions')
          .values({ environment_id: row.environmentId, version: row.version, vars_sealed: sealed, created_at: row.createdAt, created_by: row.createdBy })
          .execute();
      } catch (err) {
        if (dialect.isUniqueViolation(err)) {
          throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, 'the config vars were changed at the same moment; look again and retry', { version: row.version });
        }
        throw err;
      }
    },

    async findConfigVersion(environmentId, version) {
      const row = await db.selectFrom('config_versions').selectAll().where('environment_id', '=', environmentId).where('version', '=', version).executeTakeFirst();
      return row && toRow(row);
    },

    async findLatestConfigVersion(environmentId) {
      const row = await db.selectFrom('config_versions').selectAll().where('environment_id', '=', environmentId).orderBy('version', 'desc').limit(1).executeTakeFirst();
      return row && toRow(row);
    },

    async latestConfigVersionNumber(environmentId) {
      const row = await db
        .selectFrom('config_versions')
        .select((eb) => eb.fn.max('version').as('max'))
        .where('environment_id', '=', environmentId)
        .executeTakeFirst();
      return Number(row?.max ?? 0);
    },

    async deleteProjectConfig(projectId) {
      const result = await db
        .deleteFrom('config_versions')
        .where('environment_id', 'in', db.selectFrom('environments').select('id').where('project_id', '=', projectId))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async carryConfigVersion(environmentId, version) {
      const result = await db
        .updateTable('releases')
        .set({ config_version: version })
        .where('environment_id', '=', environmentId)
        .where('state', 'in', ['pending', 'waiting'])
        .where('kind', '=', 'promote')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
