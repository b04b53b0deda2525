import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * The backends every store and service suite runs against. SQLite gets a fresh file in a temp
 * dir; PostgreSQL gets a fresh database on the server named by SLIPWAY_TEST_POSTGRES_URL
 * (default: the local server at 127.0.0.1:5432), dropped afterwards.
 */
export interface TestBackend {
  name: 'sqlite' | 'postgres';
  /** Creates an empty database and returns its URL and a cleanup. */
  create(): Promise<{ url: string; dispose(): Promise<void> }>;
}

/** The secret key of stores a test opens itself (`openStore(url, { secretKey: TEST_SECRET_KEY })`), and of replicas sharing a database. */
export const TEST_SECRET_KEY = Buffer.from('slipway-test-secret-key-32-bytes');

export const POSTGRES_ADMIN_URL = process.env.SLIPWAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const sqlite: TestBackend = {
  name: 'sqlite',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-db-'));
    return { url: join(dir, 'slipway.db'), dispose: () => rm(dir, { recursive: true, force: true }) };
  },
};

const postgres: TestBackend = {
  name: 'postgres',
  async create() {
    const name = `slipway_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async dispose() {
        await dropDatabase(name);
      },
    };
  },
};

export const backends: TestBackend[] = [sqlite, postgres];

/**
 * Drops a test database once its last connection is gone. A closed pool's sockets finish
 * closing a moment after `end()` resolves; dropping WITH (FORCE) at once would kill them
 * mid-goodbye, so that is only the last resort.
 */
export async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (Number(rows[0]?.n ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Every byte the database keeps: the SQLite file with its WAL, or every row of every PostgreSQL table. */
export async function rawDatabase(backend: TestBackend['name'], url: string): Promise<string> {
  if (backend === 'sqlite') {
    const parts: Buffer[] = [];
    for (const suffix of ['', '-wal', '-journal']) parts.push(await readFile(`${url}${suffix}`).catch(() => Buffer.alloc(0)));
    return Buffer.concat(parts).toString('latin1');
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    const rows: string[] = [];
    for (const { table_name } of tables.rows) {
      const result = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${table_name}" t`);
      rows.push(...result.rows.map((r) => r.row));
    }
    return rows.join('\n');
  } finally {
    await client.end();
  }
}
