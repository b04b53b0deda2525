import { sql, type Expression, type Selectable, type SqlBool } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { ServiceSpec } from '../../core/service-spec.ts';
import type { Database } from '../schema.ts';
import { containsPattern, inTransaction, parseJson, type FamilyContext } from './family-context.ts';

export interface DeploymentMetaRow {
  commit?: string | undefined;
  branch?: string | undefined;
  message?: string | undefined;
  author?: string | undefined;
  source?: string | undefined;
  spa?: boolean | undefined;
  build?: string | undefined;
  service?: ServiceSpec | undefined;
}

export interface DeploymentRow {
  id: string;
  projectId: string;
  manifestDigest: string;
  fileCount: number;
  totalBytes: number;
  meta: DeploymentMetaRow;
  createdAt: string;
  createdBy: string;
}

export interface UploadRow {
  id: string;
  projectId: string;
  manifestDigest: string;
  fileCount: number;
  totalBytes: number;
  meta: DeploymentMetaRow;
  createdAt: string;
  createdBy: string;
  deploymentId: string | null;
}

export interface DeploymentPage {
  limit: number;
  /** The last deployment of the page before (newest first): this page lists older ones. */
  after?: { createdAt: string; id: string } | undefined;
  /** Words (at most a few, each short) that must each appear, case-insensitively, in one of the searched fields. */
  search?: readonly string[] | undefined;
}

/** What a deployment search reads: meta fields people remember, and the id. */
const SEARCHED_META = ['branch', 'commit', 'author', 'message'] as const;

/** Uploads (a deployment being assembled) and the immutable deployments they become. */
export interface DeploymentStore {
  insertUpload(row: UploadRow): Promise<void>;
  findUpload(id: string): Promise<UploadRow | undefined>;
  /** Removes uploads never finalized that began before `createdBefore`; returns how many. */
  deleteStaleUploads(createdBefore: string): Promise<number>;
  /** Marks the upload finalized and inserts the deployment, in the caller's transaction. */
  insertDeployment(row: DeploymentRow, fromUploadId?: string): Promise<void>;
  findDeployment(id: string): Promise<DeploymentRow | undefined>;
  /** The deployments among `ids` that exist, in one query. */
  findDeployments(ids: readonly string[]): Promise<DeploymentRow[]>;
  /** Newest first; `after`: the page below that deployment; `search`: words each found in its branch, commit, author, message or id. */
  listDeployments(projectId: string, page: DeploymentPage): Promise<DeploymentRow[]>;
  /** Manifest digests of every deployment and upload of one project, distinct. */
  listProjectManifests(projectId: string): Promise<string[]>;
  /** Manifest digests of every deployment and upload of the live projects, distinct. */
  listLiveManifests(): Promise<string[]>;
}

export function createDeploymentStore({ db, dialect }: FamilyContext): DeploymentStore {
  // A meta field as text: both dialects keep meta as JSON text.
  const metaField = (key: (typeof SEARCHED_META)[number]) =>
    dialect.capabilities.dialect === 'postgres' ? sql<string | null>`(meta::json ->> ${sql.lit(key)})` : sql<string | null>`json_extract(meta, ${sql.lit(`$.${key}`)})`;
  const contains = (field: Expression<string | null>, word: string) => sql<SqlBool>`lower(${field}) like ${containsPattern(word)} escape '\\'`;
  return {
    async insertUpload(row) {
      await db
        .insertInto('uploads')
        .values({
          id: row.id,
          project_id: row.projectId,
          manifest_digest: row.manifestDigest,
          file_count: row.fileCount,
          total_bytes: row.totalBytes,
          meta: JSON.stringify(row.meta),
          created_at: row.createdAt,
          created_by: row.createdBy,
          deployment_id: row.deploymentId,
        })
        .execute();
    },

    async deleteStaleUploads(createdBefore) {
      const result = await db.deleteFrom('uploads').where('deployment_id', 'is', null).where('created_at', '<', createdBefore).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async findUpload(id) {
      const row = await db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
      return (
        row && {
          id: row.id,
          projectId: row.project_id,
          manifestDigest: row.manifest_digest,
          fileCount: Number(row.file_count),
          totalBytes: Number(row.total_bytes),
          meta: parseJson<DeploymentMetaRow>(row.meta),
          createdAt: row.created_at,
          createdBy: row.created_by,
          deploymentId: row.deployment_id,
        }
      );
    },

    async insertDeployment(row, fromUploadId) {
      await inTransaction(db, async (tx) => {
        if (fromUploadId !== undefined) {
          const marked = await tx
            .updateTable('uploads')
            .set({ deployment_id: row.id })
            .where('id', '=', fromUploadId)
            .where('deployment_id', 'is', null)
            .executeTakeFirst();
          if (Number(marked.numUpdatedRows) !== 1) {
            throw new SlipwayError(ErrorCode.UPLOAD_CONFLICT, `upload ${fromUploadId} was finalized meanwhile`, { upload: fromUploadId });
          }
        }
        await tx
          .insertInto('deployments')
          .values({
            id: row.id,
            project_id: row.projectId,
            manifest_digest: row.manifestDigest,
            file_count: row.fileCount,
            total_bytes: row.totalBytes,
            meta: JSON.stringify(row.meta),
            created_at: row.createdAt,
            created_by: row.createdBy,
            build_id: row.meta.build ?? null,
          })
          .execute();
      });
    },

    async findDeployment(id) {
      const row = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toDeployment(row);
    },

    async findDeployments(ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('deployments').selectAll().where('id', 'in', [...new Set(ids)]).execute();
      return rows.map(toDeployment);
    },

    async listDeployments(projectId, page) {
      let query = db.selectFrom('deployments').selectAll().where('project_id', '=', projectId);
      const after = page.after;
      if (after !== undefined) {
        query = query.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
      }
      for (const word of page.search ?? []) {
        query = query.where((eb) => eb.or([contains(sql.ref('id'), word), ...SEARCHED_META.map((key) => contains(metaField(key), word))]));
      }
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(page.limit)
        .execute();
      return rows.map(toDeployment);
    },

    async listProjectManifests(projectId) {
      const rows = await db
        .selectFrom('deployments')
        .select('manifest_digest')
        .where('project_id', '=', projectId)
        .union(db.selectFrom('uploads').select('manifest_digest').where('project_id', '=', projectId))
        .execute();
      return rows.map((r) => r.manifest_digest);
    },

    async listLiveManifests() {
      const live = db.selectFrom('projects').select('id').where('deleted_at', 'is', null);
      const rows = await db
        .selectFrom('deployments')
        .select('manifest_digest')
        .where('project_id', 'in', live)
        .union(db.selectFrom('uploads').select('manifest_digest').where('project_id', 'in', live))
        .execute();
      return rows.map((r) => r.manifest_digest);
    },
  };
}

function toDeployment(row: Selectable<Database['deployments']>): DeploymentRow {
  return {
    id: row.id,
    projectId: row.project_id,
    manifestDigest: row.manifest_digest,
    fileCount: Number(row.file_count),
    totalBytes: Number(row.total_bytes),
    meta: parseJson<DeploymentMetaRow>(row.meta),
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
