import { resolve } from 'node:path';
import type { Connection } from './connection.ts';
import { createStore } from './kysely/create-store.ts';
import { migrate } from './migrate.ts';
import { connect as connectPostgres } from './postgres/connect.ts';
import { prepareSecrets } from './seal-secrets.ts';
import { SecretBox } from './secret-box.ts';
import { connect as connectSqlite } from './sqlite/connect.ts';
import type { Store } from './store.ts';

export interface OpenStoreOptions {
  /**
   * The 32-byte key project secrets are sealed with. The server always gives one; without it
   * (tools, tests) the store works but cannot read or write a project's secrets.
   */
  secretKey?: Uint8Array;
}

/**
 * Opens the store named by a database URL and brings its schema up to date:
 * `postgres://…` (or `postgresql://…`) for PostgreSQL; `sqlite:<path>`, `file:<path>` or a plain
 * path for SQLite. With a key, the key is checked against the database (SECRET_KEY_MISMATCH)
 * and secrets stored before sealing existed are sealed.
 */
export async function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Promise<Store> {
  const conn = connectUrl(databaseUrl);
  const box = options.secretKey === undefined ? undefined : new SecretBox(options.secretKey);
  try {
    await migrate(conn);
    if (box) await prepareSecrets(conn, box);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return createStore({ db: conn.db, dialect: conn, secrets: box });
}

function connectUrl(databaseUrl: string): Connection {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return connectPostgres(databaseUrl);
  const path = databaseUrl.replace(/^(sqlite|file):(\/\/)?/, '');
  return connectSqlite(path === ':memory:' ? path : resolve(path));
}
