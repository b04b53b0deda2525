import type { Selectable } from 'kysely';
import type { CommitInfo } from '../../core/git-log.ts';
import type { Database } from '../schema.ts';
import type { FamilyContext } from './family-context.ts';

/** A commit of a project's graph as Slipway knows it (core/git-log.ts's CommitInfo, per project). */
export interface CommitRow extends CommitInfo {
  projectId: string;
  /** When Slipway first learned of it. */
  recordedAt: string;
}

export interface CommitStore {
  /** Inserts the commits it does not know yet (a commit never changes, so a known one is left); returns how many were new. */
  insertCommits(projectId: string, commits: readonly CommitInfo[], recordedAt: string): Promise<number>;
  findCommit(projectId: string, sha: string): Promise<CommitRow | undefined>;
  /** The known commits among `shas`, in one query per 500. */
  findCommits(projectId: string, shas: readonly string[]): Promise<CommitRow[]>;
  /**
   * Full ids the project knows (from its commits, builds and checks) that start with `prefix`,
   * at most `limit` of them: one means the abbreviation is unambiguous.
   */
  findCommitShasByPrefix(projectId: string, prefix: string, limit: number): Promise<string[]>;
  /**
   * `head` and its known ancestors, breadth first, at most `limit`: the project's recent
   * commits are read in one query and walked in memory; what that window misses is looked up
   * a frontier at a time. Walking stops at commits Slipway does not know.
   */
  listAncestry(projectId: string, head: string, limit: number): Promise<CommitRow[]>;
}

type CommitRecord = Selectable<Database['commits']>;

function toCommit(row: CommitRecord): CommitRow {
  return {
      projectId: row.project_id,
      sha: row.sha,
      parents: row.parents === '' ? [] : row.parents.split(' '),
      authorName: row.author_name,
      authorEmail: row.author_email,
      message: row.message,
      committedAt: row.committed_at,
      recordedAt: row.recorded_at,
    };
  }

  /** Rows per INSERT (8 values each) and ids per `IN (…)` list: well under either dialect's parameter limit. */
  const INSERT_CHUNK = 200;
  const IN_CHUNK = 500;

/** The commit family over Kysely; the same statements run on SQLite and PostgreSQL. */
export function createCommitStore({ db }: Pick<FamilyContext, 'db'>): CommitStore {
  const findCommits = async (projectId: string, shas: readonly string[]): Promise<CommitRow[]> => {
    const unique = [...new Set(shas)];
    const out: CommitRow[] = [];
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const rows = await db
        .selectFrom('commits')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('sha', 'in', unique.slice(i, i + IN_CHUNK))
        .execute();
      out.push(...rows.map(toCommit));
    }
    return out;
  };

  return {
    findCommits,

    async insertCommits(projectId, commits, recordedAt) {
      let inserted = 0;
      for (let i = 0; i < commits.length; i += INSERT_CHUNK) {
        const values = commits.slice(i, i + INSERT_CHUNK).map((c) => ({
          project_id: projectId,
          sha: c.sha,
          parents: c.parents.join(' '),
          author_name: c.authorName,
          author_email: c.authorEmail,
          message: c.message,
          committed_at: c.committedAt,
          recorded_at: recordedAt,
        }));
        const rows = await db
          .insertInto('commits')
          .values(values)
          .onConflict((oc) => oc.columns(['project_id', 'sha']).doNothing())
          .returning('sha')
          .execute();
        inserted += rows.length;
      }
      return inserted;
    },

    async findCommit(projectId, sha) {
      const row = await db.selectFrom('commits').selectAll().where('project_id', '=', projectId).where('sha', '=', sha).executeTakeFirst();
      return row && toCommit(row);
    },

    async findCommitShasByPrefix(projectId, prefix, limit) {
      // A range instead of LIKE: the prefix is hex (no wildcard to escape) and each table's key serves it.
      const low = prefix;
      const high = `${prefix}g`;
      const rows = await db
        .selectFrom('commits')
        .select('sha')
        .where('project_id', '=', projectId)
        .where('sha', '>=', low)
        .where('sha', '<', high)
        .union(
          db
            .selectFrom('builds')
            .select('commit_sha as sha')
            .where('project_id', '=', projectId)
            .where('commit_sha', '>=', low)
            .where('commit_sha', '<', high),
        )
        .union(
          db
            .selectFrom('checks')
            .select('commit_sha as sha')
            .where('project_id', '=', projectId)
            .where('commit_sha', '>=', low)
            .where('commit_sha', '<', high),
        )
        .orderBy('sha')
        .limit(limit)
        .execute();
      return rows.map((r) => r.sha);
    },

    async listAncestry(projectId, head, limit) {
      const known = new Map<string, CommitRow>();
      const window = await db
        .selectFrom('commits')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('committed_at', 'desc')
        .limit(limit * 2)
        .execute();
      for (const row of window) known.set(row.sha, toCommit(row));
      const out: CommitRow[] = [];
      const visited = new Set<string>([head]);
      let frontier = [head];
      while (frontier.length > 0 && out.length < limit) {
        const missing = frontier.filter((sha) => !known.has(sha));
        if (missing.length > 0) for (const row of await findCommits(projectId, missing)) known.set(row.sha, row);
        const next: string[] = [];
        for (const sha of frontier) {
          const commit = known.get(sha);
          if (commit === undefined) continue;
          if (out.length < limit) out.push(commit);
          for (const parent of commit.parents) {
            if (visited.has(parent)) continue;
            visited.add(parent);
            next.push(parent);
          }
        }
        frontier = next;
      }
      return out;
    },
  };
}
