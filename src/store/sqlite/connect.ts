import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Connection } from '../connection.ts';
import type { Database } from '../schema.ts';

export function connect(file: string): Connection {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const raw = new SQLite(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  // Deleted and overwritten rows (a secret sealed in place, a removed token) are zeroed, not left in free pages.
  raw.pragma('secure_delete = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return {
    db,
    capabilities: { dialect: 'sqlite', concurrentWriters: false, skipLocked: false },
    migrationsDir: fileURLToPath(new URL('./migrations/', import.meta.url)),
    async runScript(_db, script) {
      // better-sqlite3 prepares one statement at a time; exec runs a whole script on the
      // same connection Kysely uses, so it joins the migration's transaction.
      raw.exec(script);
    },
    async withoutForeignKeys(fn) {
      // A no-op inside a transaction: this runs before the migration's opens.
      raw.pragma('foreign_keys = OFF');
      try {
        return await fn();
      } finally {
        raw.pragma('foreign_keys = ON');
      }
    },
    async checkForeignKeys() {
      const broken = raw.pragma('foreign_key_check') as { table: string; parent: string }[];
      if (broken.length > 0) {
        const first = broken[0];
        throw new Error(`${broken.length} rows reference rows that do not exist (${first?.table} → ${first?.parent})`);
      }
    },
    async withMigrationLock(fn) {
      // One process owns a SQLite file; transactions already serialize within it.
      return fn();
    },
    eventsAppendOnly: {
      off: 'DROP TRIGGER events_no_update;',
      on: "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
    },
    async checkpoint() {
      raw.pragma('wal_checkpoint(TRUNCATE)');
    },
    isUniqueViolation(err) {
      const code = (err as { code?: unknown } | null)?.code;
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
    },
    async close() {
      await db.destroy();
    },
  };
}

/** Statements kept prepared; the queries Slipway sends are a few dozen distinct texts. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * better-sqlite3 as Kysely's driver sees it, with prepared statements reused by SQL text
 * (least recently used dropped first). Kysely asks `prepare` for every query, and preparing
 * cost more than running the edge's pointer read (17% of all CPU samples under load). SQLite
 * re-prepares a cached statement by itself when a migration changes the schema.
 */
function withStatementCache(raw: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = raw.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}
