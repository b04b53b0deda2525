import type { Selectable } from 'kysely';
import type { CheckState } from '../../core/glossary.ts';
import type { Database } from '../schema.ts';
import { inTransaction, type FamilyContext } from './family-context.ts';

/** Where a check report came from. */
export type CheckSource = 'api' | 'runner' | 'github' | 'gitlab';

/** The current state of one check of one commit: its latest report. */
export interface CheckRow {
  projectId: string;
  commitSha: string;
  name: string;
  state: CheckState;
  url: string | null;
  description: string | null;
  source: CheckSource;
  reportedAt: string;
  reportedBy: string;
  /** Seq of the report that set it (check_reports order). */
  reportSeq: number;
}

/** One report as it arrived; check_reports is append-only. */
export interface CheckReportRow {
  seq: number;
  projectId: string;
  commitSha: string;
  name: string;
  state: CheckState;
  url: string | null;
  description: string | null;
  source: CheckSource;
  /** `<provider>:<delivery id>` of the webhook delivery it came from. */
  delivery: string | null;
  reportedAt: string;
  reportedBy: string;
}

export type NewCheckReport = Omit<CheckReportRow, 'seq'>;

export interface RecordedCheck {
  /** Undefined when the report repeats a delivery already recorded (nothing was written). */
  report: CheckReportRow | undefined;
  /** The check as it is now: this report, or a later one that won. */
  check: CheckRow;
}

export interface CheckStore {
  /**
   * Appends a report and makes it the check's current state unless a report with a higher seq
   * is current already (another reporter's, committed first): whatever order concurrent
   * reporters commit in, the check ends at the last report in check_reports order. A report
   * whose delivery was recorded before writes nothing.
   */
  recordCheckReport(report: NewCheckReport): Promise<RecordedCheck>;
  findCheck(projectId: string, commitSha: string, name: string): Promise<CheckRow | undefined>;
  /** Current checks of one commit, by name. */
  listChecks(projectId: string, commitSha: string): Promise<CheckRow[]>;
  /** Current checks of several commits (a release's batch), in one query. */
  listChecksOfCommits(projectId: string, commitShas: readonly string[]): Promise<CheckRow[]>;
  /** Reports of one commit (of one check when `name` is given), newest first; `page.before` is a seq. */
  listCheckReports(projectId: string, commitSha: string, filter: { name?: string | undefined; limit: number; before?: number | undefined }): Promise<CheckReportRow[]>;
}

type CheckRecord = Selectable<Database['checks']>;
type ReportRecord = Selectable<Database['check_reports']>;

function toCheck(row: CheckRecord): CheckRow {
  return {
    projectId: row.project_id,
    commitSha: row.commit_sha,
    name: row.name,
    state: row.state as CheckState,
    url: row.url,
    description: row.description,
    source: row.source as CheckSource,
    reportedAt: row.reported_at,
    reportedBy: row.reported_by,
    reportSeq: Number(row.report_seq),
  };
}

function toReport(row: ReportRecord): CheckReportRow {
  return {
    seq: Number(row.seq),
    projectId: row.project_id,
    commitSha: row.commit_sha,
    name: row.name,
    state: row.state as CheckState,
    url: row.url,
    description: row.description,
    source: row.source as CheckSource,
    delivery: row.delivery,
    reportedAt: row.reported_at,
    reportedBy: row.reported_by,
  };
}

/** Commits per `IN (…)` list, well under either dialect's parameter limit. */
const IN_CHUNK = 500;

/** The check family over Kysely; the same statements run on SQLite and PostgreSQL. */
export function createCheckStore({ db }: Pick<FamilyContext, 'db'>): CheckStore {
  return {
    async recordCheckReport(report) {
      return inTransaction(db, async (db): Promise<RecordedCheck> => {
        const values = {
          project_id: report.projectId,
          commit_sha: report.commitSha,
          name: report.name,
          state: report.state,
          url: report.url,
          description: report.description,
          source: report.source,
          delivery: report.delivery,
          reported_at: report.reportedAt,
          reported_by: report.reportedBy,
        };
        let insert = db.insertInto('check_reports').values(values);
        if (report.delivery !== null) {
          insert = insert.onConflict((oc) => oc.columns(['project_id', 'delivery', 'name']).where('delivery', 'is not', null).doNothing());
        }
        const inserted = await insert.returningAll().executeTakeFirst();
        if (inserted !== undefined) {
          const { delivery: _delivery, seq, ...current } = inserted;
          await db
            .insertInto('checks')
            .values({ ...current, report_seq: seq })
            .onConflict((oc) =>
              oc
                .columns(['project_id', 'commit_sha', 'name'])
                .doUpdateSet((eb) => ({
                  state: eb.ref('excluded.state'),
                  url: eb.ref('excluded.url'),
                  description: eb.ref('excluded.description'),
                  source: eb.ref('excluded.source'),
                  reported_at: eb.ref('excluded.reported_at'),
                  reported_by: eb.ref('excluded.reported_by'),
                  report_seq: eb.ref('excluded.report_seq'),
                }))
                // PostgreSQL evaluates this against the latest committed row, so a report that
                // got its seq earlier but commits later never overwrites a newer one.
                .where((eb) => eb('checks.report_seq', '<', eb.ref('excluded.report_seq'))),
            )
            .execute();
        }
        const check = await db
          .selectFrom('checks')
          .selectAll()
          .where('project_id', '=', report.projectId)
          .where('commit_sha', '=', report.commitSha)
          .where('name', '=', report.name)
          .executeTakeFirstOrThrow();
        return { report: inserted && toReport(inserted), check: toCheck(check) };
      });
    },

    async findCheck(projectId, commitSha, name) {
      const row = await db
        .selectFrom('checks')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('commit_sha', '=', commitSha)
        .where('name', '=', name)
        .executeTakeFirst();
      return row && toCheck(row);
    },

    async listChecks(projectId, commitSha) {
      const rows = await db.selectFrom('checks').selectAll().where('project_id', '=', projectId).where('commit_sha', '=', commitSha).orderBy('name').execute();
      return rows.map(toCheck);
    },

    async listChecksOfCommits(projectId, commitShas) {
      const unique = [...new Set(commitShas)];
      const out: CheckRow[] = [];
      for (let i = 0; i < unique.length; i += IN_CHUNK) {
        const rows = await db
          .selectFrom('checks')
          .selectAll()
          .where('project_id', '=', projectId)
          .where('commit_sha', 'in', unique.slice(i, i + IN_CHUNK))
          .orderBy('commit_sha')
          .orderBy('name')
          .execute();
        out.push(...rows.map(toCheck));
      }
      return out;
    },

    async listCheckReports(projectId, commitSha, filter) {
      let query = db.selectFrom('check_reports').selectAll().where('project_id', '=', projectId).where('commit_sha', '=', commitSha);
      if (filter.name !== undefined) query = query.where('name', '=', filter.name);
      if (filter.before !== undefined) query = query.where('seq', '<', filter.before);
      const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
      return rows.map(toReport);
    },
  };
}
