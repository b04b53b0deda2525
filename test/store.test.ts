import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isSlipwayError } from '../src/core/errors.ts';
import type { Connection } from '../src/store/connection.ts';
import { createStore } from '../src/store/kysely/create-store.ts';
import { migrate } from '../src/store/migrate.ts';
import { openStore } from '../src/store/open-store.ts';
import { newEnvironmentRow, newReleaseRow, type DeliveryPush, type NewWebhookDelivery, type ReleaseRow, type Store } from '../src/store/store.ts';
import { backends, TEST_SECRET_KEY } from './support/backends.ts';

const NOW = '2026-01-01T00:00:00.000Z';

for (const backend of backends) {
  describe(`store on ${backend.name}`, () => {
    let store: Store;
    let db: { url: string; dispose(): Promise<void> };
    before(async () => {
      db = await backend.create();
      store = await openStore(db.url, { secretKey: TEST_SECRET_KEY });
      await store.insertProject({ id: 'prj-1', name: 'shop', createdAt: NOW, createdBy: 'test', repoUrl: null, webhookSecret: null });
      for (const id of ['dpl-a', 'dpl-b', 'dpl-c']) {
        await store.insertDeployment({ id, projectId: 'prj-1', manifestDigest: 'm', fileCount: 1, totalBytes: 1, meta: {}, createdAt: NOW, createdBy: 'test' });
      }
    });
    after(async () => {
      await store.close();
      await db.dispose();
    });

    test('migrations run once: opening the same database again applies nothing and keeps the data', async () => {
      const again = await openStore(db.url, { secretKey: TEST_SECRET_KEY });
      try {
        assert.equal((await again.findProjectByName('shop'))?.id, 'prj-1');
      } finally {
        await again.close();
      }
    });

    test('times come back as ISO strings on every backend', async () => {
      assert.equal((await store.findProjectById('prj-1'))?.createdAt, NOW);
    });

    const env = newEnvironmentRow({ id: 'env-1', projectId: 'prj-1', name: 'production', createdAt: NOW });
    const release = (id: string, number: number, deploymentId: string, replaces: string | null): ReleaseRow => newReleaseRow({
      id,
      projectId: 'prj-1',
      environmentId: 'env-1',
      number,
      kind: 'promote',
      state: 'live',
      deploymentId,
      previousDeploymentId: null,
      replacesReleaseId: replaces,
      reason: null,
      forced: false,
      createdAt: NOW,
      createdBy: 'test',
    });

    test('ensureEnvironment is idempotent under concurrency', async () => {
      const rows = await Promise.all([1, 2, 3, 4, 5].map((i) => store.ensureEnvironment({ ...env, id: i === 1 ? 'env-1' : `env-x${i}` })));
      assert.equal(new Set(rows.map((r) => r.id)).size, 1);
    });

    test('pointer moves are compare-and-set: concurrent writers from the same view, exactly one lands', async () => {
      const found = await store.findEnvironment('prj-1', 'production');
      const envId = found?.id ?? '';
      const target = (r: ReleaseRow) => ({ deploymentId: r.deploymentId, releaseId: r.id, releaseNumber: r.number, pin: null });
      const first = { ...release('rel-1', 1, 'dpl-a', null), environmentId: envId };
      await store.insertRelease(first);
      assert.equal(await store.moveEnvironmentTo(envId, 0, target(first)), true);
      const rivals = ['dpl-b', 'dpl-c'].map((d, i) => ({ ...release(`rel-2${i}`, 2 + i, d, 'rel-1'), environmentId: envId, state: 'rolling_out' as const }));
      for (const rival of rivals) await store.insertRelease(rival);
      const moved = await Promise.all(rivals.map((rival) => store.moveEnvironmentTo(envId, 1, target(rival))));
      assert.deepEqual(moved.filter(Boolean).length, 1, 'exactly one writer of the same view moves the pointer');
      const after = await store.findEnvironment('prj-1', 'production');
      assert.ok(after?.releaseNumber === 2 || after?.releaseNumber === 3);
      // Two releases may not take one number: the second insert of a number is a conflict.
      await assert.rejects(store.insertRelease({ ...release('rel-dup', 2, 'dpl-a', null), environmentId: envId }), (err) => isSlipwayError(err, 'RELEASE_CONFLICT'));
    });

    test('a release moves state only from the state it was read in', async () => {
      const envId = (await store.findEnvironment('prj-1', 'production'))?.id ?? '';
      const open = { ...release('rel-open', 10, 'dpl-b', null), environmentId: envId, state: 'pending' as const, liveAt: null };
      await store.insertRelease(open);
      assert.deepEqual((await store.listOpenReleases(envId)).map((r) => r.id).includes('rel-open'), true);
      const both = await Promise.all([store.transitionRelease('rel-open', 'pending', { state: 'waiting' }), store.transitionRelease('rel-open', 'pending', { state: 'canceled' })]);
      assert.equal(both.filter(Boolean).length, 1);
      assert.equal(await store.transitionRelease('rel-open', 'pending', { state: 'failed' }), false);
    });

    test('the audit log is append-only in the database itself', async () => {
      const id = await store.appendEvent({ at: NOW, actor: 'a', action: 'x', projectId: null, environment: null, target: null, reason: null, before: null, after: { n: 1 } });
      const events = await store.listEvents({}, { limit: 5 });
      assert.deepEqual(events[0]?.after, { n: 1 });
      // Reach under the Store interface with raw SQL: the triggers refuse.
      const raw = await openRaw(db.url);
      try {
        await assert.rejects(raw.run(`UPDATE events SET actor = 'mallory' WHERE id = ${id}`), /append-only/);
        await assert.rejects(raw.run(`DELETE FROM events WHERE id = ${id}`), /append-only/);
      } finally {
        await raw.close();
      }
    });

    describe('webhook deliveries', () => {
      before(async () => {
        await store.insertProject({ id: 'prj-2', name: 'shop-admin', createdAt: NOW, createdBy: 'test', repoUrl: 'https://github.com/acme/shop', webhookSecret: 's' });
        await store.insertProject({ id: 'prj-3', name: 'shop-docs', createdAt: NOW, createdBy: 'test', repoUrl: 'https://github.com/acme/docs', webhookSecret: 's' });
      });

      const push = (after: string): DeliveryPush => ({
        updates: [{ ref: 'refs/heads/main', before: '0'.repeat(40), after }],
        trigger: 'github',
        actor: 'github',
        sourceUrl: 'https://github.com/acme/shop',
        author: 'Mona Lisa',
        message: null,
      });
      const delivery = (projectId: string, deliveryId: string, provider = 'github'): NewWebhookDelivery => ({
        provider,
        projectId,
        deliveryId,
        receivedAt: NOW,
        push: push('a'.repeat(40)),
      });

      test('one statement queues a delivery for several projects; a repeat, in part or whole, queues only what is new', async () => {
        const first = await store.insertWebhookDeliveries([delivery('prj-1', 'd-1'), delivery('prj-2', 'd-1')]);
        assert.deepEqual(first.map((d) => [d.projectId, d.deliveryId, d.state]), [['prj-1', 'd-1', 'pending'], ['prj-2', 'd-1', 'pending']]);
        assert.ok(first[0] && first[1] && first[1].seq > first[0].seq, 'seq grows');
        assert.deepEqual(first[0]?.push, push('a'.repeat(40)), 'the push comes back as it went in');
        assert.deepEqual(first[0]?.builds, []);

        const again = await store.insertWebhookDeliveries([delivery('prj-1', 'd-1'), delivery('prj-2', 'd-1'), delivery('prj-3', 'd-1')]);
        assert.deepEqual(again.map((d) => d.projectId), ['prj-3'], 'only the project that had not seen d-1');
        const otherProvider = await store.insertWebhookDeliveries([delivery('prj-1', 'd-1', 'gitlab')]);
        assert.equal(otherProvider.length, 1, 'the key is per provider');
        assert.deepEqual(await store.insertWebhookDeliveries([]), []);

        // Copies racing: exactly one of them is new.
        const racing = await Promise.all(Array.from({ length: 6 }, () => store.insertWebhookDeliveries([delivery('prj-1', 'd-race')])));
        assert.equal(racing.flat().length, 1);
      });

      test('the queue hands out the oldest pending delivery; a claim marks it done once, a rolled-back claim leaves it pending', async () => {
        const [a, b] = await store.insertWebhookDeliveries([delivery('prj-3', 'q-1'), delivery('prj-3', 'q-2')]);
        assert.ok(a && b);
        // Earlier tests left older pending rows: drain those first, through the same calls the worker makes.
        for (let next = await store.findNextPendingDelivery(); next && next.seq < a.seq; next = await store.findNextPendingDelivery()) {
          assert.ok(await store.claimWebhookDelivery(next.seq, NOW));
        }
        assert.equal((await store.findNextPendingDelivery())?.seq, a.seq);

        await assert.rejects(
          store.transaction(async (tx) => {
            assert.equal((await tx.claimWebhookDelivery(a.seq, NOW))?.state, 'done');
            throw new Error('recording the push failed');
          }),
          /recording the push failed/,
        );
        assert.equal((await store.findNextPendingDelivery())?.seq, a.seq, 'still first in line after the rollback');

        // Two claimers at once: one marks it, the other finds it taken.
        const claims = await Promise.all([1, 2].map(() => store.transaction((tx) => tx.claimWebhookDelivery(a.seq, '2026-01-01T00:01:00.000Z'))));
        assert.equal(claims.filter((c) => c !== undefined).length, 1);
        await store.setWebhookDeliveryBuilds(a.seq, ['bld-1', 'bld-2']);
        assert.equal((await store.findNextPendingDelivery())?.seq, b.seq);

        assert.equal(await store.failWebhookDelivery(b.seq, 'PROJECT_NOT_FOUND: gone', '2026-01-01T00:02:00.000Z'), true);
        assert.equal(await store.failWebhookDelivery(a.seq, 'too late', NOW), false, 'a done delivery stays done');
        assert.equal(await store.claimWebhookDelivery(b.seq, NOW), undefined, 'a failed delivery is not claimed');

        const listed = await store.listWebhookDeliveries('prj-3', { limit: 10 });
        const q = listed.filter((d) => d.deliveryId.startsWith('q-'));
        assert.deepEqual(
          q.map((d) => [d.deliveryId, d.state, d.processedAt, d.builds, d.error]),
          [
            ['q-2', 'failed', '2026-01-01T00:02:00.000Z', [], 'PROJECT_NOT_FOUND: gone'],
            ['q-1', 'done', '2026-01-01T00:01:00.000Z', ['bld-1', 'bld-2'], null],
          ],
        );
      });

      test('a project lists its own deliveries, newest first, a page at a time', async () => {
        const ids = ['p-1', 'p-2', 'p-3', 'p-4'];
        for (const id of ids) await store.insertWebhookDeliveries([delivery('prj-2', id)]);
        const page = await store.listWebhookDeliveries('prj-2', { limit: 2 });
        assert.deepEqual(page.map((d) => d.deliveryId), ['p-4', 'p-3']);
        const next = await store.listWebhookDeliveries('prj-2', { limit: 2, before: page[1]?.seq });
        assert.deepEqual(next.map((d) => d.deliveryId), ['p-2', 'p-1']);
        assert.ok((await store.listWebhookDeliveries('prj-2', { limit: 50 })).every((d) => d.projectId === 'prj-2'));
      });

      test('projects are found by any of several repository URLs, each once', async () => {
        const found = await store.findProjectsByRepoUrls(['https://github.com/acme/docs', 'https://github.com/acme/shop', 'https://github.com/acme/none']);
        assert.deepEqual(found.map((p) => p.id).sort(), ['prj-2', 'prj-3']);
        assert.deepEqual(await store.findProjectsByRepoUrls([]), []);
      });
    });
  });

  test(`migration 003 on ${backend.name} keeps 002's deliveries, done, under the provider's own delivery id`, async () => {
    const db = await backend.create();
    const upTo002 = await mkdtemp(join(tmpdir(), 'slipway-migrations-'));
    const conn = await connectRaw(db.url);
    try {
      for (const file of ['001_init.sql', '002_builds.sql']) await copyFile(join(conn.migrationsDir, file), join(upTo002, file));
      assert.deepEqual(await migrate({ ...conn, migrationsDir: upTo002 }), [1, 2]);
      // Rows as 002 wrote them: `<project id>/<delivery id>`, one project id with a dash in it.
      await sql`INSERT INTO webhook_deliveries (provider, delivery_id, project_id, received_at) VALUES
        ('github', 'prj-a/72d3162e-cc78-11e3-81ab-4c9367dc0958', 'prj-a', '2026-01-01T00:00:00.000Z'),
        ('github', 'prj-b/72d3162e-cc78-11e3-81ab-4c9367dc0958', 'prj-b', '2026-01-01T00:00:01.000Z'),
        ('gitlab', 'prj-a/msg_2/with/slashes', 'prj-a', '2026-01-01T00:00:02.000Z')`.execute(conn.db);
      assert.equal((await migrate(conn))[0], 3, 'the next migration to run is 003');
      const store = createStore({ db: conn.db, dialect: conn, secrets: undefined });
      const a = await store.listWebhookDeliveries('prj-a', { limit: 10 });
      assert.deepEqual(
        a.map((d) => [d.provider, d.deliveryId, d.state, d.push, d.receivedAt, d.processedAt]),
        [
          ['gitlab', 'msg_2/with/slashes', 'done', null, '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:02.000Z'],
          ['github', '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'done', null, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
        ],
      );
      assert.equal(await store.findNextPendingDelivery(), undefined, 'nothing old is redone');
      // The old key still deduplicates under the new one.
      const again = { provider: 'github', projectId: 'prj-b', deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958', receivedAt: '2026-01-01T01:00:00.000Z' };
      const push: DeliveryPush = { updates: [], trigger: 'github', actor: 'github', sourceUrl: null, author: null, message: null };
      assert.deepEqual(await store.insertWebhookDeliveries([{ ...again, push }]), []);
    } finally {
      await conn.close();
      await rm(upTo002, { recursive: true, force: true });
      await db.dispose();
    }
  });
}

/** Columns of every table, as `table.column`, sorted. */
async function columnsOf(conn: Connection): Promise<string[]> {
  if (conn.capabilities.dialect === 'sqlite') {
    const tables = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(conn.db);
    const out: string[] = [];
    for (const { name } of tables.rows) {
      const columns = await sql<{ name: string }>`SELECT name FROM pragma_table_info(${name})`.execute(conn.db);
      out.push(...columns.rows.map((c) => `${name}.${c.name}`));
    }
    return out.sort();
  }
  const rows = await sql<{ t: string; c: string }>`SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = 'public'`.execute(conn.db);
  return rows.rows.map((r) => `${r.t}.${r.c}`).sort();
}

/** Index names of one table, without the ones SQLite and PostgreSQL make for keys by themselves. */
async function indexesOf(conn: Connection, table: string): Promise<string[]> {
  const rows =
    conn.capabilities.dialect === 'sqlite'
      ? await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ${table} AND name NOT LIKE 'sqlite_autoindex%'`.execute(conn.db)
      : await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE tablename = ${table} AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'`.execute(
          conn.db,
        );
  return rows.rows.map((r) => r.name).sort();
}

describe('every migration applied', () => {
  test('every table has the same columns on SQLite and PostgreSQL (a table rebuild that drops a column fails here)', async () => {
    const found: string[][] = [];
    for (const backend of backends) {
      const db = await backend.create();
      const conn = await connectRaw(db.url);
      try {
        await migrate(conn);
        found.push(await columnsOf(conn));
      } finally {
        await conn.close();
        await db.dispose();
      }
    }
    const [sqlite = [], postgres = []] = found;
    assert.deepEqual(
      sqlite.filter((c) => !postgres.includes(c)),
      [],
      'columns only SQLite has',
    );
    assert.deepEqual(
      postgres.filter((c) => !sqlite.includes(c)),
      [],
      'columns only PostgreSQL has',
    );
    assert.ok(sqlite.includes('builds.retry_number') && sqlite.includes('projects.deleted_at'));
  });
});

for (const backend of backends) {
  test(`migration 006 on ${backend.name} keeps every build, log line, column and index of builds that earlier migrations made`, async () => {
    const db = await backend.create();
    const before006 = await mkdtemp(join(tmpdir(), 'slipway-migrations-'));
    const conn = await connectRaw(db.url);
    try {
      const { readdir } = await import('node:fs/promises');
      const earlier = (await readdir(conn.migrationsDir)).filter((f) => /^\d{3}_.+\.sql$/.test(f) && f < '006');
      for (const file of earlier) await copyFile(join(conn.migrationsDir, file), join(before006, file));
      await migrate({ ...conn, migrationsDir: before006 });
      await sql`INSERT INTO projects (id, name, created_at, created_by) VALUES ('prj-1', 'shop', ${NOW}, 'test')`.execute(conn.db);
      await sql`INSERT INTO builds (id, project_id, commit_sha, ref, branch, state, trigger_kind, created_at, created_by, error, log_seq)
        VALUES ('bld-1', 'prj-1', ${'a'.repeat(40)}, 'refs/heads/main', 'main', 'failed', 'git-push', ${NOW}, 'test', 'exit 1', 1)`.execute(conn.db);
      await sql`INSERT INTO build_logs (build_id, seq, at, stream, text) VALUES ('bld-1', 1, ${NOW}, 'stdout', 'hello')`.execute(conn.db);
      const columnsBefore = (await columnsOf(conn)).filter((c) => c.startsWith('builds.'));
      const indexesBefore = await indexesOf(conn, 'builds');

      const applied = await migrate(conn);
      assert.ok(applied.includes(6), 'migration 006 ran');
      const columnsAfter = (await columnsOf(conn)).filter((c) => c.startsWith('builds.'));
      assert.deepEqual(
        columnsBefore.filter((c) => !columnsAfter.includes(c)),
        [],
        'columns of builds lost by 006',
      );
      const indexesAfter = await indexesOf(conn, 'builds');
      assert.deepEqual(
        indexesBefore.filter((i) => !indexesAfter.includes(i)),
        [],
        'indexes of builds lost by 006',
      );

      const store = createStore({ db: conn.db, dialect: conn, secrets: undefined });
      const kept = await store.findBuild('bld-1');
      assert.equal(kept?.state, 'failed');
      assert.equal(kept?.error, 'exit 1');
      assert.equal(kept?.retryNumber, 0);
      assert.deepEqual((await store.listBuildLogs('bld-1', 0, 10)).map((l) => l.text), ['hello']);
      // The log sequence survived: the next line is number 2.
      await store.appendBuildLogs('bld-1', [{ at: NOW, stream: 'stdout', text: 'again' }]);
      assert.deepEqual((await store.listBuildLogs('bld-1', 1, 10)).map((l) => l.seq), [2]);
      // build_logs still refers to the rebuilt builds: a line of no build is refused.
      await assert.rejects(sql`INSERT INTO build_logs (build_id, seq, at, stream, text) VALUES ('bld-none', 1, ${NOW}, 'stdout', 'x')`.execute(conn.db));
      if (backend.name === 'sqlite') {
        assert.deepEqual((await sql`PRAGMA foreign_key_check`.execute(conn.db)).rows, []);
      }
    } finally {
      await conn.close();
      await rm(before006, { recursive: true, force: true });
      await db.dispose();
    }
  });
}

/** A dialect connection without migrations, to run them by hand. */
async function connectRaw(url: string): Promise<Connection> {
  const { connect: connectPostgres } = await import('../src/store/postgres/connect.ts');
  const { connect: connectSqlite } = await import('../src/store/sqlite/connect.ts');
  return url.startsWith('postgres') ? connectPostgres(url) : connectSqlite(url);
}

/** A second, plain connection to the same database for tampering attempts. */
async function openRaw(url: string): Promise<{ run(statement: string): Promise<void>; close(): Promise<void> }> {
  const { connect: connectPostgres } = await import('../src/store/postgres/connect.ts');
  const { connect: connectSqlite } = await import('../src/store/sqlite/connect.ts');
  const conn = url.startsWith('postgres') ? connectPostgres(url) : connectSqlite(url);
  return {
    run: async (statement) => {
      await sql.raw(statement).execute(conn.db);
    },
    close: () => conn.close(),
  };
}
