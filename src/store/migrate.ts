import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Connection } from './connection.ts';

const FOREIGN_KEYS_OFF = '-- slipway: foreign keys off';

/**
 * Applies the dialect's numbered SQL files that have not run yet, each in its own transaction
 * together with its row in slipway_migrations, so a crash leaves a migration fully applied or
 * not at all.
 */
export async function migrate(conn: Connection): Promise<number[]> {
  const files = (await readdir(conn.migrationsDir)).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
  return conn.withMigrationLock(async () => {
    await sql`CREATE TABLE IF NOT EXISTS slipway_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`.execute(
      conn.db,
    );
    const done = new Set((await conn.db.selectFrom('slipway_migrations').select('version').execute()).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const file of files) {
      const version = Number(file.slice(0, 3));
      if (done.has(version)) continue;
      const script = await readFile(join(conn.migrationsDir, file), 'utf8');
      // A migration that rebuilds a table others reference says so on its first line.
      const rebuilds = script.startsWith(FOREIGN_KEYS_OFF);
      const apply = () =>
        conn.db.transaction().execute(async (trx) => {
          await conn.runScript(trx, script);
          if (rebuilds) await conn.checkForeignKeys(trx);
          await trx.insertInto('slipway_migrations').values({ version, name: file, applied_at: new Date().toISOString() }).execute();
        });
      await (rebuilds ? conn.withoutForeignKeys(apply) : apply());
      applied.push(version);
    }
    return applied;
  });
}
