import type { Selectable } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Role } from '../../core/glossary.ts';
import type { Database } from '../schema.ts';
import type { FamilyContext } from './family-context.ts';

export const APPROVAL_DECISIONS = ['approve', 'reject'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

/** A person's decision on one release; it binds to that release only. */
export interface ApprovalRow {
  id: string;
  projectId: string;
  releaseId: string;
  userId: string;
  userName: string;
  /** The approver's effective role on the project when they decided. */
  role: Role;
  /** The author email signed for (an author with no user); null for one's own decision. */
  forEmail: string | null;
  decision: ApprovalDecision;
  reason: string | null;
  createdAt: string;
}

export interface ApprovalStore {
  /** Records a decision; ALREADY_APPROVED when this user decided already for this release (and email). */
  insertApproval(row: ApprovalRow): Promise<void>;
  /** Decisions on one release, oldest first. */
  listApprovals(releaseId: string): Promise<ApprovalRow[]>;
  /** Decisions on several releases, oldest first (the pipeline view reads them in one query). */
  listApprovalsOfReleases(releaseIds: readonly string[]): Promise<ApprovalRow[]>;
}

type ApprovalRecord = Selectable<Database['approvals']>;

function toApproval(row: ApprovalRecord): ApprovalRow {
  return {
    id: row.id,
    projectId: row.project_id,
    releaseId: row.release_id,
    userId: row.user_id,
    userName: row.user_name,
    role: row.role as Role,
    forEmail: row.for_email === '' ? null : row.for_email,
    decision: row.decision === 'reject' ? 'reject' : 'approve',
    reason: row.reason,
    // PostgreSQL's timestamptz comes back in the connection's format; both hand back ISO text here.
    createdAt: new Date(row.created_at).toISOString(),
  };
}

const IN_CHUNK = 500;

/** The approval family over Kysely; the same statements run on SQLite and PostgreSQL. */
export function createApprovalStore({ db, dialect }: Pick<FamilyContext, 'db' | 'dialect'>): ApprovalStore {
  return {
    async insertApproval(row) {
      try {
        await db
          .insertInto('approvals')
          .values({
            id: row.id,
            project_id: row.projectId,
            release_id: row.releaseId,
            user_id: row.userId,
            user_name: row.userName,
            role: row.role,
            for_email: row.forEmail ?? '',
            decision: row.decision,
            reason: row.reason,
            created_at: row.createdAt,
          })
          .execute();
      } catch (err) {
        if (!dialect.isUniqueViolation(err)) throw err;
        throw new SlipwayError(ErrorCode.ALREADY_APPROVED, `${row.userName} has already decided on this release${row.forEmail ? ` for ${row.forEmail}` : ''}`, {
          release: row.releaseId,
          user: row.userName,
          forEmail: row.forEmail,
        });
      }
    },
    async listApprovals(releaseId) {
      const rows = await db.selectFrom('approvals').selectAll().where('release_id', '=', releaseId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toApproval);
    },
    async listApprovalsOfReleases(releaseIds) {
      const unique = [...new Set(releaseIds)];
      const out: ApprovalRow[] = [];
      for (let i = 0; i < unique.length; i += IN_CHUNK) {
        const rows = await db
          .selectFrom('approvals')
          .selectAll()
          .where('release_id', 'in', unique.slice(i, i + IN_CHUNK))
          .orderBy('created_at')
          .orderBy('id')
          .execute();
        out.push(...rows.map(toApproval));
      }
      return out;
    },
  };
}
