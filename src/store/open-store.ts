import { resolve } from 'node:path';
import type { Connection } from './connection.ts';
import { KyselyStore } from './kysely-store.ts';
import { migrate } from './migrate.ts';
import { connect as connectPostgres } from './postgres/connect.ts';
import { connect as connectSqlite } from './sqlite/connect.ts';
import type { Store } from './store.ts';

/**
 * Opens the store named by a database URL and brings its schema up to date:
 * `postgres://…` (or `postgresql://…`) for PostgreSQL; `sqlite:<path>`, `file:<path>` or a plain
 * path for SQLite.
 */
export async function openStore(databaseUrl: string): Promise<Store> {
  const conn = connectUrl(databaseUrl);
  try {
    await migrate(conn);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return new KyselyStore(conn.db, conn);
}

function connectUrl(databaseUrl: string): Connection {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return connectPostgres(databaseUrl);
  const path = databaseUrl.replace(/^(sqlite|file):(\/\/)?/, '');
  return connectSqlite(path === ':memory:' ? path : resolve(path));
}
