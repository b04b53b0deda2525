import type { Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import type { FamilyContext } from './family-context.ts';

/** The head of a deleted branch's tombstone: git's zero sha, "no commit". */
const DELETED_HEAD = '0000000000000000000000000000000000000000';

export interface BranchRow {
  projectId: string;
  name: string;
  head: string;
  updatedAt: string;
}

/** The heads of a project's git branches, as pushes (to Slipway or through webhooks) moved them. */
export interface BranchStore {
  /**
   * Compare-and-set of a branch's head: moves it from `before` to `after` only while its recorded
   * head is `before`; returns false (and writes nothing) otherwise. The zero sha as `after`
   * deletes the branch (its row stays as a tombstone, so old pushes of it stay stale); as
   * `before` it creates one, or revives a deleted one. A branch never recorded at all takes
   * whatever the first push seen of it says.
   */
  moveBranch(projectId: string, name: string, before: string, after: string, at: string): Promise<boolean>;
  /** A live branch (a deleted one is undefined). */
  findBranch(projectId: string, name: string): Promise<BranchRow | undefined>;
  /** The recorded head, the zero sha for a deleted branch, undefined for one never recorded. */
  findBranchHead(projectId: string, name: string): Promise<string | undefined>;
  /** Branches of a project whose head is `commit`. */
  listBranchesAt(projectId: string, commit: string): Promise<BranchRow[]>;
  /** Every branch of a project, by name. */
  listBranches(projectId: string): Promise<BranchRow[]>;
}

export function createBranchStore({ db }: FamilyContext): BranchStore {
  return {
    async moveBranch(projectId, name, before, after, at) {
      // The zero sha is a head too: a deleted branch keeps its row as a tombstone (see 005).
      const updated = await db
        .updateTable('branches')
        .set({ head: after, updated_at: at })
        .where('project_id', '=', projectId)
        .where('name', '=', name)
        .where('head', '=', before)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 1) return true;
      // A branch never recorded has no head to compare with: the first push seen of it records it.
      const inserted = await db
        .insertInto('branches')
        .values({ project_id: projectId, name, head: after, updated_at: at })
        .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
    },

    async findBranch(projectId, name) {
      const row = await db
        .selectFrom('branches')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('name', '=', name)
        .where('head', '!=', DELETED_HEAD)
        .executeTakeFirst();
      return row && toBranch(row);
    },

    async findBranchHead(projectId, name) {
      const row = await db.selectFrom('branches').select('head').where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
      return row?.head;
    },

    async listBranchesAt(projectId, commit) {
      const rows = await db.selectFrom('branches').selectAll().where('project_id', '=', projectId).where('head', '=', commit).orderBy('name').execute();
      return rows.filter((row) => row.head !== DELETED_HEAD).map(toBranch);
    },

    async listBranches(projectId) {
      const rows = await db
        .selectFrom('branches')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('head', '!=', DELETED_HEAD)
        .orderBy('name')
        .execute();
      return rows.map(toBranch);
    },
  };
}

function toBranch(row: Selectable<Database['branches']>): BranchRow {
  return { projectId: row.project_id, name: row.name, head: row.head, updatedAt: row.updated_at };
}
