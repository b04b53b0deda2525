import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** What a backend can do, so callers branch on capabilities rather than on dialect names. */
export interface StoreCapabilities {
  dialect: 'sqlite' | 'postgres';
  /** Writers run truly in parallel (PostgreSQL); SQLite serializes them. */
  concurrentWriters: boolean;
  /**
   * Row locks (`FOR UPDATE`, `FOR SHARE`) and `SKIP LOCKED` exist (PostgreSQL): claimers of a
   * queue pass over rows another transaction holds instead of waiting for it. Without them
   * (SQLite, one writer) a claim is a single compare-and-set UPDATE, and no claim runs while a
   * transaction is open.
   */
  skipLocked: boolean;
}

/**
 * What each dialect folder (sqlite/, postgres/) provides, under the same file names. Code above
 * this line asks capabilities, never which dialect it runs on.
 */
export interface Connection {
  db: Kysely<Database>;
  capabilities: StoreCapabilities;
  /** Folder of this dialect's numbered `NNN_name.sql` migrations. */
  migrationsDir: string;
  /** Runs a multi-statement SQL script (a migration) inside the current connection. */
  runScript(db: Kysely<Database>, script: string): Promise<void>;
  /**
   * Runs `fn` (a migration's transaction) with foreign keys unenforced, for a migration that
   * rebuilds a table others reference (SQLite changes a CHECK only so); `checkForeignKeys`
   * runs inside that transaction before it commits. PostgreSQL alters tables in place: `fn` as is.
   */
  withoutForeignKeys<T>(fn: () => Promise<T>): Promise<T>;
  /** Throws when any row references a row that does not exist (SQLite's foreign_key_check). */
  checkForeignKeys(db: Kysely<Database>): Promise<void>;
  /** Serializes migrations across processes sharing the database. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  isUniqueViolation(err: unknown): boolean;
  /**
   * Scripts that lift and restore the audit log's append-only guard, for the one-time removal of
   * credentials from events recorded before they were redacted (store/seal-secrets.ts).
   */
  eventsAppendOnly: { off: string; on: string };
  /** Makes rewritten rows the only copy on disk (SQLite: checkpoint and truncate the WAL). */
  checkpoint(): Promise<void>;
  close(): Promise<void>;
}
