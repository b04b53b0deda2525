import type { Selectable } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { ServiceSpec } from '../../core/service-spec.ts';
import type { Database } from '../schema.ts';
import { inTransaction, parseJson, type FamilyContext, type Page } from './family-context.ts';

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
  listDeployments(projectId: string, page: Page): Promise<DeploymentRow[]>;
  /** Manifest digests of every deployment and upload of one project, distinct. */
  listProjectManifests(projectId: string): Promise<string[]>;
  /** Manifest digests of every deployment and upload of the live projects, distinct. */
  listLiveManifests(): Promise<string[]>;
}

export function createDeploymentStore({ db }: FamilyContext): DeploymentStore {
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
      const rows = await db
        .selectFrom('deployments')
        .selectAll()
        .where('project_id', '=', projectId)
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
