import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isSlipwayError } from '../src/core/errors.ts';
import { openStore } from '../src/store/open-store.ts';
import { newEnvironmentRow, type ReleaseRow, type Store } from '../src/store/store.ts';
import { backends } from './support/backends.ts';

const NOW = '2026-01-01T00:00:00.000Z';

for (const backend of backends) {
  describe(`store on ${backend.name}`, () => {
    let store: Store;
    let db: { url: string; dispose(): Promise<void> };
    before(async () => {
      db = await backend.create();
      store = await openStore(db.url);
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
      const again = await openStore(db.url);
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
    const release = (id: string, number: number, deploymentId: string, replaces: string | null): ReleaseRow => ({
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
      await store.moveEnvironmentPointer(envId, { release: { ...release('rel-1', 1, 'dpl-a', null), environmentId: envId }, expectedReleaseNumber: 0, replacedState: 'superseded', pin: null });
      const outcomes = await Promise.allSettled(
        ['dpl-b', 'dpl-c'].map((d, i) =>
          store.moveEnvironmentPointer(envId, {
            release: { ...release(`rel-2${i}`, 2, d, 'rel-1'), environmentId: envId },
            expectedReleaseNumber: 1,
            replacedState: 'superseded',
            pin: null,
          }),
        ),
      );
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.ok(isSlipwayError(failed?.reason, 'RELEASE_CONFLICT'), String(failed?.reason));
      const after = await store.findEnvironment('prj-1', 'production');
      assert.equal(after?.releaseNumber, 2);
      assert.equal((await store.findRelease('rel-1'))?.state, 'superseded');
      assert.equal((await store.listReleases(envId, { limit: 10 })).length, 2, 'the losing release was not written');
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
  });
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
