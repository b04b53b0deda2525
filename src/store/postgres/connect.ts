import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Connection } from '../connection.ts';
import type { Database } from '../schema.ts';

const TIMESTAMPTZ = 1184;
const INT8 = 20;

/** Times come back as ISO strings and BIGINTs as numbers, the same shapes SQLite gives. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMPTZ) return (value: string) => new Date(value).toISOString();
    if (oid === INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

const MIGRATION_LOCK_KEY = 7_070_2026;

export function connect(url: string): Connection {
  const pool = new pg.Pool({ connectionString: url, max: 10, types });
  // A connection that dies while idle (server restart, admin termination, or during
  // shutdown) reports here instead of crashing the process; the pool replaces it.
  const report = (err: Error) => process.emitWarning(`PostgreSQL connection error: ${err.message}`);
  pool.on('error', report);
  pool.on('connect', (client) => client.on('error', report));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    capabilities: { dialect: 'postgres', concurrentWriters: true, skipLocked: true },
    migrationsDir: fileURLToPath(new URL('./migrations/', import.meta.url)),
    async runScript(trx, script) {
      // With no parameters, pg sends the simple query protocol, which runs several statements.
      await sql.raw(script).execute(trx);
    },
    async withoutForeignKeys(fn) {
      return fn();
    },
    async checkForeignKeys() {
      // Constraints are enforced within every statement; nothing was left unchecked.
    },
    async withMigrationLock(fn) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).finally(() => client.release());
      }
    },
    eventsAppendOnly: {
      off: 'ALTER TABLE events DISABLE TRIGGER events_append_only;',
      on: 'ALTER TABLE events ENABLE TRIGGER events_append_only;',
    },
    async checkpoint() {
      // Rows PostgreSQL rewrote stay in dead tuples until vacuumed; VACUUM cannot run in a transaction.
      await sql`VACUUM FULL projects`.execute(db);
    },
    isUniqueViolation(err) {
      return (err as { code?: unknown } | null)?.code === '23505';
    },
    async close() {
      await db.destroy();
    },
  };
}
