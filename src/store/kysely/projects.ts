import { sql, type Selectable } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { RepoCredentials } from '../../core/repo-url.ts';
import type { Database } from '../schema.ts';
import { openSecret, parseJson, sealSecret, type FamilyContext } from './family-context.ts';

export interface ProjectRow {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
  /** External repository webhooks build from; never with credentials in it. */
  repoUrl: string | null;
  /** Credentials for `repoUrl` (given in the URL when it was saved); sealed in the database. Rows read always have it. */
  repoCredentials?: RepoCredentials | null;
  /** Shared secret of webhook signatures (HMACs need it as it is); sealed in the database. */
  webhookSecret: string | null;
  /** Set when the project was deleted; its `name` is then `~<id>` and its old name is `deletedName`. */
  deletedAt?: string | null | undefined;
  deletedName?: string | null | undefined;
  /** Set once a deleted project's git repository and unshared blobs are gone. */
  purgedAt?: string | null | undefined;
  /** The branch whose builds' slipway.yaml sets environment policy (default `main`). Rows read always have it. */
  defaultBranch?: string | undefined;
}

export interface ProjectStore {
  insertProject(row: ProjectRow): Promise<void>;
  /** A live project by name; a deleted one is never found by name. */
  findProjectByName(name: string): Promise<ProjectRow | undefined>;
  /** A project by id, deleted or not (`deletedAt` tells). */
  findProjectById(id: string): Promise<ProjectRow | undefined>;
  /** Live projects, by name. */
  listProjects(): Promise<ProjectRow[]>;
  /** Projects whose (normalized) repository URL is any of `urls`, by name, in one query. */
  findProjectsByRepoUrls(urls: string[]): Promise<ProjectRow[]>;
  /** Replaces a project's repository, its credentials and its webhook secret. */
  updateProjectSource(id: string, fields: { repoUrl: string | null; repoCredentials: RepoCredentials | null; webhookSecret: string | null }): Promise<void>;
  /**
   * Soft-deletes a live project: renames it `~<id>`, keeps its name in deleted_name, sets
   * deleted_at; false when it was deleted meanwhile.
   */
  markProjectDeleted(id: string, at: string): Promise<boolean>;
  /** Deleted projects whose repository and blobs are not collected yet. */
  listUnpurgedProjects(): Promise<ProjectRow[]>;
  markProjectPurged(id: string, at: string): Promise<void>;
}

export function createProjectStore(ctx: FamilyContext): ProjectStore {
  const { db } = ctx;
  const toProject = (row: Selectable<Database['projects']>): ProjectRow => {
    const credentials = openSecret(ctx, row.repo_credentials, row.id, 'repo_credentials');
    return {
      id: row.id,
      name: row.name,
      createdAt: row.created_at,
      createdBy: row.created_by,
      repoUrl: row.repo_url,
      repoCredentials: credentials === null ? null : parseJson<RepoCredentials>(credentials),
      webhookSecret: openSecret(ctx, row.webhook_secret, row.id, 'webhook_secret'),
      deletedAt: row.deleted_at,
      deletedName: row.deleted_name,
      purgedAt: row.purged_at,
      defaultBranch: row.default_branch,
    };
  };

  return {
    async insertProject(row) {
      try {
        await db
          .insertInto('projects')
          .values({
            id: row.id,
            name: row.name,
            created_at: row.createdAt,
            created_by: row.createdBy,
            repo_url: row.repoUrl,
            webhook_secret: sealSecret(ctx, row.webhookSecret, row.id, 'webhook_secret'),
            repo_credentials: sealSecret(ctx, row.repoCredentials ? JSON.stringify(row.repoCredentials) : null, row.id, 'repo_credentials'),
          })
          .execute();
      } catch (err) {
        if (ctx.dialect.isUniqueViolation(err)) {
          throw new SlipwayError(ErrorCode.PROJECT_EXISTS, `project "${row.name}" already exists`, { project: row.name });
        }
        throw err;
      }
    },

    async findProjectByName(name) {
      const row = await db.selectFrom('projects').selectAll().where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
      return row && toProject(row);
    },

    async findProjectById(id) {
      const row = await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toProject(row);
    },

    async listProjects() {
      return (await db.selectFrom('projects').selectAll().where('deleted_at', 'is', null).orderBy('name').execute()).map(toProject);
    },

    async findProjectsByRepoUrls(urls) {
      if (urls.length === 0) return [];
      return (await db.selectFrom('projects').selectAll().where('repo_url', 'in', urls).where('deleted_at', 'is', null).orderBy('name').execute()).map(toProject);
    },

    async updateProjectSource(id, fields) {
      await db
        .updateTable('projects')
        .set({
          repo_url: fields.repoUrl,
          repo_credentials: sealSecret(ctx, fields.repoCredentials === null ? null : JSON.stringify(fields.repoCredentials), id, 'repo_credentials'),
          webhook_secret: sealSecret(ctx, fields.webhookSecret, id, 'webhook_secret'),
        })
        .where('id', '=', id)
        .execute();
    },

    async markProjectDeleted(id, at) {
      const updated = await db
        .updateTable('projects')
        .set((eb) => ({ deleted_name: eb.ref('name'), name: sql<string>`${'~'} || ${eb.ref('id')}`, deleted_at: at }))
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },

    async listUnpurgedProjects() {
      const rows = await db
        .selectFrom('projects')
        .selectAll()
        .where('deleted_at', 'is not', null)
        .where('purged_at', 'is', null)
        .orderBy('deleted_at')
        .execute();
      return rows.map(toProject);
    },

    async markProjectPurged(id, at) {
      await db.updateTable('projects').set({ purged_at: at }).where('id', '=', id).execute();
    },
  };
}
