import type { Kysely } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Connection } from '../connection.ts';
import type { Database } from '../schema.ts';
import type { SecretBox } from '../secret-box.ts';

/** What a family needs of its dialect beyond the query builder. */
export type Dialect = Pick<Connection, 'isUniqueViolation' | 'capabilities' | 'close'>;

/**
 * What every family's implementation runs with. Inside a transaction `db` is the transaction,
 * so every family of that transaction's Store writes through it.
 */
export interface FamilyContext {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Seals and opens project secrets; a store opened without a key reads and writes none. */
  secrets: SecretBox | undefined;
  /**
   * Runs `fn` once the transaction `db` is in has committed (never after a rollback); at once
   * outside a transaction. For what must not be seen before the data is (a wake-up).
   */
  afterCommit(fn: () => void): void;
  /** Who hears of committed job enqueues (store/kysely/jobs.ts), shared by a store and its transactions. */
  jobsEnqueued: Set<() => void>;
  /** Who hears of committed changes of agents' assignments (store/kysely/agents.ts), shared likewise. */
  agentsChanged: Set<(agentIds: readonly string[]) => void>;
  /** Who hears of committed audit events (store/kysely/events.ts: the change feed), shared likewise. */
  eventsAppended: Set<() => void>;
}


export interface Page {
  limit: number;
  before?: number | undefined;
}

/**
 * Runs `fn` in the caller's transaction when there is one, else in a new one: a method whose
 * writes must land together works the same inside and outside `Store.transaction`.
 */
export function inTransaction<T>(db: Kysely<Database>, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db);
  return db.transaction().execute(fn);
}

/** `%word%`, lower case, for `lower(column) LIKE … ESCAPE '\'`: the word's own `%`, `_` and `\` are taken literally, so a search never becomes a pattern. */
export function containsPattern(word: string): string {
  return `%${word.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** JSON columns are text on both dialects; what they hold was written by this store. */
export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

export type SecretColumn = 'webhook_secret' | 'repo_credentials';

/** What a sealed value is bound to: its project and column (the AES-GCM additional data). */
export function secretContext(projectId: string, column: SecretColumn): string {
  return `projects/${projectId}/${column}`;
}

export function sealSecret(ctx: FamilyContext, value: string | null, projectId: string, column: SecretColumn): string | null {
  return value === null ? null : secretBox(ctx).seal(value, secretContext(projectId, column));
}

export function openSecret(ctx: FamilyContext, value: string | null, projectId: string, column: SecretColumn): string | null {
  return value === null ? null : secretBox(ctx).open(value, secretContext(projectId, column));
}

export function secretBox(ctx: FamilyContext): SecretBox {
  if (!ctx.secrets) throw new SlipwayError(ErrorCode.SECRET_KEY_INVALID, 'this store was opened without a secret key, so it cannot read or write project secrets');
  return ctx.secrets;
}
